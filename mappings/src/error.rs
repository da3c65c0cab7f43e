//! The engine's errors: one variant per domain failure, each with a stable `code()`.

use std::fmt;

/// Where an invalid-input error was found.
///
/// `line` and `column` are 1-based; the column counts bytes of the UTF-8 text (a GBK document's
/// after transcoding; a byte-order mark does not count) from the start of the line.
///
/// - XML: `path` is an element path such as `/Notice/Contacts/Contact[2]/Phone` (errors in a
///   SOAP envelope's own elements: `/Envelope/Body`). In a Base64 `DOCUMENT`, an error inside
///   the decoded HEAD or BODY document has `block` set: `line` and `column` count in that
///   decoded document, and `path` starts with the block (`/DOCUMENT/BODY/Body/Status`);
///   otherwise they count in the `DOCUMENT` as received.
/// - JSON: `path` is a JSON path such as `$.contacts[1].phone`; `line` and `column` are those
///   of the JSON text when the engine was given the text ([`Mapping::read_json`],
///   [`Mapping::json_text_to_xml`]) and absent when it was given a parsed value.
/// - Definitions: `line` and `column` are those of the TOML definition (or of the XSD, for a
///   schema error) named by the error, `path` the definition's key, e.g. `fields[2].fields[0]`.
///
/// [`Mapping::read_json`]: crate::Mapping::read_json
/// [`Mapping::json_text_to_xml`]: crate::Mapping::json_text_to_xml
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// 1-based line, when the input is a text document.
    pub line: Option<u64>,
    /// 1-based column (bytes), when the input is a text document.
    pub column: Option<u64>,
    /// Element, JSON or definition key path; empty when the failure precedes the first element.
    pub path: String,
    /// The Base64 block of a wrapped `DOCUMENT` whose decoded document `line` and `column`
    /// count in; `None`: they count in the document as received.
    pub block: Option<Part>,
}

impl Location {
    pub(crate) fn json(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            ..Location::default()
        }
    }

    /// A position in a text document.
    pub(crate) fn at((line, column): (u64, u64), path: impl Into<String>) -> Self {
        Location {
            line: Some(line),
            column: Some(column),
            path: path.into(),
            block: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, " (line {l}, column {c}")?;
            if let Some(b) = self.block {
                write!(f, " of the decoded {}", b.name())?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Which block of a wrapped `DOCUMENT` a payload is: what a [`crate::PayloadCodec`] opens or
/// seals, and where a [`Location`] counts. It lives here, beside `Location`, so that the errors
/// need nothing of the document module that reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Head,
    Body,
}

impl Part {
    /// The element's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Part::Head => "HEAD",
            Part::Body => "BODY",
        }
    }
}

/// How the caller should treat an error, without any HTTP in sight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The document, the JSON value or the definition being loaded is wrong: the caller's fault.
    Invalid,
    /// Reading or writing failed, or the engine is broken: not the caller's fault.
    Internal,
}

/// Everything that can go wrong while loading a mapping or translating a document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The XML is not well formed.
    #[error("malformed XML: {detail}{at}")]
    XmlMalformed { at: Location, detail: String },
    /// The document carries a document type declaration; DTDs are never processed.
    #[error("document type declarations (<!DOCTYPE>) are not accepted{at}")]
    DtdForbidden { at: Location },
    /// A reference to an entity other than the five predefined ones or a character reference.
    #[error(
        "entity reference &{name}; is not accepted (only the predefined entities and character references are){at}"
    )]
    EntityForbidden { at: Location, name: String },
    /// A hostile-input limit was reached.
    #[error("limit exceeded: {limit} is at most {max}{at}")]
    LimitExceeded {
        at: Location,
        limit: &'static str,
        max: u64,
    },
    /// The declared encoding is not one the engine reads.
    #[error("unsupported encoding {encoding:?} (UTF-8, GBK and GB18030 are supported){at}")]
    EncodingUnsupported { at: Location, encoding: String },
    /// The bytes are not valid in the declared encoding.
    #[error("the document is not valid {encoding}{at}")]
    EncodingInvalid { at: Location, encoding: String },
    /// The document does not follow its schema (unexpected element or attribute, order, count).
    #[error("schema violation: {detail}{at}")]
    SchemaInvalid { at: Location, detail: String },
    /// A required element, attribute or JSON field is absent.
    #[error("required {detail} is missing{at}")]
    RequiredMissing { at: Location, detail: String },
    /// A value is not of its declared type (integer, decimal, boolean, date, length …).
    #[error("invalid value: {detail}{at}")]
    TypeInvalid { at: Location, detail: String },
    /// A value outside its enumeration or code table.
    #[error("value {value:?} is not one of the allowed values{at}")]
    EnumUnknown { at: Location, value: String },
    /// Text mixed with child elements where the mapping or the schema refuses it.
    #[error("mixed content (text beside child elements) is not accepted here{at}")]
    MixedContent { at: Location },
    /// A JSON field that the mapping does not know.
    #[error("unknown field{at}")]
    Unknown { at: Location },
    /// JSON text given to the engine is not JSON.
    #[error("malformed JSON: {detail}{at}")]
    JsonMalformed { at: Location, detail: String },
    /// The SOAP body carried a fault instead of the message.
    #[error("SOAP fault {code}: {message}{at}")]
    SoapFault {
        at: Location,
        code: String,
        message: String,
    },
    /// A Base64 HEAD/BODY block could not be decoded, decrypted or verified.
    #[error("payload block {part} is invalid: {detail}")]
    PayloadInvalid { part: &'static str, detail: String },
    /// A Base64-wrapped document's signature (SIGN) is missing, malformed or does not verify.
    #[error("the document's signature is invalid: {detail}")]
    SignatureInvalid { detail: String },
    /// A mapping definition or its schema is wrong or inconsistent; refused when loaded. The
    /// location is in the file `source_name`.
    #[error("mapping definition {source_name} is invalid: {detail}{at}")]
    DefinitionInvalid {
        at: Location,
        source_name: String,
        detail: String,
    },
    /// Reading the input or writing the output failed.
    #[error("I/O failure while translating")]
    Io(#[source] std::io::Error),
    /// An error that carries no position of its own (a [`PayloadCodec`]'s, a signature's, a
    /// Base64 block's), with the position in the document it came from. [`code`](Error::code)
    /// and [`kind`](Error::kind) are those of `error`; [`bare`](Error::bare) gives it back.
    ///
    /// [`PayloadCodec`]: crate::PayloadCodec
    #[error("{error}{at}")]
    Located { at: Location, error: Box<Error> },
}

impl Error {
    /// The stable public code of this error (`mapping.…`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::XmlMalformed { .. } => "mapping.xml_malformed",
            Error::DtdForbidden { .. } => "mapping.dtd_forbidden",
            Error::EntityForbidden { .. } => "mapping.entity_forbidden",
            Error::LimitExceeded { .. } => "mapping.limit_exceeded",
            Error::EncodingUnsupported { .. } => "mapping.encoding_unsupported",
            Error::EncodingInvalid { .. } => "mapping.encoding_invalid",
            Error::SchemaInvalid { .. } => "mapping.schema_invalid",
            Error::RequiredMissing { .. } => "mapping.required_missing",
            Error::TypeInvalid { .. } => "mapping.type_invalid",
            Error::EnumUnknown { .. } => "mapping.enum_unknown",
            Error::MixedContent { .. } => "mapping.mixed_content",
            Error::Unknown { .. } => "mapping.unknown",
            Error::JsonMalformed { .. } => "mapping.json_malformed",
            Error::SoapFault { .. } => "mapping.soap_fault",
            Error::PayloadInvalid { .. } => "mapping.payload_invalid",
            Error::SignatureInvalid { .. } => "mapping.signature_invalid",
            Error::DefinitionInvalid { .. } => "mapping.definition_invalid",
            Error::Io(_) => "mapping.io",
            Error::Located { error, .. } => error.code(),
        }
    }

    /// Whose fault it is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io(_) => ErrorKind::Internal,
            Error::Located { error, .. } => error.kind(),
            _ => ErrorKind::Invalid,
        }
    }

    /// The location of an invalid-input error.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::XmlMalformed { at, .. }
            | Error::DtdForbidden { at }
            | Error::EntityForbidden { at, .. }
            | Error::LimitExceeded { at, .. }
            | Error::EncodingUnsupported { at, .. }
            | Error::EncodingInvalid { at, .. }
            | Error::SchemaInvalid { at, .. }
            | Error::RequiredMissing { at, .. }
            | Error::TypeInvalid { at, .. }
            | Error::EnumUnknown { at, .. }
            | Error::MixedContent { at }
            | Error::Unknown { at }
            | Error::JsonMalformed { at, .. }
            | Error::SoapFault { at, .. }
            | Error::DefinitionInvalid { at, .. }
            | Error::Located { at, .. } => Some(at),
            Error::PayloadInvalid { .. } | Error::SignatureInvalid { .. } | Error::Io(_) => None,
        }
    }

    pub(crate) fn location_mut(&mut self) -> Option<&mut Location> {
        match self {
            Error::XmlMalformed { at, .. }
            | Error::DtdForbidden { at }
            | Error::EntityForbidden { at, .. }
            | Error::LimitExceeded { at, .. }
            | Error::EncodingUnsupported { at, .. }
            | Error::EncodingInvalid { at, .. }
            | Error::SchemaInvalid { at, .. }
            | Error::RequiredMissing { at, .. }
            | Error::TypeInvalid { at, .. }
            | Error::EnumUnknown { at, .. }
            | Error::MixedContent { at }
            | Error::Unknown { at }
            | Error::JsonMalformed { at, .. }
            | Error::SoapFault { at, .. }
            | Error::DefinitionInvalid { at, .. }
            | Error::Located { at, .. } => Some(at),
            Error::PayloadInvalid { .. } | Error::SignatureInvalid { .. } | Error::Io(_) => None,
        }
    }

    /// The error itself, without the position the engine added ([`Error::Located`]): what a
    /// [`PayloadCodec`](crate::PayloadCodec) returned, for matching on its variant.
    pub fn bare(&self) -> &Error {
        match self {
            Error::Located { error, .. } => error.bare(),
            other => other,
        }
    }

    /// Gives the error the position `at` when it has none: an empty location is replaced, an
    /// error without a location field is wrapped in [`Error::Located`]. An error that has a
    /// line already, and a failure to read or write, are returned as they are.
    pub(crate) fn or_at(mut self, at: Location) -> Error {
        if matches!(self, Error::Io(_)) {
            return self;
        }
        match self.location_mut() {
            Some(l) if l.line.is_some() => {}
            Some(l) => {
                let path = std::mem::take(&mut l.path);
                *l = at;
                if l.path.is_empty() {
                    l.path = path;
                }
            }
            None => {
                return Error::Located {
                    at,
                    error: Box::new(self),
                };
            }
        }
        self
    }

    /// 1-based line of the offending XML, if known.
    pub fn line(&self) -> Option<u64> {
        self.location().and_then(|l| l.line)
    }

    /// 1-based column (bytes) of the offending XML, if known.
    pub fn column(&self) -> Option<u64> {
        self.location().and_then(|l| l.column)
    }

    /// The element path (XML) or JSON path of the offending item, if known.
    pub fn path(&self) -> Option<&str> {
        self.location()
            .map(|l| l.path.as_str())
            .filter(|p| !p.is_empty())
    }

    /// A definition error about the entry at TOML key `key` (`version`, `fields[2]`); its line
    /// and column are found when the definition's loading ends ([`crate::definition::locate`]).
    pub(crate) fn definition_key(source_name: &str, key: &str, detail: impl Into<String>) -> Self {
        Error::DefinitionInvalid {
            at: Location {
                path: key.to_owned(),
                ..Location::default()
            },
            source_name: source_name.to_owned(),
            detail: detail.into(),
        }
    }

    /// A definition error about the entry at TOML key `key`, unless it names one already.
    pub(crate) fn at_definition_key(mut self, key: &str) -> Self {
        if let Error::DefinitionInvalid { at, .. } = &mut self
            && at.path.is_empty()
            && at.line.is_none()
        {
            at.path = key.to_owned();
        }
        self
    }

    pub(crate) fn definition(source_name: &str, detail: impl Into<String>) -> Self {
        Error::DefinitionInvalid {
            at: Location::default(),
            source_name: source_name.to_owned(),
            detail: detail.into(),
        }
    }
}
