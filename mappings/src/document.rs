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
//!
//! Errors say where: in the envelope (malformed XML, a missing or repeated element, bad Base64,
//! a codec's failure: at the element concerned), or inside a decoded block, where the line and
//! column count in the decoded HEAD or BODY document ([`Location::block`]) and the element path
//! starts with the block (`/DOCUMENT/BODY/Body/Status`). Positions are worked out only when an
//! error is reported.

use base64::Engine as _;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::error::{Error, Location, Part};
use crate::input::{self, Charset};

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

/// A document's text as UTF-8 (without its byte-order mark, which does not count in columns,
/// as in every document the engine reads).
pub(crate) struct Text {
    pub text: String,
}

impl Text {
    /// The (line, column) of byte offset `at` of the text.
    #[cold]
    fn pos(&self, at: usize) -> (u64, u64) {
        input::line_col(self.text.as_bytes(), at)
    }
}

/// Decodes a whole document by its declaration (UTF-8 or GB18030). An invalid byte is reported
/// where it is.
pub(crate) fn to_utf8(bytes: Vec<u8>) -> Result<Text, Error> {
    let (charset, bom) = input::sniff(&bytes)?;
    match charset {
        Charset::Utf8 => {
            let mut bytes = bytes;
            bytes.drain(..bom);
            String::from_utf8(bytes)
                .map(|text| Text { text })
                .map_err(|e| {
                    let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                    Error::EncodingInvalid {
                        at: Location::at(input::line_col(good, good.len()), ""),
                        encoding: charset.name().to_owned(),
                    }
                })
        }
        Charset::Gb18030 => {
            match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(&bytes) {
                Some(text) => Ok(Text {
                    text: text.into_owned(),
                }),
                None => Err(Error::EncodingInvalid {
                    at: Location::at(gb18030_failure(&bytes), ""),
                    encoding: charset.name().to_owned(),
                }),
            }
        }
    }
}

/// Where GB18030 decoding fails: the (line, column) in the text decoded before the bad bytes.
#[cold]
fn gb18030_failure(bytes: &[u8]) -> (u64, u64) {
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 2 + 16);
    let mut read = 0;
    loop {
        let (result, n) =
            decoder.decode_to_string_without_replacement(&bytes[read..], &mut out, true);
        read += n;
        match result {
            encoding_rs::DecoderResult::OutputFull => out.reserve(bytes.len() - read + 16),
            _ => return input::line_col(out.as_bytes(), out.len()),
        }
    }
}

/// Where the document proper starts: after leading whitespace and the XML declaration (a
/// decoded text's declaration names the encoding it was in, no longer that of the text).
fn decl_end(s: &str) -> usize {
    let t = s.trim_start();
    let lead = s.len() - t.len();
    if t.starts_with("<?xml")
        && let Some(end) = t.find("?>")
    {
        return lead + end + 2;
    }
    lead
}

/// One HEAD, BODY or SIGN element of the envelope.
#[derive(Default)]
struct Block {
    /// Offset of its start tag's `<`; `None`: absent.
    at: Option<usize>,
    /// Its Base64 text as carried.
    b64: String,
    /// Where each piece of `b64` was read: (offset in `b64`, offset in the envelope).
    pieces: Vec<(usize, usize)>,
}

impl Block {
    /// The envelope offset of the `n`-th non-whitespace byte of the Base64 text.
    #[cold]
    fn offset_of(&self, n: usize) -> Option<usize> {
        let i = self
            .b64
            .bytes()
            .enumerate()
            .filter(|(_, b)| !b.is_ascii_whitespace())
            .nth(n)?
            .0;
        let k = self.pieces.partition_point(|&(from, _)| from <= i);
        let (from, at) = *self.pieces.get(k.checked_sub(1)?)?;
        Some(at + (i - from))
    }

    /// The Base64 text decoded; `Err((offset of the offending byte, if known, message))`.
    fn decode(&self) -> Result<Vec<u8>, (Option<usize>, String)> {
        let compact: Vec<u8> = self
            .b64
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map_err(|e| {
                let at = match e {
                    base64::DecodeError::InvalidByte(n, _)
                    | base64::DecodeError::InvalidLastSymbol(n, _) => self.offset_of(n),
                    base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => {
                        None
                    }
                };
                (at, e.to_string())
            })
    }

    fn is_blank(&self) -> bool {
        self.b64.bytes().all(|b| b.is_ascii_whitespace())
    }
}

/// The envelope as read: the Base64 texts and where everything is.
pub(crate) struct Envelope {
    src: Text,
    /// The TITLE element as carried (empty when there is none).
    title: (usize, usize),
    /// Offset of `</DOCUMENT>` (of `<DOCUMENT/>`).
    document_end: usize,
    /// Offset of `<DOCUMENT`.
    document: usize,
    head: Block,
    body: Block,
    sign: Block,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Child {
    Title,
    Head,
    Body,
    Sign,
}

impl Child {
    fn name(self) -> &'static str {
        match self {
            Child::Title => "TITLE",
            Child::Head => "HEAD",
            Child::Body => "BODY",
            Child::Sign => SIGN,
        }
    }
}

impl Envelope {
    fn title(&self) -> &str {
        &self.src.text[self.title.0..self.title.1]
    }

    #[cold]
    fn loc(&self, at: usize, path: impl Into<String>) -> Location {
        Location::at(self.src.pos(at), path)
    }

    fn block(&self, part: Part) -> &Block {
        match part {
            Part::Head => &self.head,
            Part::Body => &self.body,
        }
    }
}

/// The element path of a position in the envelope.
fn env_path(depth: usize, open: Option<&str>) -> String {
    match (depth, open) {
        (0, _) => String::new(),
        (_, Some(name)) => format!("/DOCUMENT/{name}"),
        _ => "/DOCUMENT".to_owned(),
    }
}

/// Reads the envelope (not yet the blocks). Errors carry their line and column in it.
pub(crate) fn read_envelope(xml: Vec<u8>) -> Result<Envelope, Error> {
    let src = to_utf8(xml)?;
    let k = decl_end(&src.text);
    let mut env = Envelope {
        title: (0, 0),
        document_end: 0,
        document: 0,
        head: Block::default(),
        body: Block::default(),
        sign: Block::default(),
        src: Text {
            text: String::new(),
        },
    };
    let text = src.text.as_str();
    let pos = |at: usize, path: String| Location::at(src.pos(at), path);
    let mut reader = Reader::from_str(&text[k..]);
    let mut depth = 0usize;
    let mut open: Option<Child> = None;
    let mut seen: Vec<Child> = Vec::with_capacity(4);
    let mut closed = false;
    loop {
        let start = k + reader.buffer_position() as usize;
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                return Err(Error::XmlMalformed {
                    at: pos(
                        k + reader.error_position() as usize,
                        env_path(depth, open.map(Child::name)),
                    ),
                    detail: e.to_string(),
                });
            }
        };
        match ev {
            Event::DocType(_) => {
                return Err(Error::DtdForbidden {
                    at: pos(start, env_path(depth, None)),
                });
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let local = e.local_name();
                let name: &str = local.as_ref();
                match depth {
                    0 if closed => {
                        return Err(Error::XmlMalformed {
                            at: pos(start, String::new()),
                            detail: "content after the document element".into(),
                        });
                    }
                    0 if name == "DOCUMENT" => {
                        env.document = start;
                        if empty {
                            env.document_end = start;
                            closed = true;
                        } else {
                            depth = 1;
                        }
                    }
                    0 => {
                        return Err(Error::SchemaInvalid {
                            at: pos(start, String::new()),
                            detail: format!("expected a DOCUMENT element, found {name}"),
                        });
                    }
                    1 => {
                        let child = match name {
                            "TITLE" => Child::Title,
                            "HEAD" => Child::Head,
                            "BODY" => Child::Body,
                            SIGN => Child::Sign,
                            other => {
                                return Err(Error::SchemaInvalid {
                                    at: pos(start, "/DOCUMENT".into()),
                                    detail: format!("unexpected element {other} in DOCUMENT"),
                                });
                            }
                        };
                        let path = format!("/DOCUMENT/{name}");
                        if seen.contains(&child) {
                            return Err(Error::SchemaInvalid {
                                at: pos(start, path),
                                detail: format!("element {name} occurs more than 1 time(s)"),
                            });
                        }
                        seen.push(child);
                        let block = match child {
                            Child::Title => {
                                if !empty {
                                    let end = e.to_end().into_owned();
                                    reader.read_to_end(end.name()).map_err(|err| {
                                        Error::XmlMalformed {
                                            at: pos(k + reader.error_position() as usize, path),
                                            detail: err.to_string(),
                                        }
                                    })?;
                                }
                                env.title = (start, k + reader.buffer_position() as usize);
                                continue;
                            }
                            Child::Head => &mut env.head,
                            Child::Body => &mut env.body,
                            Child::Sign => &mut env.sign,
                        };
                        block.at = Some(start);
                        if !empty {
                            depth = 2;
                            open = Some(child);
                        }
                    }
                    _ => {
                        let parent = open.map_or("DOCUMENT", Child::name);
                        return Err(Error::SchemaInvalid {
                            at: pos(start, env_path(depth, open.map(Child::name))),
                            detail: format!("{parent} must hold Base64 text only"),
                        });
                    }
                }
            }
            Event::Text(t) => {
                let block = match open {
                    Some(Child::Head) => &mut env.head,
                    Some(Child::Body) => &mut env.body,
                    Some(Child::Sign) => &mut env.sign,
                    _ => {
                        if depth == 0 && !t.bytes().all(|b| b.is_ascii_whitespace()) {
                            return Err(Error::XmlMalformed {
                                at: pos(start, String::new()),
                                detail: "text outside the DOCUMENT element".into(),
                            });
                        }
                        continue;
                    }
                };
                block.pieces.push((block.b64.len(), start));
                block.b64.push_str(&t);
            }
            Event::End(_) => match depth {
                2 => {
                    depth = 1;
                    open = None;
                }
                1 => {
                    env.document_end = start;
                    depth = 0;
                    closed = true;
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !closed {
        return Err(Error::XmlMalformed {
            at: pos(text.len(), env_path(depth, open.map(Child::name))),
            detail: "the document ends before the DOCUMENT element is complete".into(),
        });
    }
    env.src = src;
    Ok(env)
}

/// Verifies the signature and opens HEAD and BODY. Errors point at the element they concern
/// (a missing one: at `</DOCUMENT>`, where it should have been).
pub(crate) fn open(env: &Envelope, codec: &dyn PayloadCodec) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let sign_path = || format!("/DOCUMENT/{SIGN}");
    let signature = match env.sign.at {
        None => None,
        Some(at) => Some(env.sign.decode().map_err(|(bad, e)| {
            Error::SignatureInvalid {
                detail: format!("SIGN is not Base64: {e}"),
            }
            .or_at(env.loc(bad.unwrap_or(at), sign_path()))
        })?),
    };
    codec
        .verify(
            &signed_text(&env.head.b64, &env.body.b64, env.title()),
            signature.as_deref(),
        )
        .map_err(|e| e.or_at(env.loc(env.sign.at.unwrap_or(env.document_end), sign_path())))?;
    let open = |part: Part| -> Result<Vec<u8>, Error> {
        let b = env.block(part);
        let name = part.name();
        let path = format!("/DOCUMENT/{name}");
        let missing = |at: usize| Error::RequiredMissing {
            at: env.loc(at, path.clone()),
            detail: format!("block {name}"),
        };
        let Some(at) = b.at else {
            return Err(missing(env.document_end));
        };
        if b.is_blank() {
            return Err(missing(at));
        }
        let raw = b.decode().map_err(|(bad, e)| {
            Error::PayloadInvalid {
                part: name,
                detail: format!("not Base64: {e}"),
            }
            .or_at(env.loc(bad.unwrap_or(at), path.clone()))
        })?;
        codec
            .open(part, raw)
            .map_err(|e| e.or_at(env.loc(at, path.clone())))
    };
    Ok((open(Part::Head)?, open(Part::Body)?))
}

/// Takes a wrapped document apart, decoding HEAD and BODY through `codec`. Errors carry the
/// line and column in `xml` and the element path (`/DOCUMENT/BODY`).
pub fn unwrap_document(xml: &[u8], codec: &dyn PayloadCodec) -> Result<Unwrapped, Error> {
    let env = read_envelope(xml.to_vec())?;
    let (head, body) = open(&env, codec)?;
    Ok(Unwrapped {
        title: env.title().to_owned(),
        head,
        body,
    })
}

/// A position a piece of the logical document comes from: in the envelope (`block` `None`) or
/// in a decoded block.
#[derive(Clone, Copy)]
struct Spot {
    block: Option<Part>,
    at: usize,
}

#[derive(Clone, Copy)]
enum Origin {
    /// Copied from `Spot` on: positions inside map one to one.
    From(Spot),
    /// Written by the engine: every position inside is reported at `Spot`.
    Fixed(Spot),
}

/// The logical document the mapping's schema describes (HEAD and BODY hold their decoded
/// documents' elements instead of Base64 text), and where its pieces come from, so that an
/// error in it is reported where the partner can find it.
pub(crate) struct Logical {
    pub text: String,
    /// Sorted by their start in `text`; the first starts at 0.
    pieces: Vec<(usize, Origin)>,
    env: Text,
    head: Text,
    body: Text,
}

/// Builds the logical document. Encoding errors of a decoded block are located in it.
pub(crate) fn splice(env: Envelope, head: Vec<u8>, body: Vec<u8>) -> Result<Logical, Error> {
    let block = |part: Part, bytes: Vec<u8>| {
        to_utf8(bytes).map_err(|mut e| {
            if let Some(l) = e.location_mut() {
                l.block = Some(part);
                l.path = format!("/DOCUMENT/{}", part.name());
            }
            e
        })
    };
    let head = block(Part::Head, head)?;
    let body = block(Part::Body, body)?;
    let (hk, bk) = (decl_end(&head.text), decl_end(&body.text));
    let envelope = |at: usize| Spot { block: None, at };
    let in_block = |part: Part, at: usize| Spot {
        block: Some(part),
        at,
    };
    let mut text = String::with_capacity(
        128 + (env.title.1 - env.title.0) + head.text.len() + body.text.len(),
    );
    let mut pieces = Vec::with_capacity(9);
    let mut put = |text: &mut String, s: &str, origin: Origin| {
        pieces.push((text.len(), origin));
        text.push_str(s);
    };
    let (head_at, body_at) = (env.head.at.unwrap_or(0), env.body.at.unwrap_or(0));
    put(
        &mut text,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DOCUMENT>",
        Origin::Fixed(envelope(env.document)),
    );
    put(&mut text, env.title(), Origin::From(envelope(env.title.0)));
    put(&mut text, "<HEAD>", Origin::Fixed(envelope(head_at)));
    put(
        &mut text,
        &head.text[hk..],
        Origin::From(in_block(Part::Head, hk)),
    );
    put(
        &mut text,
        "</HEAD>",
        Origin::Fixed(in_block(Part::Head, head.text.len())),
    );
    put(&mut text, "<BODY>", Origin::Fixed(envelope(body_at)));
    put(
        &mut text,
        &body.text[bk..],
        Origin::From(in_block(Part::Body, bk)),
    );
    put(
        &mut text,
        "</BODY>",
        Origin::Fixed(in_block(Part::Body, body.text.len())),
    );
    put(
        &mut text,
        "</DOCUMENT>\n",
        Origin::Fixed(envelope(env.document_end)),
    );
    Ok(Logical {
        text,
        pieces,
        env: env.src,
        head,
        body,
    })
}

impl Logical {
    /// An error found in the logical document, with its position where the partner wrote it:
    /// in the envelope, or in a decoded block (`Location::block`; the path then starts with
    /// the block).
    #[cold]
    pub(crate) fn relocate(&self, mut e: Error) -> Error {
        let Some(l) = e.location_mut() else {
            return e;
        };
        let (Some(line), Some(column)) = (l.line, l.column) else {
            return e;
        };
        let o = offset_of(self.text.as_bytes(), line, column);
        let k = self.pieces.partition_point(|&(start, _)| start <= o);
        let Some(&(start, origin)) = self.pieces.get(k.saturating_sub(1)) else {
            return e;
        };
        let spot = match origin {
            Origin::Fixed(s) => s,
            Origin::From(s) => Spot {
                block: s.block,
                at: s.at + (o - start),
            },
        };
        let src = match spot.block {
            None => &self.env,
            Some(Part::Head) => &self.head,
            Some(Part::Body) => &self.body,
        };
        let (line, column) = src.pos(spot.at);
        l.line = Some(line);
        l.column = Some(column);
        l.block = spot.block;
        if let Some(b) = spot.block {
            let prefix = format!("/DOCUMENT/{}", b.name());
            let within = l
                .path
                .strip_prefix(&prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
            if !within {
                l.path = prefix;
            }
        }
        e
    }
}

/// The byte offset of 1-based (line, column) in `text`.
fn offset_of(text: &[u8], line: u64, column: u64) -> usize {
    let line_start = match line {
        0 | 1 => 0,
        n => memchr::memchr_iter(b'\n', text)
            .nth((n - 2) as usize)
            .map_or(text.len(), |i| i + 1),
    };
    (line_start + column.saturating_sub(1) as usize).min(text.len())
}
