//! Raw payloads as administrators may see them: personal fields masked. A JSON payload is
//! masked by key (`exchange.masked_fields`); an XML payload by element and attribute name —
//! a name matches a masked field when they are equal ignoring case, `_` and `-`
//! (`<IdNumber>`, `<ID_NUMBER>` and `id-number` all match `id_number`), namespace prefixes
//! aside. The Base64 blocks of wrapped documents are never shown (they may be only encoded),
//! nor is a DOCTYPE; what cannot be parsed is cut off rather than shown.

use quick_xml::events::{BytesStart, BytesText, Event};

use serde_json::Value;

/// `name` as compared: alphanumerics (any script), lower case.
pub(super) fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The payload's text: by the XML declaration's encoding (UTF-8 unless GBK/GB18030 is declared).
fn decode(raw: &[u8]) -> String {
    let head = String::from_utf8_lossy(&raw[..raw.len().min(200)]).to_ascii_lowercase();
    let declared_gb = head.starts_with("<?xml")
        && head
            .split("?>")
            .next()
            .is_some_and(|d| d.contains("gbk") || d.contains("gb18030") || d.contains("gb2312"));
    if declared_gb {
        encoding_rs::GB18030.decode(raw).0.into_owned()
    } else {
        String::from_utf8_lossy(raw).into_owned()
    }
}

/// What is shown instead of a payload that is neither XML nor JSON.
pub(super) const WITHHELD: &str = "（既不是 XML 也不是 JSON，不显示）";

/// The payload, masked: JSON (whatever its declared format) by key, XML by element and
/// attribute name; anything else is withheld.
pub(super) fn mask_payload(raw: &[u8], fields: &[String]) -> String {
    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(raw) {
        mask_fields(&mut v, fields);
        return serde_json::to_string_pretty(&v).unwrap_or_default();
    }
    let text = decode(raw);
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if !start.starts_with('<') {
        return WITHHELD.to_owned();
    }
    mask_xml(start, fields)
}

/// The XML payload with the values of masked elements and attributes masked. Inside a masked
/// element every text piece (text, CDATA, references) is gathered and masked as one value,
/// every attribute value is masked, and comments and processing instructions are dropped; text
/// outside the document element is withheld.
fn mask_xml(text: &str, fields: &[String]) -> String {
    let masked: Vec<String> = fields.iter().map(|f| normalise(f)).collect();
    let is_masked = |qname: &str| {
        let local = qname.rsplit(':').next().unwrap_or_default();
        masked.contains(&normalise(local))
    };
    let mut reader = quick_xml::Reader::from_str(text);
    let mut writer = quick_xml::Writer::new(Vec::new());
    // Depth of the outermost masked element, and of a HEAD/BODY/SIGN block of a wrapped
    // document (its text is withheld).
    let mut depth = 0usize;
    let mut masked_at: Option<usize> = None;
    let mut block_at: Option<usize> = None;
    // The text of the masked element gathered so far.
    let mut pending = String::new();
    let mut cut = false;
    let flush = |pending: &mut String, out: &mut Vec<Event<'static>>| {
        if !pending.trim().is_empty() {
            out.push(Event::Text(
                BytesText::new(&mask_text(pending.trim())).into_owned(),
            ));
        }
        pending.clear();
    };
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => e,
            Err(_) => {
                cut = true;
                break;
            }
        };
        let mut out: Vec<Event<'static>> = Vec::new();
        match event {
            Event::Start(s) => {
                flush(&mut pending, &mut out);
                depth += 1;
                if masked_at.is_none() && is_masked(s.name().as_ref()) {
                    masked_at = Some(depth);
                }
                let local = s.local_name().as_ref().to_owned();
                if depth == 2 && matches!(local.as_str(), "HEAD" | "BODY" | "SIGN") {
                    block_at = Some(depth);
                }
                let all = masked_at.is_some();
                out.push(Event::Start(mask_attributes(&s, &|n| all || is_masked(n))));
            }
            Event::Empty(s) => {
                flush(&mut pending, &mut out);
                let all = masked_at.is_some() || is_masked(s.name().as_ref());
                out.push(Event::Empty(mask_attributes(&s, &|n| all || is_masked(n))));
            }
            Event::End(e) => {
                flush(&mut pending, &mut out);
                if masked_at == Some(depth) {
                    masked_at = None;
                }
                if block_at == Some(depth) {
                    block_at = None;
                }
                depth = depth.saturating_sub(1);
                out.push(Event::End(e.into_owned()));
            }
            Event::Text(t) if depth == 0 => {
                if !t.trim().is_empty() {
                    out.push(Event::Comment(BytesText::new(" 根元素外的内容不显示 ")));
                }
            }
            Event::Text(t) if block_at.is_some() => out.push(withheld_block(t.len())),
            Event::CData(c) if block_at.is_some() => out.push(withheld_block(c.len())),
            Event::Text(t) if masked_at.is_some() => {
                pending.push_str(&quick_xml::escape::unescape(&t).unwrap_or_default());
            }
            Event::CData(c) if masked_at.is_some() => pending.push_str(&c),
            Event::GeneralRef(r) if masked_at.is_some() => {
                // Its character, or a stand-in: either way part of the one masked value.
                let c = r.resolve_char_ref().ok().flatten().unwrap_or('*');
                pending.push(c);
            }
            Event::Comment(_) | Event::PI(_) if masked_at.is_some() => {}
            Event::DocType(_) => out.push(Event::Comment(BytesText::new(" DOCTYPE 不显示 "))),
            other => out.push(other.into_owned()),
        }
        if out.into_iter().any(|e| writer.write_event(e).is_err()) {
            cut = true;
            break;
        }
    }
    let mut shown = String::from_utf8_lossy(&writer.into_inner()).into_owned();
    if cut {
        shown.push_str("\n<!-- 此后内容无法解析，不显示 -->");
    }
    shown
}

/// What stands for the Base64 text of a HEAD/BODY/SIGN block.
fn withheld_block(len: usize) -> Event<'static> {
    Event::Text(BytesText::new(&format!("[Base64 块 {len} 字节，不显示]")).into_owned())
}

fn mask_attributes(s: &BytesStart<'_>, is_masked: &dyn Fn(&str) -> bool) -> BytesStart<'static> {
    let mut out = BytesStart::new(s.name().as_ref().to_owned());
    for a in s.attributes().flatten() {
        let key = a.key.as_ref().to_owned();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_default();
        let value = if is_masked(&key) {
            mask_text(&value)
        } else {
            value
        };
        out.push_attribute((key.as_str(), value.as_str()));
    }
    out
}

/// Masks a value for display: `138****1234`, `张*`.
pub(crate) fn mask_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    // Never more than about half of a value shows.
    let (head, tail) = match chars.len() {
        0 => return String::new(),
        1..=7 => (1, 0),
        8..=10 => (2, 2),
        _ => (3, 4),
    };
    let n = chars.len();
    let shown_head: String = chars[..head].iter().collect();
    let shown_tail: String = chars[n - tail..].iter().collect();
    format!("{shown_head}{}{shown_tail}", "*".repeat(n - head - tail))
}

/// Masks the values of `fields` anywhere in `v`.
pub fn mask_fields(v: &mut Value, fields: &[String]) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                // Compared as XML names are: ignoring case, `_` and `-` (`idNumber`, `ID_NUMBER`).
                let key = normalise(k);
                if fields.iter().any(|f| normalise(f) == key) {
                    match child {
                        Value::String(s) => *s = mask_text(s),
                        Value::Null => {}
                        other => *other = Value::String(mask_text(&other.to_string())),
                    }
                } else {
                    mask_fields(child, fields);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| mask_fields(i, fields)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<String> {
        ["phone", "id_number", "legal_representative"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    #[test]
    fn masks_elements_and_attributes_by_name() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Notice xmlns:r="urn:x"><Contact id-number="350802199001011234"><Name>张三</Name><Phone>13800001234</Phone></Contact><r:LegalRepresentative>王五</r:LegalRepresentative><Amount>5000000.00</Amount></Notice>"#;
        let shown = mask_payload(xml.as_bytes(), &fields());
        assert!(shown.contains("<Phone>138****1234</Phone>"), "{shown}");
        assert!(
            shown.contains("<r:LegalRepresentative>王*</r:LegalRepresentative>"),
            "{shown}"
        );
        assert!(
            shown.contains(r#"id-number="350***********1234""#),
            "{shown}"
        );
        assert!(
            shown.contains("<Name>张三</Name>") && shown.contains("5000000.00"),
            "{shown}"
        );
        assert!(!shown.contains("13800001234") && !shown.contains("350802199001011234"));
    }

    #[test]
    fn withholds_blocks_doctypes_and_what_cannot_be_parsed() {
        let doc = "<DOCUMENT><TITLE>t</TITLE><HEAD>PEhlYWQ+PC9IZWFkPg==</HEAD><BODY>PEJvZHk+MTM4MDAwMDEyMzQ8L0JvZHk+</BODY></DOCUMENT>";
        let shown = mask_payload(doc.as_bytes(), &fields());
        assert!(!shown.contains("PEJvZHk"), "{shown}");
        assert!(shown.contains("[Base64 块 32 字节，不显示]"), "{shown}");
        let hostile = "<!DOCTYPE x [<!ENTITY e \"13800001234\">]><a><Phone>13800001234</Phone></b><c>13900001234</c></a>";
        let shown = mask_payload(hostile.as_bytes(), &fields());
        assert!(
            !shown.contains("13800001234") && !shown.contains("13900001234"),
            "{shown}"
        );
        assert!(
            shown.contains("DOCTYPE 不显示") && shown.contains("无法解析"),
            "{shown}"
        );
    }

    #[test]
    fn nothing_of_a_masked_element_shows() {
        let cases = [
            r#"<a><Phone number="13800001234"/></a>"#,
            r#"<a><IdNumber value="350802199001011234">x</IdNumber></a>"#,
            "<a><Phone>138<!-- 13800001234 --><?pi 13800001234?>00001234</Phone></a>",
            "<a><IdNumber><![CDATA[3]]><![CDATA[5]]><![CDATA[0]]><![CDATA[8]]><![CDATA[0]]><![CDATA[2]]>199001011234</IdNumber></a>",
            "<a><IdNumber>3&#53;0&#56;0&#50;1&#57;9&#48;0&#49;0&#49;1&#50;3&#52;</IdNumber></a>",
            "<a><Phone><b>13800001234</b></Phone></a>",
        ];
        for xml in cases {
            let shown = mask_payload(xml.as_bytes(), &fields());
            for secret in ["13800001234", "350802199001011234", "350802", "3508021"] {
                assert!(!shown.contains(secret), "{xml} → {shown}");
            }
        }
        // A split value is masked as one: 350802199001011234 → 350***********1234.
        let shown = mask_payload(cases[4].as_bytes(), &fields());
        assert!(shown.contains("350***********1234"), "{shown}");
    }

    #[test]
    fn what_is_not_xml_is_masked_as_json_or_withheld() {
        let json = br#"{"id_number":"350802199001011234","Phone":"13800001234"}"#;
        let shown = mask_payload(json, &fields());
        assert!(
            !shown.contains("350802199001011234") && !shown.contains("13800001234"),
            "{shown}"
        );
        for other in [
            &b"id_number=350802199001011234&phone=13800001234"[..],
            b"13800001234<a/>",
        ] {
            let shown = mask_payload(other, &fields());
            assert!(!shown.contains("13800001234"), "{shown}");
        }
        assert_eq!(mask_payload(b"plain 13800001234", &fields()), WITHHELD);
        let shown = mask_payload(b"<a/>13800001234", &fields());
        assert!(!shown.contains("13800001234"), "{shown}");
    }

    #[test]
    fn reads_gbk_by_the_declaration() {
        let (gbk, _, _) = encoding_rs::GBK.encode(
            "<?xml version=\"1.0\" encoding=\"GBK\"?><a><Phone>13800001234</Phone><n>龙岩</n></a>",
        );
        let shown = mask_payload(&gbk, &fields());
        assert!(
            shown.contains("龙岩") && shown.contains("138****1234"),
            "{shown}"
        );
    }
}
