//! Error positions stay exact in documents far larger than the reader's buffer: lines are
//! counted lazily, so these check positions behind, across and after buffer refills.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mappings::Catalog;

const DEMAND: &str = "  <Demand>\n    <DemandNo>007</DemandNo>\n    <Enterprise><USCC>91350802MA00000001</USCC><Name>A</Name></Enterprise>\n    <Amount>0.10</Amount>\n    <TermMonths>6</TermMonths>\n    <GuaranteeMethod>03</GuaranteeMethod>\n  </Demand>\n";

fn doc(before: usize, bad: &str, after: usize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<FinancingDemandNotice version=\"1.0\">\n  <Header><MessageId>M1</MessageId><SendTime>2026-11-22T09:30:00</SendTime><BankCode>0402</BankCode></Header>\n{}{bad}{}</FinancingDemandNotice>\n",
        DEMAND.repeat(before),
        DEMAND.repeat(after)
    )
}

/// 1-based line and byte column of the first occurrence of `needle` at or after `from`.
fn pos_of(doc: &str, needle: &str, from: usize) -> (u64, u64) {
    let at = from + doc[from..].find(needle).unwrap();
    let line = doc[..at].matches('\n').count() as u64 + 1;
    let col = at - doc[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col as u64)
}

fn check(doc: &str, code: &str, expect: (u64, u64)) {
    let c = Catalog::builtin().unwrap();
    let m = c.get("financing-demand-notice").unwrap();
    let e = m.xml_to_json(doc.as_bytes()).unwrap_err();
    assert_eq!(e.code(), code, "{e}");
    assert_eq!((e.line().unwrap(), e.column().unwrap()), expect, "{e}");
    // The streaming path through a small-chunk reader gives the same answer.
    let r = std::io::BufReader::with_capacity(7, doc.as_bytes());
    let e2 = m.xml_to_json_stream(r, std::io::sink()).unwrap_err();
    assert_eq!(e2.to_string(), e.to_string());
}

#[test]
fn value_errors_point_at_the_start_tag_deep_in_a_large_document() {
    for before in [0, 500, 517, 1200, 3000] {
        let bad = DEMAND.replace("<TermMonths>6", "<TermMonths>six");
        let d = doc(before, &bad, 50);
        let from = d.len() - DEMAND.len() * 50 - bad.len();
        check(&d, "mapping.type_invalid", pos_of(&d, "<TermMonths>", from));
    }
}

#[test]
fn a_value_spanning_several_buffers_points_at_its_start_tag() {
    let long = "名\n".repeat(100_000);
    for before in [0, 700] {
        let bad = DEMAND.replace("<Name>A</Name>", &format!("<Name>{long}</Name>"));
        let d = doc(before, &bad, 3);
        let from = d.len() - DEMAND.len() * 3 - bad.len();
        check(&d, "mapping.type_invalid", pos_of(&d, "<Name>", from));
    }
}

#[test]
fn structure_errors_point_at_the_event() {
    for before in [10, 900, 2500] {
        // A required element missing: reported at the end tag of its parent.
        let bad = DEMAND.replace("<TermMonths>6</TermMonths>\n", "");
        let d = doc(before, &bad, 20);
        let from = d.len() - DEMAND.len() * 20 - bad.len();
        check(
            &d,
            "mapping.required_missing",
            pos_of(&d, "</Demand>", from),
        );
        // An unexpected element.
        let bad = DEMAND.replace("<Amount>", "<Amont>");
        let d = doc(before, &bad, 20);
        let from = d.len() - DEMAND.len() * 20 - bad.len();
        check(&d, "mapping.schema_invalid", pos_of(&d, "<Amont>", from));
        // An entity after a long text.
        let bad = DEMAND.replace(
            "<DemandNo>007",
            &format!("<DemandNo>{}&nope;", "7".repeat(150_000)),
        );
        let d = doc(before, &bad, 20);
        let from = d.len() - DEMAND.len() * 20 - bad.len();
        check(&d, "mapping.entity_forbidden", pos_of(&d, "&nope;", from));
    }
}

#[test]
fn malformed_xml_points_at_the_error() {
    for before in [10, 2500] {
        let bad = DEMAND.replace("</TermMonths>", "</TermMonth>");
        let d = doc(before, &bad, 20);
        let from = d.len() - DEMAND.len() * 20 - bad.len();
        check(
            &d,
            "mapping.xml_malformed",
            pos_of(&d, "</TermMonth>", from),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Every error says where: the Base64 DOCUMENT envelope, its decoded blocks, SOAP envelopes,
// JSON text and definitions.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use mappings::{Error, Mapping, Part, PayloadCodec};

const RECEIVABLES: &str = include_str!("fixtures/receivables-registration-result/input.xml");

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .unwrap()
}

/// The fixture's HEAD or BODY Base64 text and its decoded document as UTF-8 text (BODY is GBK).
fn block(name: &str) -> (String, String) {
    let open = format!("<{name}>");
    let from = RECEIVABLES.find(&open).unwrap() + open.len();
    let to = RECEIVABLES.find(&format!("</{name}>")).unwrap();
    let text = RECEIVABLES[from..to].to_owned();
    let raw = unb64(&text);
    let (decoded, _, bad) = encoding_rs::GB18030.decode(&raw);
    assert!(!bad);
    (text, decoded.into_owned())
}

/// The fixture with the decoded `name` block replaced by `doc` (encoded like the original).
fn with_block(name: &str, doc: &str) -> String {
    let (text, _) = block(name);
    let bytes = if doc.contains("encoding=\"GBK\"") {
        encoding_rs::GBK.encode(doc).0.into_owned()
    } else {
        doc.as_bytes().to_vec()
    };
    RECEIVABLES.replacen(&text, &b64(&bytes), 1)
}

fn receivables() -> Mapping {
    Catalog::builtin()
        .unwrap()
        .get("receivables-registration-result")
        .unwrap()
        .clone()
}

#[track_caller]
fn fails(m: &Mapping, doc: &str, code: &str, at: (u64, u64), path: &str) -> Error {
    let e = m.xml_to_json(doc.as_bytes()).unwrap_err();
    assert_eq!(e.code(), code, "{e}");
    assert_eq!((e.line(), e.column()), (Some(at.0), Some(at.1)), "{e}");
    assert_eq!(e.path().unwrap_or(""), path, "{e}");
    let s = e.to_string();
    assert!(
        s.contains(&format!("line {}, column {}", at.0, at.1)),
        "{s}"
    );
    assert!(
        path.is_empty() || s.contains(&format!(" at {path} ")),
        "{s}"
    );
    e
}

#[test]
fn a_malformed_document_envelope_says_where() {
    let m = receivables();
    // Truncated: the end of the input, inside HEAD.
    let e = fails(
        &m,
        "<DOCUMENT><TITLE>x</TITLE><HEAD>",
        "mapping.xml_malformed",
        (1, 33),
        "/DOCUMENT/HEAD",
    );
    assert_eq!(e.location().unwrap().block, None);
    // The wrong document element, after a declaration.
    let e = fails(
        &m,
        "<?xml version=\"1.0\"?>\n  <a>",
        "mapping.schema_invalid",
        (2, 3),
        "",
    );
    assert_eq!(
        e.to_string(),
        "schema violation: expected a DOCUMENT element, found a (line 2, column 3)"
    );
    fails(&m, "<a/>", "mapping.schema_invalid", (1, 1), "");
    fails(&m, "", "mapping.xml_malformed", (1, 1), "");
    // A mismatched end tag in the fixture: at that tag.
    let doc = RECEIVABLES.replacen("</HEAD>", "</HEAP>", 1);
    fails(
        &m,
        &doc,
        "mapping.xml_malformed",
        pos_of(&doc, "</HEAP>", 0),
        "/DOCUMENT/HEAD",
    );
    // Text before the document element; a second document element; a DOCTYPE.
    fails(&m, " x<DOCUMENT/>", "mapping.xml_malformed", (1, 2), "");
    let doc = format!("{RECEIVABLES}<DOCUMENT/>");
    let last = doc.rfind("<DOCUMENT/>").unwrap();
    fails(
        &m,
        &doc,
        "mapping.xml_malformed",
        pos_of(&doc, "<DOCUMENT/>", last),
        "",
    );
    fails(
        &m,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE DOCUMENT [<!ENTITY x \"y\">]><DOCUMENT/>",
        "mapping.dtd_forbidden",
        (2, 1),
        "",
    );
    // Elements that do not belong, or come twice.
    let doc = RECEIVABLES.replacen("<HEAD>", "<HEAD><X/>", 1);
    fails(
        &m,
        &doc,
        "mapping.schema_invalid",
        pos_of(&doc, "<X/>", 0),
        "/DOCUMENT/HEAD",
    );
    let doc = RECEIVABLES.replacen("  <HEAD>", "  <EXTRA/><HEAD>", 1);
    fails(
        &m,
        &doc,
        "mapping.schema_invalid",
        pos_of(&doc, "<EXTRA/>", 0),
        "/DOCUMENT",
    );
    let doc = RECEIVABLES.replacen("  <BODY>", "  <HEAD>eA==</HEAD><BODY>", 1);
    let second = doc.find("<HEAD>eA==").unwrap();
    fails(
        &m,
        &doc,
        "mapping.schema_invalid",
        pos_of(&doc, "<HEAD>", second),
        "/DOCUMENT/HEAD",
    );
    // A missing block: where it should have ended, at </DOCUMENT>; an empty one: at its tag.
    let (body, _) = block("BODY");
    let doc = RECEIVABLES.replacen(&format!("<BODY>{body}</BODY>"), "", 1);
    fails(
        &m,
        &doc,
        "mapping.required_missing",
        pos_of(&doc, "</DOCUMENT>", 0),
        "/DOCUMENT/BODY",
    );
    let doc = RECEIVABLES.replacen(&body, "\n  ", 1);
    fails(
        &m,
        &doc,
        "mapping.required_missing",
        (12, 3),
        "/DOCUMENT/BODY",
    );
}

#[test]
fn invalid_base64_points_at_the_offending_character() {
    let m = receivables();
    // Line 14 of the document is the third line of BODY's Base64 text.
    let (body, _) = block("BODY");
    let line3 = body.lines().nth(3).unwrap();
    let bad_line = format!("{}!{}", &line3[..10], &line3[11..]);
    let doc = RECEIVABLES.replacen(line3, &bad_line, 1);
    let e = fails(
        &m,
        &doc,
        "mapping.payload_invalid",
        (15, 11),
        "/DOCUMENT/BODY",
    );
    assert!(
        matches!(e.bare(), Error::PayloadInvalid { part: "BODY", .. }),
        "{e:?}"
    );
    // An error the decoder gives no offset for (a length): at the block's start tag.
    let (head, _) = block("HEAD");
    let doc = RECEIVABLES.replacen(&head, &head[..head.len() - 3], 1);
    fails(
        &m,
        &doc,
        "mapping.payload_invalid",
        (11, 3),
        "/DOCUMENT/HEAD",
    );
    // The public unwrapping says the same.
    let e = mappings::unwrap_document(doc.as_bytes(), &mappings::PlainPayload).unwrap_err();
    assert_eq!(
        (e.code(), e.line(), e.column()),
        ("mapping.payload_invalid", Some(11), Some(3))
    );
}

/// A codec that cannot open BODY, and requires a signature when asked to.
#[derive(Debug)]
struct Picky {
    signed: bool,
}

impl PayloadCodec for Picky {
    fn open(&self, part: Part, sealed: Vec<u8>) -> Result<Vec<u8>, Error> {
        match part {
            Part::Head => Ok(sealed),
            Part::Body => Err(Error::PayloadInvalid {
                part: "BODY",
                detail: "cannot be decrypted".into(),
            }),
        }
    }
    fn seal(&self, _: Part, plain: Vec<u8>) -> Result<Vec<u8>, Error> {
        Ok(plain)
    }
    fn verify(&self, _: &[u8], signature: Option<&[u8]>) -> Result<(), Error> {
        match (self.signed, signature) {
            (true, None) => Err(Error::SignatureInvalid {
                detail: "no SIGN".into(),
            }),
            (true, Some(s)) if s != b"ok" => Err(Error::SignatureInvalid {
                detail: "does not verify".into(),
            }),
            _ => Ok(()),
        }
    }
}

#[test]
fn codec_failures_carry_the_position_of_their_element() {
    let m = receivables().with_codec(Arc::new(Picky { signed: false }));
    let e = fails(
        &m,
        RECEIVABLES,
        "mapping.payload_invalid",
        (12, 3),
        "/DOCUMENT/BODY",
    );
    assert_eq!(
        e.to_string(),
        "payload block BODY is invalid: cannot be decrypted at /DOCUMENT/BODY (line 12, column 3)"
    );
    assert!(matches!(e.bare(), Error::PayloadInvalid { .. }));
    // Signatures: a missing SIGN where it should be, at </DOCUMENT>; a bad one at SIGN.
    let m = receivables().with_codec(Arc::new(Picky { signed: true }));
    fails(
        &m,
        RECEIVABLES,
        "mapping.signature_invalid",
        (22, 1),
        "/DOCUMENT/SIGN",
    );
    let signed = |sign: &str| {
        RECEIVABLES.replacen(
            "</DOCUMENT>",
            &format!("  <SIGN>{sign}</SIGN>\n</DOCUMENT>"),
            1,
        )
    };
    fails(
        &m,
        &signed(&b64(b"no")),
        "mapping.signature_invalid",
        (22, 3),
        "/DOCUMENT/SIGN",
    );
    fails(
        &m,
        &signed("b2s=%"),
        "mapping.signature_invalid",
        (22, 13),
        "/DOCUMENT/SIGN",
    );
    // A good signature, then BODY fails to open.
    fails(
        &m,
        &signed(&b64(b"ok")),
        "mapping.payload_invalid",
        (12, 3),
        "/DOCUMENT/BODY",
    );
}

#[test]
fn errors_inside_a_decoded_block_count_in_that_block() {
    let m = receivables();
    let (_, body) = block("BODY");
    assert!(body.contains("encoding=\"GBK\""));
    // Malformed XML inside the decoded (GBK) BODY, after Chinese text: the column counts
    // UTF-8 bytes of the decoded text, as for any GBK document.
    let bad = body.replacen("</StatusDesc>", "</StatusDes>", 1);
    let doc = with_block("BODY", &bad);
    let want = pos_of(&bad, "</StatusDes>", 0);
    assert_eq!(want, (5, 27));
    let e = fails(
        &m,
        &doc,
        "mapping.xml_malformed",
        want,
        "/DOCUMENT/BODY/Body/StatusDesc",
    );
    assert_eq!(e.location().unwrap().block, Some(Part::Body));
    assert!(
        e.to_string()
            .ends_with("at /DOCUMENT/BODY/Body/StatusDesc (line 5, column 27 of the decoded BODY)"),
        "{e}"
    );
    // A value error: at the value's start tag in the decoded document.
    let bad = body.replacen("<Amount>1200000.50", "<Amount>1,200,000.50", 1);
    let e = fails(
        &m,
        &with_block("BODY", &bad),
        "mapping.type_invalid",
        pos_of(&bad, "<Amount>", 0),
        "/DOCUMENT/BODY/Body/Items/Item[1]/Amount",
    );
    assert_eq!(e.location().unwrap().block, Some(Part::Body));
    let bad = body.replacen("<Status>01", "<Status>09", 1);
    fails(
        &m,
        &with_block("BODY", &bad),
        "mapping.enum_unknown",
        pos_of(&bad, "<Status>", 0),
        "/DOCUMENT/BODY/Body/Status",
    );
    // The decoded document ends early: at its end.
    let cut = &body[..body.find("<Items>").unwrap()];
    let (lines, last) = (
        cut.matches('\n').count() as u64 + 1,
        cut.len() - cut.rfind('\n').unwrap(),
    );
    fails(
        &m,
        &with_block("BODY", cut),
        "mapping.xml_malformed",
        (lines, last as u64),
        "/DOCUMENT/BODY/Body",
    );
    // A required element missing in HEAD: at its parent's end tag in the decoded HEAD.
    let (_, head) = block("HEAD");
    let bad = head.replacen("<TransCode>2002</TransCode>", "", 1);
    let e = fails(
        &m,
        &with_block("HEAD", &bad),
        "mapping.required_missing",
        pos_of(&bad, "</Head>", 0),
        "/DOCUMENT/HEAD/Head/TransCode",
    );
    assert_eq!(e.location().unwrap().block, Some(Part::Head));
    // A decoded block that is not valid in its encoding, or names an unknown one.
    let raw = [b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Head>\xFF".as_slice()].concat();
    let (head_b64, _) = block("HEAD");
    let doc = RECEIVABLES.replacen(&head_b64, &b64(&raw), 1);
    let e = fails(
        &m,
        &doc,
        "mapping.encoding_invalid",
        (2, 7),
        "/DOCUMENT/HEAD",
    );
    assert_eq!(e.location().unwrap().block, Some(Part::Head));
    let doc = RECEIVABLES.replacen(
        &head_b64,
        &b64(b"<?xml version='1.0' encoding='latin1'?><Head/>"),
        1,
    );
    fails(
        &m,
        &doc,
        "mapping.encoding_unsupported",
        (1, 1),
        "/DOCUMENT/HEAD",
    );
    // TITLE travels in clear: its errors count in the envelope.
    let doc = RECEIVABLES.replacen("<SendTime>20261122103005", "<SendTime>2026-11-22", 1);
    let e = fails(
        &m,
        &doc,
        "mapping.type_invalid",
        (9, 5),
        "/DOCUMENT/TITLE/SendTime",
    );
    assert_eq!(e.location().unwrap().block, None);
}

#[test]
fn soap_envelope_errors_say_where() {
    let c = Catalog::builtin().unwrap();
    let m = c.get("credit-code-verification-reply").unwrap().clone();
    let env = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">";
    fails(
        &m,
        &format!("{env}\n  <s:Body>\n  </s:Envelope>"),
        "mapping.xml_malformed",
        (3, 3),
        "/Envelope/Body",
    );
    fails(
        &m,
        &format!("{env}\n  <s:Bdy/></s:Envelope>"),
        "mapping.schema_invalid",
        (2, 3),
        "/Envelope",
    );
    let e = fails(
        &m,
        &format!(
            "{env}<s:Body>\n<s:Fault><faultcode>s:Server</faultcode><faultstring>busy</faultstring></s:Fault></s:Body></s:Envelope>"
        ),
        "mapping.soap_fault",
        (2, 1),
        "/Envelope/Body/Fault",
    );
    assert!(
        e.to_string().starts_with("SOAP fault s:Server: busy at"),
        "{e}"
    );
    // The message complete, the envelope cut off after it.
    let gbk = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/credit-code-verification-reply/input.xml"
    ))
    .unwrap();
    let reply =
        encoding_rs::GBK
            .decode(&gbk)
            .0
            .replacen("encoding=\"GBK\"", "encoding=\"UTF-8\"", 1);
    assert!(m.xml_to_json(reply.as_bytes()).is_ok());
    let cut = &reply[..reply.find("</soap:Body>").unwrap()];
    let (lines, col) = (
        cut.matches('\n').count() as u64 + 1,
        cut.len() - cut.rfind('\n').unwrap(),
    );
    fails(
        &m,
        cut,
        "mapping.xml_malformed",
        (lines, col as u64),
        "/Envelope/Body",
    );
    // An unsupported encoding: at the declaration.
    fails(
        &m,
        "<?xml version=\"1.0\" encoding=\"latin1\"?><a/>",
        "mapping.encoding_unsupported",
        (1, 1),
        "",
    );
    fails(
        &m,
        "\u{feff}<?xml version=\"1.0\" encoding=\"latin1\"?><a/>",
        "mapping.encoding_unsupported",
        (1, 1),
        "",
    );
}

#[test]
fn json_text_errors_carry_line_column_and_path() {
    let m = receivables();
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/receivables-registration-result/expected.json"
    ))
    .unwrap();
    assert!(m.json_text_to_xml(json.as_bytes()).is_ok());
    assert_eq!(
        m.read_json(json.as_bytes()).unwrap(),
        serde_json::from_str::<serde_json::Value>(&json).unwrap()
    );
    let check = |text: &str, code: &str, at: (u64, u64), path: &str| {
        for e in [
            m.json_text_to_xml(text.as_bytes()).unwrap_err(),
            m.read_json(text.as_bytes()).unwrap_err(),
        ] {
            assert_eq!(e.code(), code, "{e}");
            assert_eq!((e.line(), e.column()), (Some(at.0), Some(at.1)), "{e}");
            assert_eq!(e.path().unwrap_or(""), path, "{e}");
            assert!(
                e.to_string()
                    .contains(&format!("(line {}, column {})", at.0, at.1)),
                "{e}"
            );
        }
    };
    // Not JSON.
    let bad = json.replacen("\"2002\",", "\"2002\"", 1);
    check(&bad, "mapping.json_malformed", (7, 5), "");
    check("", "mapping.json_malformed", (1, 1), "");
    // A value of the wrong type, deep in an array: the value.
    let bad = json.replacen("\"1200000.50\"", "1.2e6", 1);
    check(&bad, "mapping.type_invalid", (11, 17), "$.items[0].amount");
    let bad = json.replacen("\"seq\": 1", "\"seq\": \"one\"", 1);
    check(&bad, "mapping.type_invalid", (14, 14), "$.items[0].seq");
    // Outside the code table.
    let bad = json.replacen("\"registered\"", "\"approved\"", 1);
    check(&bad, "mapping.enum_unknown", (28, 13), "$.status");
    // An unknown key: the key.
    let bad = json.replacen("\"uscc\"", "\"usci\"", 1);
    check(&bad, "mapping.unknown", (21, 5), "$.pledgee.usci");
    // A missing required field: the object that lacks it.
    let bad = json.replacen("      \"invoice_no\": \"0012345678\",\n", "", 1);
    check(
        &bad,
        "mapping.required_missing",
        (10, 5),
        "$.items[0].invoice_no",
    );
    // A parsed value has no text, so no line.
    let v: serde_json::Value =
        serde_json::from_str(&json.replacen("\"1200000.50\"", "1.2e6", 1)).unwrap();
    let e = m.json_to_xml(&v).unwrap_err();
    assert_eq!((e.path(), e.line()), (Some("$.items[0].amount"), None));
}

fn load(toml: &str, xsd: &str) -> Error {
    let xsd = |_: &str| Some(xsd.to_owned());
    Mapping::from_toml("test.toml", toml, &xsd, &BTreeMap::new()).unwrap_err()
}

#[track_caller]
fn definition_fails(e: &Error, source: &str, at: (u64, u64), path: &str) {
    assert_eq!(e.code(), "mapping.definition_invalid", "{e}");
    assert_eq!((e.line(), e.column()), (Some(at.0), Some(at.1)), "{e}");
    assert_eq!(e.path().unwrap_or(""), path, "{e}");
    let Error::DefinitionInvalid { source_name, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(source_name, source);
    assert!(
        e.to_string()
            .contains(&format!("line {}, column {}", at.0, at.1)),
        "{e}"
    );
}

#[test]
fn definition_errors_carry_line_column_and_key() {
    let xsd = schemas::xsd("financing-demand-notice.xsd").unwrap();
    let head = "name = \"t\"\nversion = 1\nmessage_type = \"t\"\nschema = \"s.xsd\"\nroot = \"FinancingDemandNotice\"\n";
    // TOML syntax and shape errors: where toml says.
    definition_fails(
        &load(&format!("{head}[[fields]]\njson = \"x\"\nxml = \n"), xsd),
        "test.toml",
        (8, 7),
        "",
    );
    let e = load(
        &format!("{head}[[fields]]\njson = \"x\"\nxml = \"Header/MessageId\"\ncolour = 1\n"),
        xsd,
    );
    definition_fails(&e, "test.toml", (9, 1), "");
    assert!(!e.to_string().contains('\n'), "{e}");
    // A top-level key's value.
    let fields = "[[fields]]\njson = \"id\"\nxml = \"Header/MessageId\"\n\n[[fields]]\njson = \"d\"\nxml = \"Demand\"\n  [[fields.fields]]\n  json = \"n\"\n  xml = \"DemandNo\"\n  [[fields.fields]]\n  json = \"x\"\n  xml = \"Nope\"\n";
    let e = load(
        &format!("{head}{fields}").replace("version = 1", "version = 0"),
        xsd,
    );
    definition_fails(&e, "test.toml", (2, 11), "version");
    // A field the schema does not have: its [[fields]] header and key.
    let e = load(&format!("{head}{fields}"), xsd);
    definition_fails(&e, "test.toml", (16, 3), "fields[1].fields[1]");
    // A schema error: its line and column in the schema.
    let bad = xsd.replacen(
        "<xs:sequence>",
        "<xs:sequence>\n    <xs:group ref=\"g\"/>",
        1,
    );
    let e = load(&format!("{head}{fields}"), &bad);
    definition_fails(&e, "s.xsd", pos_of(&bad, "<xs:group", 0), "");
    assert!(!e.to_string().contains("schema line"), "{e}");
}
