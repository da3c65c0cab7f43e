//! Fixture-driven tests: for every shipped mapping, `tests/fixtures/<name>/input.xml` must
//! translate to `expected.json`, and `expected.json` must translate to `expected.xml`, which
//! must translate back to `expected.json`. Set `BLESS=1` to (re)write missing expected files
//! after reviewing them by hand.

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
    let catalog = Catalog::builtin().unwrap();
    let m = catalog.get(name).unwrap();
    let d = dir(name);
    let input = std::fs::read(d.join("input.xml")).unwrap();

    let json = m
        .xml_to_json(&input)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let pretty = serde_json::to_string_pretty(&json).unwrap() + "\n";
    let want: serde_json::Value =
        serde_json::from_slice(&expected(&d.join("expected.json"), pretty.as_bytes())).unwrap();
    assert_eq!(json, want, "{name}: XML → JSON");

    // The streaming API writes the same JSON, in the definition's key order.
    let mut streamed = Vec::new();
    m.xml_to_json_stream(&input[..], &mut streamed).unwrap();
    let streamed: serde_json::Value = serde_json::from_slice(&streamed).unwrap();
    assert_eq!(streamed, want, "{name}: streaming XML → JSON");

    let xml = m
        .json_to_xml(&want)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let want_xml = expected(&d.join("expected.xml"), &xml);
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
