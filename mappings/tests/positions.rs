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
