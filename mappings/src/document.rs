//! The receivables platform's wrapped document:
//! `<DOCUMENT><TITLE>…</TITLE><HEAD>base64</HEAD><BODY>base64</BODY></DOCUMENT>`.
//!
//! HEAD and BODY each hold a complete XML document, Base64-encoded and possibly encrypted
//! (SM4). Decryption and verification are a [`PayloadCodec`]: the engine decodes the Base64 and
//! hands the bytes to the codec, which returns the plain document.
//!
//! A signed document carries `<SIGN>base64</SIGN>` after BODY: a signature over what travelled
//! — HEAD's Base64 text and BODY's (whitespace removed) and the TITLE element as carried, joined
//! by line feeds ([`signed_text`]) — checked before anything is decrypted or parsed. TITLE is
//! covered because it carries the message number, sender and receiver: without it a relayed
//! document could be re-addressed or replayed under a new number. The codec decides whether a signature is required and how it
//! is made (SM2 with SM3, HMAC).

use base64::Engine as _;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::error::{Error, Location};
use crate::input::{self, Charset};

/// Which block of the document a payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Head,
    Body,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Head => "HEAD",
            Part::Body => "BODY",
        }
    }
}

/// Opens (decrypts, verifies) and seals (encrypts, signs) HEAD/BODY payloads.
pub trait PayloadCodec: Send + Sync + std::fmt::Debug {
    /// Bytes after Base64 decoding → the plain XML document.
    fn open(&self, part: Part, sealed: Vec<u8>) -> Result<Vec<u8>, Error>;
    /// The plain XML document → bytes to Base64-encode.
    fn seal(&self, part: Part, plain: Vec<u8>) -> Result<Vec<u8>, Error>;
    /// Checks the document's signature (the decoded SIGN element, if any) over `signed`
    /// ([`signed_text`]), before anything is opened. By default none is required.
    fn verify(&self, signed: &[u8], signature: Option<&[u8]>) -> Result<(), Error> {
        let _ = (signed, signature);
        Ok(())
    }
    /// The signature of an outgoing document over `signed` ([`signed_text`]): the SIGN
    /// element's content before Base64. By default none (no SIGN element).
    fn sign(&self, signed: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let _ = signed;
        Ok(None)
    }
}

/// What a document's signature covers: HEAD's Base64 text and BODY's (whitespace removed), and
/// the TITLE element exactly as carried (from `<TITLE` to its end tag, UTF-8; empty when there
/// is none), joined by line feeds.
pub fn signed_text(head_b64: &str, body_b64: &str, title: &str) -> Vec<u8> {
    let compact = |s: &str| {
        s.bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect::<Vec<u8>>()
    };
    let mut out = compact(head_b64);
    out.push(b'\n');
    out.extend(compact(body_b64));
    out.push(b'\n');
    out.extend_from_slice(title.as_bytes());
    out
}

/// The signature element's name.
pub(crate) const SIGN: &str = "SIGN";

/// Payloads that are only Base64-encoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainPayload;

impl PayloadCodec for PlainPayload {
    fn open(&self, _: Part, sealed: Vec<u8>) -> Result<Vec<u8>, Error> {
        Ok(sealed)
    }
    fn seal(&self, _: Part, plain: Vec<u8>) -> Result<Vec<u8>, Error> {
        Ok(plain)
    }
}

/// A wrapped document taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// The TITLE element as written (UTF-8 XML text).
    pub title: String,
    /// The HEAD document, opened by the codec (its own bytes and encoding).
    pub head: Vec<u8>,
    /// The BODY document, opened by the codec.
    pub body: Vec<u8>,
}

pub(crate) fn to_utf8(bytes: &[u8]) -> Result<String, Error> {
    let (charset, skip) = input::sniff(bytes)?;
    let bytes = &bytes[skip..];
    let text = match charset {
        Charset::Utf8 => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| ()),
        Charset::Gb18030 => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|c| c.into_owned())
            .ok_or(()),
    };
    text.map_err(|()| Error::EncodingInvalid {
        at: Location::default(),
        encoding: charset.name().to_owned(),
    })
}

fn strip_decl(s: &str) -> &str {
    let t = s.trim_start();
    if t.starts_with("<?xml")
        && let Some(end) = t.find("?>")
    {
        return &t[end + 2..];
    }
    t
}

/// Takes a wrapped document apart, decoding HEAD and BODY through `codec`.
pub fn unwrap_document(xml: &[u8], codec: &dyn PayloadCodec) -> Result<Unwrapped, Error> {
    let text = to_utf8(xml)?;
    let body = strip_decl(&text);
    let mut reader = Reader::from_str(body);
    let mut title = String::new();
    let mut head_b64 = String::new();
    let mut body_b64 = String::new();
    let mut sign_b64: Option<String> = None;
    let mut depth = 0usize;
    let mut current: Option<Part> = None;
    let mut in_sign = false;
    let malformed = |detail: String| Error::XmlMalformed {
        at: Location::default(),
        detail,
    };
    loop {
        let start = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| malformed(e.to_string()))?;
        match ev {
            Event::DocType(_) => {
                return Err(Error::DtdForbidden {
                    at: Location::default(),
                });
            }
            Event::Start(e) => {
                depth += 1;
                let name = e.local_name();
                match (depth, name.as_ref()) {
                    (1, "DOCUMENT") => {}
                    (1, other) => {
                        return Err(Error::SchemaInvalid {
                            at: Location::default(),
                            detail: format!("expected a DOCUMENT element, found {}", other),
                        });
                    }
                    (2, "TITLE") => {
                        let end = e.to_end().into_owned();
                        reader
                            .read_to_end(end.name())
                            .map_err(|e| malformed(e.to_string()))?;
                        let stop = reader.buffer_position() as usize;
                        title = body[start..stop].to_owned();
                        depth -= 1;
                    }
                    (2, "HEAD") => current = Some(Part::Head),
                    (2, "BODY") => current = Some(Part::Body),
                    (2, SIGN) => {
                        in_sign = true;
                        sign_b64.get_or_insert_with(String::new);
                    }
                    _ => {
                        return Err(Error::SchemaInvalid {
                            at: Location::default(),
                            detail: "HEAD and BODY must hold Base64 text only".into(),
                        });
                    }
                }
            }
            Event::Empty(e) if depth == 1 && e.local_name().as_ref() == "TITLE" => {
                let stop = reader.buffer_position() as usize;
                title = body[start..stop].to_owned();
            }
            Event::Text(t) => match current {
                Some(Part::Head) => head_b64.push_str(&t),
                Some(Part::Body) => body_b64.push_str(&t),
                None if in_sign => sign_b64.get_or_insert_with(String::new).push_str(&t),
                None => {}
            },
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                current = None;
                in_sign = false;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let signature = match &sign_b64 {
        None => None,
        Some(b64) => {
            let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            Some(
                base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|e| Error::SignatureInvalid {
                        detail: format!("SIGN is not Base64: {e}"),
                    })?,
            )
        }
    };
    codec.verify(
        &signed_text(&head_b64, &body_b64, &title),
        signature.as_deref(),
    )?;
    let open = |part: Part, b64: &str| -> Result<Vec<u8>, Error> {
        let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if compact.is_empty() {
            return Err(Error::RequiredMissing {
                at: Location {
                    path: format!("/DOCUMENT/{}", part.name()),
                    ..Location::default()
                },
                detail: format!("block {}", part.name()),
            });
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| Error::PayloadInvalid {
                part: part.name(),
                detail: format!("not Base64: {e}"),
            })?;
        codec.open(part, raw)
    };
    Ok(Unwrapped {
        title,
        head: open(Part::Head, &head_b64)?,
        body: open(Part::Body, &body_b64)?,
    })
}

/// The logical document the mapping's schema describes: HEAD and BODY hold their decoded
/// documents' elements instead of Base64 text.
pub(crate) fn splice(u: &Unwrapped) -> Result<String, Error> {
    let head = to_utf8(&u.head)?;
    let body = to_utf8(&u.body)?;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DOCUMENT>{}<HEAD>{}</HEAD><BODY>{}</BODY></DOCUMENT>\n",
        u.title,
        strip_decl(&head),
        strip_decl(&body)
    ))
}
