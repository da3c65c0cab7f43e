//! The JSON Schema documents generated from the mappings say what the engine checks: for every
//! shipped mapping, the sample is valid, and for hundreds of variants of it (each field removed,
//! nulled, given a value of another type or an out-of-range one, an unknown property added) a
//! standard JSON Schema validator and `Mapping::validate_json` agree — except where the module
//! documentation says the schema cannot express a rule, and never in the direction of the schema
//! refusing what the engine accepts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mappings::Catalog;
use serde_json::{Value, json};

/// Every variant of `v`: each value replaced by the candidates of `wrong`, each key removed or
/// nulled, an unknown key added to each object.
fn variants(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), v, &mut out);
    out
}

#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn at<'v>(root: &'v mut Value, path: &[Step]) -> &'v mut Value {
    path.iter().fold(root, |cur, s| match s {
        Step::Key(k) => &mut cur[k.as_str()],
        Step::Index(i) => &mut cur[*i],
    })
}

fn wrong(v: &Value) -> Vec<Value> {
    let mut c = vec![
        json!(null),
        json!(true),
        json!(7),
        json!(-1),
        json!(2.5),
        json!("x"),
        json!(""),
        json!([]),
        json!({}),
    ];
    if let Value::String(s) = v {
        c.push(json!(format!(
            "{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}"
        )));
        c.push(json!("2023-02-30"));
        c.push(json!("12.345"));
        c.push(json!("-0001"));
    }
    if let Value::Array(a) = v {
        let first = a.first().cloned().unwrap_or(Value::Null);
        c.push(Value::Array(vec![first; 3]));
    }
    c
}

fn walk(root: &Value, path: &mut Vec<Step>, v: &Value, out: &mut Vec<Value>) {
    if !path.is_empty() {
        for w in wrong(v) {
            let mut copy = root.clone();
            *at(&mut copy, path) = w;
            out.push(copy);
        }
    }
    match v {
        Value::Object(map) => {
            let mut copy = root.clone();
            at(&mut copy, path)
                .as_object_mut()
                .unwrap()
                .insert("unknown_field".into(), json!(1));
            out.push(copy);
            for (k, child) in map {
                let mut copy = root.clone();
                at(&mut copy, path).as_object_mut().unwrap().remove(k);
                out.push(copy);
                path.push(Step::Key(k.clone()));
                walk(root, path, child, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                walk(root, path, child, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[test]
fn generated_schemas_agree_with_the_engine() {
    let catalog = Catalog::builtin().unwrap();
    let mut compared = 0;
    for m in catalog.iter() {
        let schema = m.json_schema();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let validator = jsonschema::draft202012::new(&schema).unwrap_or_else(|e| {
            panic!("{}: the schema does not compile: {e}\n{schema:#}", m.name())
        });
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(m.name());
        // The first sample and any further ones (`<sample>-expected.json`).
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with("expected.json"))
            })
            .collect();
        files.sort();
        for file in files {
            let sample: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            assert!(m.validate_json(&sample).is_ok(), "{}", file.display());
            assert!(
                validator.is_valid(&sample),
                "{}: the sample is refused",
                m.name()
            );
            let mut engine_only = Vec::new();
            for v in variants(&sample) {
                let engine = m.validate_json(&v);
                let schema_ok = validator.is_valid(&v);
                compared += 1;
                match (engine, schema_ok) {
                    (Ok(()), false) => panic!(
                        "{}: the schema refuses what the engine accepts: {:?}\n{v}",
                        m.name(),
                        validator
                            .iter_errors(&v)
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                    ),
                    (Err(e), true) => engine_only.push((e.code(), e.to_string())),
                    _ => {}
                }
            }
            // What only the engine refuses must be one of the documented inexpressible rules.
            for (code, detail) in &engine_only {
                let documented = detail.contains("2023-02-30")
                    || detail.contains("total digits")
                    || detail.contains("totalDigits");
                assert!(
                    documented,
                    "{}: only the engine refuses ({code}): {detail}",
                    m.name()
                );
            }
        }
    }
    assert!(compared > 500, "only {compared} variants");
}
