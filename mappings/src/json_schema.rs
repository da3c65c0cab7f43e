//! The JSON side of a mapping as a JSON Schema (draft 2020-12) document, for partners' and
//! internal developers (`hub map --mapping NAME --json-schema`, `GET /api/admin/mappings/{name}/
//! json-schema`) and for validating JSON with standard tools.
//!
//! The document is generated from the compiled mapping, so it says what
//! [`Mapping::validate_json`](crate::Mapping::validate_json) checks: the object shapes with no
//! other properties, required fields (a `null` counts as absent), arrays with their bounds,
//! scalar types, code tables and enumerations, lengths and decimal fraction digits. A few XSD
//! rules have no JSON Schema form and are checked by the engine only: calendar validity of dates
//! (`2023-02-30`), `totalDigits`, and the lexical form of strings whose XSD type is not a string.

use serde_json::{Map, Value, json};

use crate::definition::{Compiled, Entry, Group, Slot, SlotKind};
use crate::value::{Scalar, ScalarType};
use crate::xsd::Builtin;

const DATE: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
const DATETIME: &str =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$";

/// The schema of a mapping's JSON.
pub(crate) fn generate(m: &Compiled, id: &str, title: &str, description: &str) -> Value {
    let mut root = object(&m.groups[0].shape, &m.groups[0]).0;
    let defs: Map<String, Value> = m
        .groups
        .iter()
        .enumerate()
        .skip(1)
        .map(|(gid, g)| (def_name(gid), object(&g.shape, g).0))
        .collect();
    if let Value::Object(o) = &mut root {
        let mut head = Map::new();
        head.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        head.insert("$id".into(), json!(id));
        head.insert("title".into(), json!(title));
        if !description.is_empty() {
            head.insert("description".into(), json!(description));
        }
        head.append(o);
        if !defs.is_empty() {
            head.insert("$defs".into(), Value::Object(defs));
        }
        *o = head;
    }
    root
}

fn def_name(gid: usize) -> String {
    format!("group{gid}")
}

/// An object of `entries`, and whether anything in it is required (then it may not be null).
fn object(entries: &[Entry], g: &Group) -> (Value, bool) {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for e in entries {
        let (key, schema, needed) = match e {
            Entry::Leaf { key, slot, .. } => {
                let s = &g.slots[*slot];
                let needed = s.required && s.default.is_none();
                (key, slot_schema(s), needed)
            }
            Entry::Object { key, entries, .. } => {
                let (inner, needed) = object(entries, g);
                (key, inner, needed)
            }
        };
        if needed {
            required.push(json!(key));
            properties.insert(key.clone(), schema);
        } else {
            properties.insert(key.clone(), nullable(schema));
        }
    }
    let mut o = Map::new();
    o.insert("type".into(), json!("object"));
    o.insert("properties".into(), Value::Object(properties));
    let any_required = !required.is_empty();
    if any_required {
        o.insert("required".into(), Value::Array(required));
    }
    o.insert("additionalProperties".into(), json!(false));
    (Value::Object(o), any_required)
}

/// An optional value may also be `null` (the engine treats it as absent).
fn nullable(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

fn slot_schema(s: &Slot) -> Value {
    let item = match &s.kind {
        SlotKind::Group(gid) => json!({ "$ref": format!("#/$defs/{}", def_name(*gid)) }),
        SlotKind::Scalar(sc) => scalar(sc),
    };
    if !s.array {
        return item;
    }
    let mut a = Map::new();
    a.insert("type".into(), json!("array"));
    a.insert("items".into(), item);
    if s.min > 0 {
        a.insert("minItems".into(), json!(s.min));
    }
    if s.max != u32::MAX {
        a.insert("maxItems".into(), json!(s.max));
    }
    Value::Object(a)
}

fn scalar(sc: &Scalar) -> Value {
    if let Some((_, reverse)) = &sc.codes {
        // A code table: its JSON values, as strings.
        return json!({ "type": "string", "enum": reverse.keys().collect::<Vec<_>>() });
    }
    let xsd = &sc.xsd;
    let mut o = Map::new();
    match sc.ty {
        ScalarType::String => {
            o.insert("type".into(), json!("string"));
            let allowed: Vec<&String> =
                match (sc.enumeration.is_empty(), xsd.enumeration.is_empty()) {
                    (true, true) => Vec::new(),
                    (false, true) => sc.enumeration.iter().collect(),
                    (true, false) => xsd.enumeration.iter().collect(),
                    (false, false) => sc
                        .enumeration
                        .iter()
                        .filter(|e| xsd.enumeration.contains(e))
                        .collect(),
                };
            if !allowed.is_empty() {
                o.insert("enum".into(), json!(allowed));
            }
            if let Some(n) = xsd.min_length {
                o.insert("minLength".into(), json!(n));
            }
            if let Some(n) = xsd.max_length {
                o.insert("maxLength".into(), json!(n));
            }
        }
        ScalarType::Integer => {
            o.insert("type".into(), json!("integer"));
            if let Builtin::Integer { min_zero, min_one } = xsd.base {
                if min_one {
                    o.insert("minimum".into(), json!(1));
                } else if min_zero {
                    o.insert("minimum".into(), json!(0));
                }
            }
        }
        ScalarType::Decimal => {
            let fraction = xsd
                .fraction_digits
                .map_or_else(|| "*".to_owned(), |f| format!("{{0,{f}}}"));
            let fraction_only = xsd
                .fraction_digits
                .map_or_else(|| "+".to_owned(), |f| format!("{{1,{f}}}"));
            return json!({
                "description": "an exact decimal: a string such as \"5000000.00\" (or a JSON integer)",
                "anyOf": [
                    {
                        "type": "string",
                        "pattern": format!("^[+-]?([0-9]+(\\.[0-9]{fraction})?|\\.[0-9]{fraction_only})$"),
                    },
                    { "type": "integer" },
                ],
            });
        }
        ScalarType::Boolean => {
            o.insert("type".into(), json!("boolean"));
        }
        ScalarType::Date => {
            o.insert("type".into(), json!("string"));
            o.insert("format".into(), json!("date"));
            o.insert("pattern".into(), json!(DATE));
        }
        ScalarType::Datetime => {
            o.insert("type".into(), json!("string"));
            if sc.format.is_some() {
                // Converted through the mapping's format: the JSON side is the local ISO form.
                o.insert(
                    "pattern".into(),
                    json!("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"),
                );
            } else {
                o.insert("pattern".into(), json!(DATETIME));
            }
        }
    }
    Value::Object(o)
}
