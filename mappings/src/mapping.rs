//! One loaded mapping: its identity, its compiled tree and the two directions.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::Arc;

use serde_json::Value;

use crate::definition::{self, Compiled, Envelope, MixedContent, RawMapping};
use crate::document::{self, PayloadCodec, PlainPayload};
use crate::error::Error;
use crate::input::Limits;
use crate::to_json::{self, Settings};
use crate::to_xml;

/// A mapping between one partner message type's XML and its JSON, in both directions.
#[derive(Debug, Clone)]
pub struct Mapping {
    name: String,
    version: u32,
    message_type: String,
    description: String,
    schema: String,
    envelope: Envelope,
    mixed: MixedContent,
    xml_prefix: Option<String>,
    message_id: Option<Vec<String>>,
    compiled: Arc<Compiled>,
    limits: Limits,
    codec: Arc<dyn PayloadCodec>,
}

impl Mapping {
    /// Loads a definition. `source_name` names it in errors; `xsd` finds a schema file's text;
    /// `shared_codes` are code tables every mapping may use (its own `[codes]` win).
    /// Errors carry the line and column in `toml_text` of what they are about, and its key
    /// (`fields[2].fields[0]`), or the line and column in the schema of a schema error.
    pub fn from_toml(
        source_name: &str,
        toml_text: &str,
        xsd: &dyn Fn(&str) -> Option<String>,
        shared_codes: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<Mapping, Error> {
        Self::load(source_name, toml_text, xsd, shared_codes)
            .map_err(|e| definition::locate(source_name, toml_text, e))
    }

    fn load(
        source_name: &str,
        toml_text: &str,
        xsd: &dyn Fn(&str) -> Option<String>,
        shared_codes: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<Mapping, Error> {
        let mut raw: RawMapping = toml::from_str(toml_text)
            .map_err(|e| definition::toml_error(source_name, toml_text, e))?;
        for (k, v) in shared_codes {
            raw.codes.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if raw.name.is_empty()
            || !raw
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::definition_key(
                source_name,
                "name",
                "name must be lowercase letters, digits and dashes",
            ));
        }
        if raw.version == 0 {
            return Err(Error::definition_key(
                source_name,
                "version",
                "version starts at 1",
            ));
        }
        let xsd_text = xsd(&raw.schema).ok_or_else(|| {
            Error::definition_key(
                source_name,
                "schema",
                format!("schema {} not found", raw.schema),
            )
        })?;
        let compiled = definition::compile(source_name, &raw, &xsd_text)?;
        let message_id = match &raw.message_id {
            None => None,
            Some(p) => {
                let keys: Vec<String> = p
                    .strip_prefix("$.")
                    .ok_or_else(|| {
                        Error::definition_key(
                            source_name,
                            "message_id",
                            "message_id must be a JSON path $.key",
                        )
                    })?
                    .split('.')
                    .map(str::to_owned)
                    .collect();
                let known = compiled.groups[0]
                    .slots
                    .iter()
                    .any(|s| s.json == keys && !s.array);
                if !known {
                    return Err(Error::definition_key(
                        source_name,
                        "message_id",
                        format!("message_id {p} is not a mapped top-level field"),
                    ));
                }
                Some(keys)
            }
        };
        if raw.envelope == Envelope::Base64Document && compiled.root.name.as_ref() != "DOCUMENT" {
            return Err(Error::definition_key(
                source_name,
                "root",
                "envelope base64-document needs the schema root DOCUMENT",
            ));
        }
        Ok(Mapping {
            name: raw.name,
            version: raw.version,
            message_type: raw.message_type,
            description: raw.description,
            schema: raw.schema,
            envelope: raw.envelope,
            mixed: raw.mixed_content,
            xml_prefix: raw.xml_prefix,
            message_id,
            compiled: Arc::new(compiled),
            limits: Limits::default(),
            codec: Arc::new(PlainPayload),
        })
    }

    /// The same mapping with other input limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same mapping with a codec for Base64 HEAD/BODY payloads (decryption, signatures).
    pub fn with_codec(mut self, codec: Arc<dyn PayloadCodec>) -> Self {
        self.codec = codec;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn version(&self) -> u32 {
        self.version
    }
    pub fn message_type(&self) -> &str {
        &self.message_type
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The schema file the mapping was checked against.
    pub fn schema(&self) -> &str {
        &self.schema
    }
    pub fn envelope(&self) -> Envelope {
        self.envelope
    }
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn settings(&self) -> Settings<'_> {
        Settings {
            limits: &self.limits,
            mixed: self.mixed,
        }
    }

    /// XML → JSON, in memory.
    pub fn xml_to_json(&self, xml: &[u8]) -> Result<Value, Error> {
        let mut out = Vec::with_capacity(xml.len() / 2 + 16);
        self.xml_to_json_stream(xml, &mut out)?;
        serde_json::from_slice(&out).map_err(|e| Error::Io(std::io::Error::other(e)))
    }

    /// XML → JSON, streaming: reads `r` once and writes compact JSON to `w` as it goes; the
    /// repeated records at the top of the message are written one by one.
    pub fn xml_to_json_stream<R: BufRead, W: Write>(&self, r: R, w: W) -> Result<(), Error> {
        if self.envelope == Envelope::Base64Document {
            let bytes = to_json::read_all(r, &self.limits)?;
            let envelope = document::read_envelope(bytes)?;
            let (head, body) = document::open(&envelope, self.codec.as_ref())?;
            let logical = document::splice(envelope, head, body)?;
            return to_json::convert(&self.compiled, &self.settings(), logical.text.as_bytes(), w)
                .map_err(|e| logical.relocate(e));
        }
        to_json::convert(&self.compiled, &self.settings(), r, w)
    }

    /// The JSON side as a JSON Schema (draft 2020-12) document (see `json_schema.rs` for the
    /// few XSD rules it cannot express).
    pub fn json_schema(&self) -> Value {
        crate::json_schema::generate(
            &self.compiled,
            &format!("urn:longyan-hub:mapping:{}:{}", self.name, self.version),
            &format!("{} ({}, v{})", self.message_type, self.name, self.version),
            &self.description,
        )
    }

    /// Checks a JSON value against the mapping (types, required fields, enumerations, unknown
    /// fields); errors carry the JSON path.
    pub fn validate_json(&self, v: &Value) -> Result<(), Error> {
        to_xml::validate(&self.compiled, 0, v, "$")
    }

    /// Parses JSON text and checks it against the mapping, as [`validate_json`]: errors carry
    /// the JSON path and the line and column in `json` (`mapping.json_malformed` when it is not
    /// JSON).
    ///
    /// [`validate_json`]: Mapping::validate_json
    pub fn read_json(&self, json: &[u8]) -> Result<Value, Error> {
        let v = crate::json_text::parse(json)?;
        self.validate_json(&v)
            .map_err(|e| crate::json_text::locate(json, e))?;
        Ok(v)
    }

    /// JSON text → XML, as [`json_to_xml`]; errors carry the JSON path and the line and column
    /// in `json` (`mapping.json_malformed` when it is not JSON).
    ///
    /// [`json_to_xml`]: Mapping::json_to_xml
    pub fn json_text_to_xml(&self, json: &[u8]) -> Result<Vec<u8>, Error> {
        let v = crate::json_text::parse(json)?;
        self.json_to_xml(&v)
            .map_err(|e| crate::json_text::locate(json, e))
    }

    /// JSON → XML: a UTF-8 document with its declaration, in the schema's element order.
    pub fn json_to_xml(&self, v: &Value) -> Result<Vec<u8>, Error> {
        to_xml::Writer {
            m: &self.compiled,
            prefix: self.xml_prefix.as_deref(),
            envelope: self.envelope,
            codec: self.codec.as_ref(),
        }
        .write(v)
    }

    /// The partner's message id, from the path the mapping declares (`message_id = "$.…"`).
    pub fn message_id(&self, v: &Value) -> Option<String> {
        let keys = self.message_id.as_ref()?;
        let mut cur = v;
        for k in keys {
            cur = cur.get(k)?;
        }
        match cur {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}
