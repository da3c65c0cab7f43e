//! Message schemas (XSD) and the wire types that cross crate boundaries.
//!
//! This crate is data at the bottom of the dependency graph: it holds the schema catalogue that
//! partner messages are validated against. The XSD files live in `schemas/xsd/` and are embedded
//! in the binary, so a deployed hub needs no schema directory. It performs no I/O, parses
//! nothing (the `mappings` crate reads the XSD subset it supports) and knows nothing about HTTP
//! or storage.

/// One embedded schema document: its file name and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xsd {
    /// The file name under `schemas/xsd/`, e.g. `financing-demand-notice.xsd`.
    pub file: &'static str,
    /// The schema text (UTF-8).
    pub text: &'static str,
}

/// Every shipped schema, sorted by file name.
pub const BUILTIN: &[Xsd] = &[
    Xsd {
        file: "credit-code-verification-reply.xsd",
        text: include_str!("../xsd/credit-code-verification-reply.xsd"),
    },
    Xsd {
        file: "financing-demand-notice.xsd",
        text: include_str!("../xsd/financing-demand-notice.xsd"),
    },
    Xsd {
        file: "receivables-registration-result.xsd",
        text: include_str!("../xsd/receivables-registration-result.xsd"),
    },
];

/// The embedded schema with this file name.
pub fn xsd(file: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|x| x.file == file).map(|x| x.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema file added to `schemas/xsd/` without an entry in `BUILTIN` would silently be
    /// missing from the binary.
    #[test]
    fn every_file_in_the_directory_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("xsd");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".xsd"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = BUILTIN.iter().map(|x| x.file).collect();
        assert_eq!(on_disk, embedded);
        assert!(xsd("financing-demand-notice.xsd").is_some());
        assert!(xsd("nope.xsd").is_none());
    }

    #[test]
    fn schemas_are_xsd_documents() {
        for x in BUILTIN {
            assert!(
                x.text.contains("http://www.w3.org/2001/XMLSchema"),
                "{}",
                x.file
            );
        }
    }
}
