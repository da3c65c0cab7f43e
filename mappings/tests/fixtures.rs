//! Fixture-driven tests: for every shipped mapping, `tests/fixtures/<name>/input.xml` must
//! translate to `expected.json`, and `expected.json` must translate to `expected.xml`, which
//! must translate back to `expected.json`. A mapping may have further samples beside the first,
//! `<sample>-input.xml` with `<sample>-expected.json` and `<sample>-expected.xml`, checked the
//! same way. Set `BLESS=1` to (re)write missing expected files after reviewing them by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use mappings::Catalog;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn expected(path: &Path, actual: &[u8]) -> Vec<u8> {
    if std::env::var_os("BLESS").is_some() && !path.exists() {
        std::fs::write(path, actual).unwrap();
    }
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check(name: &str) {
    check_sample(name, "");
}

/// One sample of mapping `name`: `prefix` is empty for the first, `<sample>-` for the others.
fn check_sample(name: &str, prefix: &str) {
    let catalog = Catalog::builtin().unwrap();
    let m = catalog.get(name).unwrap();
    let d = dir(name);
    let input = std::fs::read(d.join(format!("{prefix}input.xml"))).unwrap();

    let json = m
        .xml_to_json(&input)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let pretty = serde_json::to_string_pretty(&json).unwrap() + "\n";
    let want: serde_json::Value = serde_json::from_slice(&expected(
        &d.join(format!("{prefix}expected.json")),
        pretty.as_bytes(),
    ))
    .unwrap();
    assert_eq!(json, want, "{name}: XML → JSON");

    // The streaming API writes the same JSON, in the definition's key order.
    let mut streamed = Vec::new();
    m.xml_to_json_stream(&input[..], &mut streamed).unwrap();
    let streamed: serde_json::Value = serde_json::from_slice(&streamed).unwrap();
    assert_eq!(streamed, want, "{name}: streaming XML → JSON");

    let xml = m
        .json_to_xml(&want)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let want_xml = expected(&d.join(format!("{prefix}expected.xml")), &xml);
    assert_eq!(
        String::from_utf8_lossy(&xml),
        String::from_utf8_lossy(&want_xml),
        "{name}: JSON → XML"
    );

    let back = m
        .xml_to_json(&xml)
        .unwrap_or_else(|e| panic!("{name} (round trip): {e}"));
    assert_eq!(back, want, "{name}: JSON → XML → JSON");
}

#[test]
fn financing_demand_notice() {
    check("financing-demand-notice");
}

/// A bank's answer about demands of the hub's marketplace: without the enterprise, with the
/// status, the loan and the reason (the market's consumer reads these).
#[test]
fn financing_demand_notice_answering_about_hub_demands() {
    check_sample("financing-demand-notice", "answer-");
    let catalog = Catalog::builtin().unwrap();
    let m = catalog.get("financing-demand-notice").unwrap();
    let input = std::fs::read(dir("financing-demand-notice").join("answer-input.xml")).unwrap();
    let v = m.xml_to_json(&input).unwrap();
    let first = &v["demands"][0];
    assert!(first.get("enterprise").is_none(), "{first}");
    assert!(first.get("loan_currency").is_none(), "{first}");
    assert_eq!(
        first["hub_demand_id"],
        "0193a1f2-7c4e-7d2a-9b1e-3f5a6c7d8e90"
    );
    assert_eq!(first["status"], "taken");
    // Money stays exact decimal text; the date is ISO.
    assert_eq!(v["demands"][1]["loan_amount"], "4800000.00");
    assert_eq!(v["demands"][1]["loan_date"], "2026-12-05");
    assert_eq!(v["demands"][2]["reason"], "抵押物评估价值不足");
    // An enterprise, when given, still needs its code and name; a currency other than CNY and
    // an unknown status are refused.
    let text = String::from_utf8(input).unwrap();
    for (bad, code) in [
        (
            text.replace("<USCC>91350802MA00000001</USCC>", ""),
            "mapping.required_missing",
        ),
        (
            text.replace("currency=\"CNY\"", "currency=\"USD\""),
            "mapping.enum_unknown",
        ),
        (
            text.replace("<Status>02</Status>", "<Status>05</Status>"),
            "mapping.enum_unknown",
        ),
        (
            text.replace(
                "<LoanDate>20261205</LoanDate>",
                "<LoanDate>2026-12-05</LoanDate>",
            ),
            "mapping.type_invalid",
        ),
        (
            text.replace(
                "<LoanAmount currency=\"CNY\">4800000.00",
                "<LoanAmount>4800000.001",
            ),
            "mapping.type_invalid",
        ),
    ] {
        let err = m.xml_to_json(bad.as_bytes()).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
    }
}

#[test]
fn receivables_registration_result() {
    check("receivables-registration-result");
}

#[test]
fn credit_code_verification_reply() {
    check("credit-code-verification-reply");
}

#[test]
fn every_shipped_mapping_has_fixtures() {
    let catalog = Catalog::builtin().unwrap();
    assert_eq!(
        catalog.names(),
        vec![
            "credit-code-verification-reply",
            "financing-demand-notice",
            "receivables-registration-result"
        ]
    );
    for name in catalog.names() {
        assert!(dir(name).join("input.xml").exists(), "{name}");
    }
}
