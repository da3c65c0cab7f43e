//! The engine's contract, one concern per test; every negative case asserts the exact code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use mappings::{Catalog, Limits, Mapping};
use serde_json::json;

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

fn notice(demands: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<FinancingDemandNotice version="1.0">
  <Header><MessageId>M1</MessageId><SendTime>2026-11-22T09:30:00</SendTime><BankCode>0402</BankCode></Header>
{demands}
</FinancingDemandNotice>"#
    )
}

const DEMAND: &str = "<Demand><DemandNo>007</DemandNo><Enterprise><USCC>91350802MA00000001</USCC><Name>A</Name></Enterprise><Amount>0.10</Amount><TermMonths>6</TermMonths><GuaranteeMethod>03</GuaranteeMethod></Demand>";

fn code_of(xml: &str) -> String {
    let c = catalog();
    c.get("financing-demand-notice")
        .unwrap()
        .xml_to_json(xml.as_bytes())
        .unwrap_err()
        .code()
        .to_owned()
}

#[test]
fn a_single_repeated_element_is_a_one_element_array_and_leading_zeros_and_decimals_survive() {
    let c = catalog();
    let m = c.get("financing-demand-notice").unwrap();
    let v = m.xml_to_json(notice(DEMAND).as_bytes()).unwrap();
    assert_eq!(v["demands"].as_array().unwrap().len(), 1);
    assert_eq!(v["demands"][0]["demand_no"], "007");
    assert_eq!(v["bank"]["code"], "0402");
    assert_eq!(v["demands"][0]["amount"], "0.10");
    assert_eq!(v["demands"][0]["guarantee_method"], "mortgage");
    assert_eq!(m.message_id(&v).as_deref(), Some("M1"));
}

#[test]
fn streaming_writes_keys_in_definition_order() {
    let c = catalog();
    let m = c.get("financing-demand-notice").unwrap();
    let mut out = Vec::new();
    m.xml_to_json_stream(notice(DEMAND).as_bytes(), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with(r#"{"schema_version":"1.0","message_id":"M1","sent_at":"#),
        "{text}"
    );
    assert!(
        text.contains(r#""demands":[{"demand_no":"007","enterprise":{"#),
        "{text}"
    );
}

#[test]
fn hostile_inputs_are_refused_with_their_codes() {
    let doctype = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>{}",
        &notice(DEMAND)[39..]
    );
    assert_eq!(code_of(&doctype), "mapping.dtd_forbidden");

    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<FinancingDemandNotice version="&lol3;"/>"#;
    assert_eq!(code_of(bomb), "mapping.dtd_forbidden");

    let external = notice(DEMAND).replace("<BankCode>0402", "<BankCode>&xxe;");
    assert_eq!(code_of(&external), "mapping.entity_forbidden");

    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    // Refused at the first element, which the schema does not know.
    assert_eq!(code_of(&deep), "mapping.schema_invalid");
    // Deep nesting where the schema cannot stop it first: inside a SOAP header, which is skipped.
    let c = catalog();
    let reply = c.get("credit-code-verification-reply").unwrap();
    let header = format!("{}{}", "<h>".repeat(100_000), "</h>".repeat(100_000));
    let soap = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>{header}</s:Header><s:Body/></s:Envelope>"#
    );
    assert_eq!(
        reply.xml_to_json(soap.as_bytes()).unwrap_err().code(),
        "mapping.limit_exceeded"
    );
    let shallow = c
        .get("financing-demand-notice")
        .unwrap()
        .clone()
        .with_limits(Limits {
            max_depth: 3,
            ..Limits::default()
        });
    let err = shallow.xml_to_json(notice(DEMAND).as_bytes()).unwrap_err();
    assert_eq!(err.code(), "mapping.limit_exceeded");
    assert_eq!(
        err.path(),
        Some("/FinancingDemandNotice/Demand[1]/Enterprise")
    );

    let attrs: String = (0..1000).map(|i| format!(" a{i}=\"x\"")).collect();
    let many = notice(DEMAND).replace("<Header>", &format!("<Header{attrs}>"));
    assert_eq!(code_of(&many), "mapping.limit_exceeded");

    let long_name = format!("<{0}></{0}>", "n".repeat(1000));
    assert_eq!(code_of(&long_name), "mapping.limit_exceeded");

    let huge_text = notice(DEMAND).replace(
        "<Name>A</Name>",
        &format!("<Name>{}</Name>", "x".repeat(2 << 20)),
    );
    assert_eq!(code_of(&huge_text), "mapping.limit_exceeded");

    let c = catalog();
    let small = c
        .get("financing-demand-notice")
        .unwrap()
        .clone()
        .with_limits(Limits {
            max_bytes: 100,
            ..Limits::default()
        });
    let err = small.xml_to_json(notice(DEMAND).as_bytes()).unwrap_err();
    assert_eq!(err.code(), "mapping.limit_exceeded");

    assert_eq!(code_of("<FinancingDemandNotice"), "mapping.xml_malformed");
    assert_eq!(code_of(""), "mapping.xml_malformed");
    assert_eq!(
        code_of("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>"),
        "mapping.encoding_unsupported"
    );
}

#[test]
fn errors_carry_line_column_and_path() {
    let c = catalog();
    let m = c.get("financing-demand-notice").unwrap();
    let contacts = "<Contacts><Contact><Name>A</Name><Phone>1</Phone></Contact>\n<Contact><Name>B</Name><Phone>2</Phone><CardType>999</CardType></Contact></Contacts>";
    let demand = DEMAND.replace(
        "</GuaranteeMethod>",
        &format!("</GuaranteeMethod>{contacts}"),
    );
    let err = m.xml_to_json(notice(&demand).as_bytes()).unwrap_err();
    assert_eq!(err.code(), "mapping.enum_unknown");
    assert_eq!(
        err.path(),
        Some("/FinancingDemandNotice/Demand[1]/Contacts/Contact[2]/CardType")
    );
    assert_eq!(err.line(), Some(5));
    assert_eq!(err.column(), Some(40));

    let bad_int = notice(DEMAND).replace("<TermMonths>6<", "<TermMonths>six<");
    let err = m.xml_to_json(bad_int.as_bytes()).unwrap_err();
    assert_eq!(err.code(), "mapping.type_invalid");
    assert_eq!(
        err.path(),
        Some("/FinancingDemandNotice/Demand[1]/TermMonths")
    );
    assert_eq!((err.line(), err.column()), (Some(4), Some(124)));

    let missing = notice(DEMAND).replace("<MessageId>M1</MessageId>", "");
    let err = m.xml_to_json(missing.as_bytes()).unwrap_err();
    assert_eq!(err.code(), "mapping.required_missing");
    assert_eq!(err.path(), Some("/FinancingDemandNotice/Header/MessageId"));

    let order = notice(DEMAND).replace(
        "<MessageId>M1</MessageId><SendTime>2026-11-22T09:30:00</SendTime>",
        "<SendTime>2026-11-22T09:30:00</SendTime><MessageId>M1</MessageId>",
    );
    assert_eq!(code_of(&order), "mapping.schema_invalid");
    assert_eq!(
        code_of(&notice(&DEMAND.replace("<Amount>", "<Bogus/><Amount>"))),
        "mapping.schema_invalid"
    );
    assert_eq!(
        code_of(&notice(&DEMAND.replace("<Enterprise>", "<Enterprise>text"))),
        "mapping.mixed_content"
    );
    assert_eq!(code_of(&notice("")), "mapping.required_missing");
}

#[test]
fn json_errors_carry_json_paths() {
    let c = catalog();
    let m = c.get("financing-demand-notice").unwrap();
    let good = m.xml_to_json(notice(DEMAND).as_bytes()).unwrap();

    let mut v = good.clone();
    v["demands"][0]["contacts"] = json!([{"name": "A", "phone": "1"}, {"name": "B", "phone": 2}]);
    let err = m.json_to_xml(&v).unwrap_err();
    assert_eq!(err.code(), "mapping.type_invalid");
    assert_eq!(err.path(), Some("$.demands[0].contacts[1].phone"));
    assert_eq!(err.line(), None);

    let mut v = good.clone();
    v["demands"][0]["guarantee_method"] = json!("gift");
    assert_eq!(
        m.json_to_xml(&v).unwrap_err().code(),
        "mapping.enum_unknown"
    );

    let mut v = good.clone();
    v["demands"][0]["amount"] = json!(0.1);
    assert_eq!(
        m.json_to_xml(&v).unwrap_err().code(),
        "mapping.type_invalid"
    );

    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("message_id");
    let err = m.json_to_xml(&v).unwrap_err();
    assert_eq!(err.code(), "mapping.required_missing");
    assert_eq!(err.path(), Some("$.message_id"));

    let mut v = good.clone();
    v["surprise"] = json!(1);
    let err = m.json_to_xml(&v).unwrap_err();
    assert_eq!(err.code(), "mapping.unknown");
    assert_eq!(err.path(), Some("$.surprise"));

    let mut v = good;
    v["demands"] = json!([]);
    assert_eq!(
        m.json_to_xml(&v).unwrap_err().code(),
        "mapping.required_missing"
    );
}

const REPLY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<X:VerifyCreditCodeReply xmlns:X="NS">
  <X:RequestId>R1</X:RequestId><X:ReplyTime>2026-11-22T10:31:07</X:ReplyTime><X:ResultCode>2</X:ResultCode>
</X:VerifyCreditCodeReply>"#;

#[test]
fn namespaces_match_by_uri_not_prefix() {
    let c = catalog();
    let m = c.get("credit-code-verification-reply").unwrap();
    let uri = "urn:example:fj-gateway:credit-code:1";
    for doc in [
        REPLY.replace("NS", uri),
        REPLY
            .replace("NS", uri)
            .replace("X:", "other:")
            .replace("xmlns:X", "xmlns:other"),
        REPLY
            .replace("NS", uri)
            .replace("X:", "")
            .replace("xmlns:X", "xmlns"),
    ] {
        let v = m
            .xml_to_json(doc.as_bytes())
            .unwrap_or_else(|e| panic!("{e}\n{doc}"));
        assert_eq!(v["result"], "not_found");
    }
    let wrong = REPLY.replace("NS", "urn:example:fj-gateway:credit-code:2");
    assert_eq!(
        m.xml_to_json(wrong.as_bytes()).unwrap_err().code(),
        "mapping.schema_invalid"
    );
    let unqualified_child = REPLY.replace("NS", uri).replace("X:RequestId", "RequestId");
    assert_eq!(
        m.xml_to_json(unqualified_child.as_bytes())
            .unwrap_err()
            .code(),
        "mapping.schema_invalid"
    );
}

#[test]
fn gbk_documents_are_decoded_and_soap_faults_reported() {
    let c = catalog();
    let m = c.get("credit-code-verification-reply").unwrap();
    let doc = REPLY
        .replace("NS", "urn:example:fj-gateway:credit-code:1")
        .replace("UTF-8", "GBK")
        .replace(
            "<X:ResultCode>2</X:ResultCode>",
            "<X:ResultCode>1</X:ResultCode><X:ResultMessage>名称不一致</X:ResultMessage>",
        );
    let (gbk, _, _) = encoding_rs::GBK.encode(&doc);
    assert_ne!(&gbk[..], doc.as_bytes());
    let v = m.xml_to_json(&gbk).unwrap();
    assert_eq!(v["result_message"], "名称不一致");

    let bad = [&gbk[..gbk.len() - 60], b"\x81\x20", &gbk[gbk.len() - 60..]].concat();
    assert_eq!(
        m.xml_to_json(&bad).unwrap_err().code(),
        "mapping.encoding_invalid"
    );

    let fault = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>busy</faultstring></s:Fault></s:Body></s:Envelope>"#;
    let err = m.xml_to_json(fault.as_bytes()).unwrap_err();
    assert_eq!(err.code(), "mapping.soap_fault");
    assert!(err.to_string().contains("busy"));
}

fn load(toml: &str) -> Result<Mapping, mappings::Error> {
    let xsd = |f: &str| schemas::xsd(f).map(str::to_owned);
    Mapping::from_toml("test.toml", toml, &xsd, &BTreeMap::new())
}

const HEAD: &str = r#"name = "t"
version = 1
message_type = "t"
schema = "financing-demand-notice.xsd"
root = "FinancingDemandNotice"
"#;

#[test]
fn a_mapping_inconsistent_with_its_schema_is_refused() {
    let cases = [
        // an element the schema does not have
        "[[fields]]\njson = \"x\"\nxml = \"Header/Nope\"",
        // a repeated element declared as a single value
        "[[fields]]\njson = \"d\"\nxml = \"Demand\"\narray = false\n[[fields.fields]]\njson = \"n\"\nxml = \"DemandNo\"",
        // an integer mapping of a dateTime
        "[[fields]]\njson = \"t\"\nxml = \"Header/SendTime\"\ntype = \"integer\"",
        // a repeated element in the middle of a path
        "[[fields]]\njson = \"n\"\nxml = \"Demand/DemandNo\"",
        // required schema content left unmapped (JSON → XML could not produce it)
        "[[fields]]\njson = \"id\"\nxml = \"Header/MessageId\"",
        // unknown key in the definition
        "colour = \"red\"\n[[fields]]\njson = \"id\"\nxml = \"Header/MessageId\"",
    ];
    for case in cases {
        let err = load(&format!("{HEAD}{case}")).unwrap_err();
        assert_eq!(err.code(), "mapping.definition_invalid", "{case}");
    }
    // A code table that misses a value the schema allows.
    let toml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/catalog/financing-demand-notice.toml"
    ))
    .unwrap()
    .replace("\"04\" = \"pledge\"\n", "");
    let xsd = |f: &str| schemas::xsd(f).map(str::to_owned);
    let codes = toml::from_str(include_str!("../catalog/codes.toml")).unwrap();
    let err = Mapping::from_toml("t", &toml, &xsd, &codes).unwrap_err();
    assert_eq!(err.code(), "mapping.definition_invalid");
    assert!(err.to_string().contains("\"04\""), "{err}");
}

#[test]
fn load_dir_reads_the_same_layout() {
    let dir = std::env::temp_dir().join(format!("mappings-load-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/catalog");
    for f in ["codes.toml", "financing-demand-notice.toml"] {
        std::fs::copy(format!("{src}/{f}"), dir.join(f)).unwrap();
    }
    let c = Catalog::load_dir(&dir).unwrap();
    assert_eq!(c.names(), vec!["financing-demand-notice"]);
    assert!(c.for_message_type("financing.demand_notice").is_some());
    std::fs::write(dir.join("broken.toml"), "name = 1").unwrap();
    assert_eq!(
        Catalog::load_dir(&dir).unwrap_err().code(),
        "mapping.definition_invalid"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `cargo test -p mappings --release --test behaviour -- --ignored --nocapture throughput`
#[test]
#[ignore]
fn throughput() {
    let c = catalog();
    let m = c.get("financing-demand-notice").unwrap();
    let demand = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/financing-demand-notice/input.xml"
    ))
    .unwrap();
    let start = demand.find("<Demand>").unwrap();
    let end = demand.find("</Demand>").unwrap() + "</Demand>".len();
    let one = &demand[start..end];
    let body = one.repeat(100 * 1024 * 1024 / one.len());
    let doc = notice(&body);
    let t = std::time::Instant::now();
    m.xml_to_json_stream(doc.as_bytes(), std::io::sink())
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} MB in {secs:.2} s: {:.0} MB/s",
        doc.len() / 1_000_000,
        doc.len() as f64 / secs / 1e6
    );
}

const MIXED_XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="Note">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Id" type="xs:string"/>
        <xs:element name="Remark">
          <xs:complexType mixed="true">
            <xs:sequence>
              <xs:element name="Ref" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
            </xs:sequence>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>"#;

fn mixed_mapping(policy: &str, text_mapped: bool) -> Result<Mapping, mappings::Error> {
    let text = if text_mapped {
        "[[fields.fields]]\njson = \"text\"\nxml = \".\"\n"
    } else {
        ""
    };
    let toml = format!(
        "name = \"note\"\nversion = 1\nmessage_type = \"note\"\nschema = \"note.xsd\"\nroot = \"Note\"\nmixed_content = \"{policy}\"\n\
         [[fields]]\njson = \"id\"\nxml = \"Id\"\n\
         [[fields]]\njson = \"remark\"\nxml = \"Remark\"\n{text}[[fields.fields]]\njson = \"refs\"\nxml = \"Ref\"\n"
    );
    let xsd = |f: &str| (f == "note.xsd").then(|| MIXED_XSD.to_owned());
    Mapping::from_toml("note.toml", &toml, &xsd, &BTreeMap::new())
}

#[test]
fn mixed_content_is_refused_or_kept_as_the_mapping_says() {
    let doc = "<Note><Id>N1</Id><Remark>See <Ref>A-1</Ref> and <Ref>B-2</Ref> for details.</Remark></Note>";
    // refuse (the default): text beside child elements is an error at the text.
    let err = mixed_mapping("refuse", false)
        .unwrap()
        .xml_to_json(doc.as_bytes())
        .unwrap_err();
    assert_eq!(err.code(), "mapping.mixed_content");
    assert_eq!(err.path(), Some("/Note/Remark"));
    assert_eq!((err.line(), err.column()), (Some(1), Some(26)));
    // keep: the text pieces are kept together (the children stay children).
    let keep = mixed_mapping("keep", true).unwrap();
    let v = keep.xml_to_json(doc.as_bytes()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"id": "N1", "remark": {"text": "See  and  for details.", "refs": ["A-1", "B-2"]}})
    );
    // And back: the kept text is written before the children.
    let xml = String::from_utf8(keep.json_to_xml(&v).unwrap()).unwrap();
    assert!(
        xml.contains("<Remark>See  and  for details.<Ref>A-1</Ref><Ref>B-2</Ref></Remark>"),
        "{xml}"
    );
    assert_eq!(keep.xml_to_json(xml.as_bytes()).unwrap(), v);
    // keep, with the text not mapped: accepted, the text dropped.
    let v = mixed_mapping("keep", false)
        .unwrap()
        .xml_to_json(doc.as_bytes())
        .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"id": "N1", "remark": {"refs": ["A-1", "B-2"]}})
    );
    // Only where the schema says mixed: text beside <Id> is still refused.
    let err = keep
        .xml_to_json(b"<Note>stray<Id>N1</Id><Remark/></Note>")
        .unwrap_err();
    assert_eq!(err.code(), "mapping.mixed_content");
    assert_eq!(err.path(), Some("/Note"));
    // Mapping the text of a mixed element under `refuse` is a definition error, not a trap.
    let err = mixed_mapping("refuse", true).unwrap_err();
    assert_eq!(err.code(), "mapping.definition_invalid");
    assert!(err.to_string().contains("mixed_content"), "{err}");
}
