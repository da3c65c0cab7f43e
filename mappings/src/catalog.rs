//! The set of installed mappings: the shipped ones (embedded in the binary) or a directory.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Error;
use crate::mapping::Mapping;

type Codes = BTreeMap<String, BTreeMap<String, String>>;

/// The shipped definitions, embedded. A test checks this list against `mappings/catalog/`.
pub(crate) const BUILTIN: &[(&str, &str)] = &[
    (
        "credit-code-verification-reply.toml",
        include_str!("../catalog/credit-code-verification-reply.toml"),
    ),
    (
        "financing-demand-notice.toml",
        include_str!("../catalog/financing-demand-notice.toml"),
    ),
    (
        "receivables-registration-result.toml",
        include_str!("../catalog/receivables-registration-result.toml"),
    ),
];

/// Code tables shared by every mapping (`codes.toml`).
pub(crate) const BUILTIN_CODES: &str = include_str!("../catalog/codes.toml");

/// Installed mappings by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    mappings: BTreeMap<String, Mapping>,
}

fn parse_codes(source: &str, text: &str) -> Result<Codes, Error> {
    toml::from_str(text).map_err(|e| crate::definition::toml_error(source, text, e))
}

impl Catalog {
    /// The shipped mappings and schemas, embedded in the binary.
    pub fn builtin() -> Result<Catalog, Error> {
        let codes = parse_codes("codes.toml", BUILTIN_CODES)?;
        let xsd = |file: &str| schemas::xsd(file).map(str::to_owned);
        let mut c = Catalog::default();
        for (file, text) in BUILTIN {
            c.insert(Mapping::from_toml(file, text, &xsd, &codes)?)?;
        }
        Ok(c)
    }

    /// Every `*.toml` in `dir` (with `codes.toml` holding shared code tables); schemas are looked
    /// up in `dir`, then `dir/schemas/`, then among the shipped ones.
    pub fn load_dir(dir: &Path) -> Result<Catalog, Error> {
        let source = dir.display().to_string();
        let io = |e: std::io::Error| Error::definition(&source, e.to_string());
        let codes_path = dir.join("codes.toml");
        let codes = if codes_path.exists() {
            parse_codes(
                "codes.toml",
                &std::fs::read_to_string(&codes_path).map_err(io)?,
            )?
        } else {
            Codes::new()
        };
        let xsd = |file: &str| {
            if file.contains("..") || file.contains('/') || file.contains('\\') {
                return None;
            }
            std::fs::read_to_string(dir.join(file))
                .or_else(|_| std::fs::read_to_string(dir.join("schemas").join(file)))
                .ok()
                .or_else(|| schemas::xsd(file).map(str::to_owned))
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter(|p| p.file_name().is_some_and(|n| n != "codes.toml"))
            .collect();
        files.sort();
        let mut c = Catalog::default();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(io)?;
            let name = path.display().to_string();
            c.insert(Mapping::from_toml(&name, &text, &xsd, &codes)?)?;
        }
        Ok(c)
    }

    /// Adds a mapping; names and message types must be unique.
    pub fn insert(&mut self, m: Mapping) -> Result<(), Error> {
        if self.mappings.contains_key(m.name()) {
            return Err(Error::definition(
                m.name(),
                "a mapping with this name is already installed",
            ));
        }
        if self.for_message_type(m.message_type()).is_some() {
            return Err(Error::definition(
                m.name(),
                format!("message type {} already has a mapping", m.message_type()),
            ));
        }
        self.mappings.insert(m.name().to_owned(), m);
        Ok(())
    }

    /// Installed mapping names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.mappings.keys().map(String::as_str).collect()
    }

    pub fn get(&self, name: &str) -> Option<&Mapping> {
        self.mappings.get(name)
    }

    pub fn for_message_type(&self, message_type: &str) -> Option<&Mapping> {
        self.mappings
            .values()
            .find(|m| m.message_type() == message_type)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Mapping> {
        self.mappings.values()
    }
}
