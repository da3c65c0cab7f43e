//! Raw payloads as administrators may see them: personal fields masked. A JSON payload is
//! masked by key (`exchange.masked_fields`); an XML payload by element and attribute name —
//! a name matches a masked field when they are equal ignoring case, `_` and `-`
//! (`<IdNumber>`, `<ID_NUMBER>` and `id-number` all match `id_number`), namespace prefixes
//! aside. The Base64 blocks of wrapped documents are never shown (they may be only encoded),
//! nor is a DOCTYPE; what cannot be parsed is cut off rather than shown.

use quick_xml::events::{BytesStart, BytesText, Event};

use super::mask_text;

/// `name` as compared: ASCII alphanumerics, lower case.
fn normalise(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
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

/// The XML payload with the values of masked elements and attributes masked.
pub(super) fn mask_xml(raw: &[u8], fields: &[String]) -> String {
    let masked: Vec<String> = fields.iter().map(|f| normalise(f)).collect();
    let is_masked = |qname: &str| {
        let local = qname.rsplit(':').next().unwrap_or_default();
        masked.contains(&normalise(local))
    };
    let text = decode(raw);
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut writer = quick_xml::Writer::new(Vec::new());
    // Depth of the innermost masked element (its text is masked), and of a HEAD/BODY block of a
    // wrapped document (its text is withheld).
    let mut depth = 0usize;
    let mut masked_at: Option<usize> = None;
    let mut block_at: Option<usize> = None;
    let mut cut = false;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => e,
            Err(_) => {
                cut = true;
                break;
            }
        };
        let out = match event {
            Event::Start(s) => {
                depth += 1;
                if masked_at.is_none() && is_masked(s.name().as_ref()) {
                    masked_at = Some(depth);
                }
                let local = s.local_name().as_ref().to_owned();
                if depth == 2 && matches!(local.as_str(), "HEAD" | "BODY" | "SIGN") {
                    block_at = Some(depth);
                }
                Event::Start(mask_attributes(&s, &is_masked))
            }
            Event::Empty(s) => Event::Empty(mask_attributes(&s, &is_masked)),
            Event::End(e) => {
                if masked_at == Some(depth) {
                    masked_at = None;
                }
                if block_at == Some(depth) {
                    block_at = None;
                }
                depth = depth.saturating_sub(1);
                Event::End(e)
            }
            Event::Text(t) if block_at.is_some() => {
                let n = t.len();
                Event::Text(BytesText::new(&format!("[Base64 块 {n} 字节，不显示]")).into_owned())
            }
            Event::Text(t) if masked_at.is_some() => {
                let plain = quick_xml::escape::unescape(&t)
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                if plain.trim().is_empty() {
                    Event::Text(t)
                } else {
                    Event::Text(BytesText::new(&mask_text(plain.trim())).into_owned())
                }
            }
            Event::CData(c) if masked_at.is_some() || block_at.is_some() => {
                let plain: &str = &c;
                Event::Text(BytesText::new(&mask_text(plain.trim())).into_owned())
            }
            Event::GeneralRef(r) if masked_at.is_some() => {
                let _ = r;
                Event::Text(BytesText::new("*"))
            }
            Event::DocType(_) => Event::Comment(BytesText::new(" DOCTYPE 不显示 ")),
            other => other,
        };
        if writer.write_event(out).is_err() {
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

fn mask_attributes(s: &BytesStart<'_>, is_masked: &dyn Fn(&str) -> bool) -> BytesStart<'static> {
    let mut out = BytesStart::new(s.name().as_ref().to_owned());
    for a in s.attributes().flatten() {
        let key = a.key.as_ref().to_owned();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_default();
        let value = if is_masked(a.key.as_ref()) {
            mask_text(&value)
        } else {
            value
        };
        out.push_attribute((key.as_str(), value.as_str()));
    }
    out
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
        let shown = mask_xml(xml.as_bytes(), &fields());
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
        let shown = mask_xml(doc.as_bytes(), &fields());
        assert!(!shown.contains("PEJvZHk"), "{shown}");
        assert!(shown.contains("[Base64 块 32 字节，不显示]"), "{shown}");
        let hostile = "<!DOCTYPE x [<!ENTITY e \"13800001234\">]><a><Phone>13800001234</Phone></b><c>13900001234</c></a>";
        let shown = mask_xml(hostile.as_bytes(), &fields());
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
    fn reads_gbk_by_the_declaration() {
        let (gbk, _, _) = encoding_rs::GBK.encode(
            "<?xml version=\"1.0\" encoding=\"GBK\"?><a><Phone>13800001234</Phone><n>龙岩</n></a>",
        );
        let shown = mask_xml(&gbk, &fields());
        assert!(
            shown.contains("龙岩") && shown.contains("138****1234"),
            "{shown}"
        );
    }
}
