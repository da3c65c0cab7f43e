//! The XML⇄JSON mapping engine.
//!
//! Mapping definitions are data (`mappings/catalog/*.toml`, embedded in the binary): one
//! declarative definition per message type gives both directions, checked against the message's
//! XSD (`schemas/xsd/`) when loaded. XML → JSON streams (constant memory however many records a
//! document holds) and validates as it goes; JSON → XML validates the value first. Input is
//! treated as hostile: no DTDs, no entities beyond the predefined ones, limits on size, depth,
//! attributes, names and text. The engine never touches the network, the store or the clock.
//! See `mappings/README.md` for the definition format and the XSD subset.

mod catalog;
mod definition;
mod document;
mod error;
mod input;
mod json;
mod json_schema;
mod json_text;
mod mapping;
mod to_json;
mod to_xml;
mod tokenizer;
mod value;
mod xsd;

pub use catalog::Catalog;
pub use definition::Envelope;
pub use document::{PayloadCodec, PlainPayload, Unwrapped, unwrap_document};
pub use error::{Error, ErrorKind, Location, Part};
pub use input::Limits;
pub use mapping::Mapping;

#[cfg(test)]
mod tests {
    #[test]
    fn every_catalog_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml") && n != "codes.toml")
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = crate::catalog::BUILTIN.iter().map(|(f, _)| *f).collect();
        assert_eq!(on_disk, embedded);
    }
}
