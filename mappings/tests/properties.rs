//! Property tests: JSON → XML → JSON is the identity on canonical values, and no byte string
//! makes the engine panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mappings::Catalog;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9&<>\"'龙岩示例 -]{0,12}".prop_map(|s| s.trim().to_owned())
}

fn digits(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, n)
        .prop_map(|d| d.iter().map(|x| char::from(b'0' + x)).collect())
}

fn datetime() -> impl Strategy<Value = String> {
    (
        2000u32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}"))
}

fn opt(m: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), v);
    }
}

fn contact() -> impl Strategy<Value = Value> {
    (
        text(),
        digits(1..=11),
        proptest::option::of(prop::sample::select(vec![
            "resident_id_card",
            "passport",
            "hk_macao_permit",
        ])),
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(name, phone, card, role, primary)| {
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            m.insert("phone".into(), json!(phone));
            opt(&mut m, "card_type", card.map(|c| json!(c)));
            opt(&mut m, "role", role.map(|r| json!(r)));
            opt(&mut m, "primary", primary.map(|p| json!(p)));
            Value::Object(m)
        })
}

fn demand() -> impl Strategy<Value = Value> {
    (
        digits(1..=8),
        (
            digits(18..=18),
            text().prop_filter("non-empty", |s| !s.is_empty()),
            proptest::option::of(digits(6..=6)),
        ),
        (
            digits(1..=16),
            digits(0..=2),
            prop::sample::select(vec!["CNY", "USD"]),
        ),
        1u32..600,
        prop::sample::select(vec!["credit", "guarantee", "mortgage", "pledge"]),
        proptest::option::of((2000u32..2100, 1u32..13, 1u32..29)),
        any::<bool>(),
        proptest::collection::vec(contact(), 0..3),
        proptest::collection::vec(
            (text(), 0u64..u64::MAX, proptest::option::of(datetime())),
            0..3,
        ),
    )
        .prop_map(
            |(
                no,
                (uscc, name, region),
                (int, frac, cur),
                term,
                gm,
                date,
                urgent,
                contacts,
                atts,
            )| {
                let amount = if frac.is_empty() {
                    int
                } else {
                    format!("{int}.{frac}")
                };
                let mut e = Map::new();
                e.insert("uscc".into(), json!(uscc));
                e.insert("name".into(), json!(name));
                opt(&mut e, "region_code", region.map(|r| json!(r)));
                let mut m = Map::new();
                m.insert("demand_no".into(), json!(no));
                m.insert("enterprise".into(), Value::Object(e));
                m.insert("amount".into(), json!(amount));
                m.insert("currency".into(), json!(cur));
                m.insert("term_months".into(), json!(term));
                m.insert("guarantee_method".into(), json!(gm));
                opt(
                    &mut m,
                    "expected_date",
                    date.map(|(y, mo, d)| json!(format!("{y:04}-{mo:02}-{d:02}"))),
                );
                m.insert("urgent".into(), json!(urgent));
                m.insert("contacts".into(), Value::Array(contacts));
                let atts = atts
                    .into_iter()
                    .map(|(f, size, at)| {
                        let mut a = Map::new();
                        a.insert("file_name".into(), json!(f));
                        a.insert("file_type".into(), json!("application/pdf"));
                        a.insert("size_bytes".into(), json!(size));
                        opt(&mut a, "uploaded_at", at.map(|t| json!(t)));
                        Value::Object(a)
                    })
                    .collect();
                m.insert("attachments".into(), Value::Array(atts));
                Value::Object(m)
            },
        )
}

fn notice() -> impl Strategy<Value = Value> {
    (
        "[A-Z0-9]{1,20}",
        datetime(),
        digits(1..=6),
        proptest::option::of(text()),
        proptest::collection::vec(demand(), 1..4),
    )
        .prop_map(|(id, at, code, bank, demands)| {
            let mut b = Map::new();
            b.insert("code".into(), json!(code));
            opt(&mut b, "name", bank.map(|n| json!(n)));
            json!({
                "schema_version": "1.0",
                "message_id": id,
                "sent_at": at,
                "bank": Value::Object(b),
                "demands": demands,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn json_to_xml_to_json_is_the_identity(v in notice()) {
        let c = Catalog::builtin().unwrap();
        let m = c.get("financing-demand-notice").unwrap();
        let xml = m.json_to_xml(&v).unwrap();
        let back = m.xml_to_json(&xml).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let c = Catalog::builtin().unwrap();
        for m in c.iter() {
            let _ = m.xml_to_json(&bytes);
        }
    }

    #[test]
    fn mutated_documents_never_panic(cut in 0usize..2000, byte in any::<u8>()) {
        let c = Catalog::builtin().unwrap();
        for name in c.names() {
            let path = format!("{}/tests/fixtures/{name}/input.xml", env!("CARGO_MANIFEST_DIR"));
            let mut doc = std::fs::read(path).unwrap();
            if !doc.is_empty() {
                let i = cut % doc.len();
                doc[i] = byte;
            }
            let _ = c.get(name).unwrap().xml_to_json(&doc);
            let _ = c.get(name).unwrap().xml_to_json(&doc[..cut.min(doc.len())]);
        }
    }
}
