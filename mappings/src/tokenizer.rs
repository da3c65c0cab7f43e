//! The XML tokenizer of the XML → JSON direction: a pull parser over one large reusable buffer.
//!
//! Events are small `Copy` values that point into the buffer (no copy, no allocation per
//! event); they stay valid until the next call to [`Tokenizer::next`]. A token split across
//! refills is kept whole: the unread tail moves to the front of the buffer and the scan resumes
//! where it stopped, so each byte is scanned about once however the input arrives. Memory is
//! bounded: one token is at most the per-event limit (`Limits::max_text_len` + 64 KiB).
//!
//! The accepted language and the error of every malformed input are those of quick-xml's
//! `NsReader` with the configuration the engine has always used (`expand_empty_elements`,
//! `check_end_names`, no trimming), on which the error codes and positions were defined; the
//! rare paths (namespace declarations, attribute lists, the XML declaration, error messages)
//! still use quick-xml's own code. One deliberate difference: a `<!DOCTYPE` is refused as soon
//! as it is seen, without reading the DTD to its end.
//!
//! UTF-8 is checked for everything except text, which [`Tokenizer::text`] checks when the
//! caller needs it (the caller must, for every text event, before anything else); the names of
//! plain tags are checked by the scan itself (ASCII).

use std::borrow::Cow;
use std::io::{self, Read};

use quick_xml::errors::{Error as QxError, IllFormedError, SyntaxError};
use quick_xml::events::{BytesDecl, BytesRef, BytesStart};
use quick_xml::name::{NamespaceError, NamespaceResolver, QName, ResolveResult};
use quick_xml::parser::{Parser as _, PiParser};

use crate::error::Error;

/// Initial buffer size; reads are at least `MIN_READ` bytes so a `BufReader` in front passes
/// them through without copying.
const INITIAL: usize = 256 * 1024;
const MIN_READ: usize = 64 * 1024;

const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Bytes that end the fast scan of a start tag's name: XML whitespace, `>`, `/`, quotes, `:`
/// and every non-ASCII byte.
static NAME_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0x80;
    while i < 256 {
        t[i] = true;
        i += 1;
    }
    t[b' ' as usize] = true;
    t[b'\t' as usize] = true;
    t[b'\r' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'>' as usize] = true;
    t[b'/' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t[b':' as usize] = true;
    t
};

#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Whether `bytes` holds only XML whitespace (what `xml_trim` removes).
#[inline]
pub(crate) fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| is_ws(b))
}

/// A range of the tokenizer's buffer, valid until the next event is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl Start {
    pub(crate) fn has_colon(&self) -> bool {
        self.colon.is_some()
    }
}

/// A start tag (an empty element's tag too: its end follows as [`Event::End`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Start {
    /// Between `<` and `>` (or `/>`).
    content: Span,
    /// The name is the content up to the first whitespace.
    name_len: usize,
    /// Index of the first `:` in the name.
    colon: Option<usize>,
}

/// An event; what it carries is read from the tokenizer ([`Tokenizer::start`],
/// [`Tokenizer::span`]) until the next event. Kept small so that it travels in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Start,
    End,
    /// Raw text up to the next markup or reference (`span`); `cr`: it holds a carriage
    /// return (line ends must be normalised). Not yet checked for UTF-8: see
    /// [`Tokenizer::text`].
    Text {
        cr: bool,
    },
    /// A character or predefined entity reference.
    Char(char),
    /// The content of a CDATA section (`span`; checked UTF-8, line ends not normalised).
    CData,
    Eof,
}

pub(crate) type TokResult<T> = Result<T, Box<TokError>>;

/// Why tokenizing stopped; every error is located at the start of the current event.
#[derive(Debug)]
pub(crate) enum TokError {
    /// Not well formed; the detail in quick-xml's words.
    Malformed(String),
    /// Not UTF-8.
    Encoding,
    Dtd,
    /// An entity reference other than the predefined ones.
    Entity(String),
    /// The document is larger than `max_bytes`.
    TooBig,
    /// One event (text, tag, comment …) is larger than the per-event limit.
    EventTooBig,
    /// Reading failed.
    Io(io::Error),
    /// An error that has no position (an unsupported encoding in a declaration).
    Other(Box<Error>),
}

#[cold]
fn qx(e: QxError) -> Box<TokError> {
    Box::new(TokError::Malformed(e.to_string()))
}

#[cold]
fn syntax(e: SyntaxError) -> Box<TokError> {
    qx(QxError::Syntax(e))
}

#[cold]
fn fail<T>(e: TokError) -> TokResult<T> {
    Err(Box::new(e))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Init,
    Content,
    /// An empty element's start was returned; its end comes next.
    Empty,
    Done,
}

/// How far an incomplete token was scanned, to resume there after a refill.
#[derive(Debug, Clone, Copy, Default)]
struct Resume {
    at: usize,
    quote: u8,
    cr: bool,
    /// Text scanned so far is whitespace that is being skipped.
    blank: bool,
}

/// One open element.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// Start of its name in `names` (names longer than 16 bytes only).
    name_at: usize,
    name_len: usize,
    /// The first 16 bytes of the name, zero-padded.
    head: u128,
    /// Offset of its `<`.
    off: u64,
    /// (lines before, offset of the line start) of `off`, once the buffer moved past it.
    line: Option<(u64, u64)>,
    /// The name holds no quote: its end tag can be matched byte for byte.
    plain: bool,
    /// The tag declared namespaces.
    ns: bool,
}

enum Step {
    Event(Event),
    /// A comment, processing instruction or declaration: nothing to report.
    Skip,
    /// The token continues past the buffered data.
    More,
}

pub(crate) struct Tokenizer {
    buf: Vec<u8>,
    /// Next unread byte.
    pos: usize,
    /// End of the buffered data.
    end: usize,
    /// Offset of `buf[0]` in the document.
    base: u64,
    eof: bool,
    state: State,
    /// Offset of the current event.
    ev_start: u64,
    resume: Resume,
    /// The last event was an end tag: its element is forgotten when the next event is read.
    pending_pop: bool,
    names: Vec<u8>,
    open: Vec<Open>,
    /// `open[..resolved]` have their line.
    resolved: usize,
    /// Newlines are counted up to this offset (`counted <= base + pos`).
    counted: u64,
    /// Newlines before `counted`.
    lines: u64,
    /// Offset of the first byte of the line holding `counted`.
    line_start: u64,
    ns: NamespaceResolver,
    /// Open elements that declared namespaces.
    ns_open: usize,
    /// The last start tag.
    start: Start,
    /// The last text or CDATA content.
    span: Span,
    /// Whitespace-only text before markup is not reported (set by the caller when such text
    /// means nothing at the current point).
    pub(crate) skip_blank: bool,
    max_bytes: u64,
    max_event: u64,
    /// Reads ask for at least this much room.
    min_read: usize,
}

impl Tokenizer {
    pub(crate) fn new(max_bytes: u64, max_event: u64) -> Self {
        Self::with_capacity(INITIAL, max_bytes, max_event)
    }

    fn with_capacity(cap: usize, max_bytes: u64, max_event: u64) -> Self {
        Tokenizer {
            buf: vec![0; cap.max(16)],
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            state: State::Init,
            ev_start: 0,
            resume: Resume::default(),
            pending_pop: false,
            names: Vec::with_capacity(256),
            open: Vec::with_capacity(16),
            resolved: 0,
            counted: 0,
            lines: 0,
            line_start: 0,
            ns: NamespaceResolver::default(),
            ns_open: 0,
            start: Start {
                content: Span { start: 0, end: 0 },
                name_len: 0,
                colon: None,
            },
            span: Span { start: 0, end: 0 },
            skip_blank: false,
            max_bytes,
            max_event,
            min_read: MIN_READ.min(cap.max(16) / 4),
        }
    }

    /// Reads the next event.
    #[inline(always)]
    pub(crate) fn next<R: Read>(&mut self, src: &mut R) -> TokResult<Event> {
        if self.pending_pop {
            self.pending_pop = false;
            self.pop();
        }
        loop {
            match self.state {
                State::Content => {
                    self.ev_start = self.base + self.pos as u64;
                    if self.ev_start > self.max_bytes {
                        return fail(TokError::TooBig);
                    }
                    match self.token()? {
                        Step::Event(e) => return Ok(e),
                        Step::Skip => {}
                        Step::More => self.fill(src)?,
                    }
                }
                State::Empty => {
                    self.ev_start = self.base + self.pos as u64;
                    self.state = State::Content;
                    self.pending_pop = true;
                    return Ok(Event::End);
                }
                State::Init => {
                    if self.end - self.pos < BOM.len() && !self.eof {
                        self.fill(src)?;
                        continue;
                    }
                    if self.buf[self.pos..self.end].starts_with(BOM) {
                        self.pos += BOM.len();
                    }
                    self.state = State::Content;
                }
                State::Done => {
                    self.ev_start = self.base + self.pos as u64;
                    return Ok(Event::Eof);
                }
            }
        }
    }

    /// The start tag of the last [`Event::Start`].
    #[inline(always)]
    pub(crate) fn start(&self) -> &Start {
        &self.start
    }

    /// The first 16 bytes of the innermost open element's name, zero-padded.
    #[inline(always)]
    pub(crate) fn head(&self) -> u128 {
        self.open.last().map_or(0, |o| o.head)
    }

    /// The content of the last [`Event::Text`] or [`Event::CData`].
    #[inline(always)]
    pub(crate) fn span(&self) -> Span {
        self.span
    }

    /// Offset of the current event in the document.
    pub(crate) fn event_start(&self) -> u64 {
        self.ev_start
    }

    /// Open elements (the current start tag's included).
    #[inline(always)]
    pub(crate) fn depth(&self) -> usize {
        self.open.len()
    }

    #[inline(always)]
    pub(crate) fn bytes(&self, span: Span) -> &[u8] {
        &self.buf[span.start..span.end]
    }

    /// The text of a text event, checked UTF-8.
    #[inline(always)]
    pub(crate) fn text(&self, span: Span) -> TokResult<&str> {
        std::str::from_utf8(self.bytes(span)).map_err(|_| Box::new(TokError::Encoding))
    }

    #[inline(always)]
    pub(crate) fn name(&self, s: &Start) -> &[u8] {
        &self.bytes(s.content)[..s.name_len]
    }

    /// The name as text (names are checked UTF-8), for messages.
    pub(crate) fn name_str(&self, s: &Start) -> &str {
        std::str::from_utf8(self.name(s)).unwrap_or("")
    }

    /// The raw attribute list: everything after the name.
    #[inline(always)]
    pub(crate) fn attrs(&self, s: &Start) -> &[u8] {
        &self.bytes(s.content)[s.name_len..]
    }

    /// The tag content as text (checked UTF-8 when the tag was read).
    pub(crate) fn content_str(&self, s: &Start) -> &str {
        std::str::from_utf8(self.bytes(s.content)).unwrap_or("")
    }

    #[inline(always)]
    pub(crate) fn name_len(&self, s: &Start) -> usize {
        s.name_len
    }

    /// The element's namespace and local name; `Err(prefix)` for an undeclared prefix.
    #[inline(always)]
    pub(crate) fn resolve_element(&self, s: &Start) -> Result<(Option<&str>, &[u8]), String> {
        if self.ns_open == 0 && s.colon.is_none() {
            return Ok((None, self.name(s)));
        }
        self.resolve_prefixed(s)
    }

    #[inline(never)]
    fn resolve_prefixed(&self, s: &Start) -> Result<(Option<&str>, &[u8]), String> {
        let name = self.name(s);
        if self.ns_open == 0 {
            // No declaration in scope: only the built-in prefixes are bound.
            let Some(c) = s.colon else {
                return Ok((None, name));
            };
            let (prefix, local) = (&name[..c], &name[c + 1..]);
            return match prefix {
                b"xml" => Ok((Some(XML_NS), local)),
                b"xmlns" => Ok((Some(XMLNS_NS), local)),
                p => Err(String::from_utf8_lossy(p).into_owned()),
            };
        }
        let (res, local) = self.ns.resolve_element(QName(self.name_str(s)));
        let local = local.into_inner().as_bytes();
        match res {
            ResolveResult::Unbound => Ok((None, local)),
            ResolveResult::Bound(n) => Ok((Some(n.into_inner()), local)),
            ResolveResult::Unknown(p) => Err(p),
        }
    }

    /// An attribute's namespace resolution (the key has a prefix).
    pub(crate) fn resolve_attribute<'k>(&self, key: &'k str) -> (ResolveResult<'_>, &'k str) {
        let (res, local) = self.ns.resolve_attribute(QName(key));
        (res, local.into_inner())
    }

    /// The 1-based (line, column) of an offset at or after the last refill's start.
    pub(crate) fn position(&self, at: u64) -> (u64, u64) {
        if at < self.counted {
            return (self.lines + 1, at.saturating_sub(self.line_start) + 1);
        }
        let from = (self.counted - self.base) as usize;
        let to = (((at - self.base) as usize).min(self.end)).max(from);
        let chunk = &self.buf[from..to];
        match memchr::memrchr(b'\n', chunk) {
            Some(i) => (
                self.lines + 1 + count_newlines(&chunk[..=i]),
                at - (self.base + (from + i) as u64 + 1) + 1,
            ),
            None => (self.lines + 1, at.saturating_sub(self.line_start) + 1),
        }
    }

    /// The 1-based (line, column) of the start tag of the open element at `depth` (0-based).
    pub(crate) fn open_position(&self, depth: usize) -> (u64, u64) {
        match self.open.get(depth) {
            Some(&Open {
                off,
                line: Some((lines, line_start)),
                ..
            }) => (lines + 1, off.saturating_sub(line_start) + 1),
            Some(o) => self.position(o.off),
            None => self.position(self.ev_start),
        }
    }

    /// The name of an open element.
    fn open_name(&self, o: &Open) -> Cow<'_, [u8]> {
        if o.name_len > 16 {
            Cow::Borrowed(&self.names[o.name_at..o.name_at + o.name_len])
        } else {
            Cow::Owned(o.head.to_le_bytes()[..o.name_len].to_vec())
        }
    }

    #[inline(always)]
    fn pop(&mut self) {
        if let Some(o) = self.open.pop() {
            self.names.truncate(o.name_at);
            self.resolved = self.resolved.min(self.open.len());
            if o.ns {
                self.ns_open -= 1;
                self.ns.set_level(self.open.len() as u16);
            }
        }
    }

    /// Makes room and reads more input.
    #[cold]
    #[inline(never)]
    fn fill<R: Read>(&mut self, src: &mut R) -> TokResult<()> {
        if self.eof {
            return Ok(());
        }
        if (self.end - self.pos) as u64 > self.max_event {
            return fail(TokError::EventTooBig);
        }
        if self.base + self.end as u64 > self.max_bytes {
            return fail(TokError::TooBig);
        }
        if self.buf.len() - self.end < self.min_read {
            if self.pos > 0 {
                self.discard();
            }
            if self.buf.len() - self.end < self.min_read {
                let len = (self.buf.len() * 2).max(self.end + self.min_read);
                self.buf.resize(len, 0);
            }
        }
        loop {
            match src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n.min(self.buf.len() - self.end);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return fail(TokError::Io(e)),
            }
        }
    }

    /// Drops the bytes before `pos`, counting their lines first (and noting the lines of the
    /// open elements' start tags among them).
    #[cold]
    #[inline(never)]
    fn discard(&mut self) {
        let new_base = self.base + self.pos as u64;
        while let Some(&o) = self.open.get(self.resolved) {
            if o.off >= new_base {
                break;
            }
            self.count_to(o.off);
            self.open[self.resolved].line = Some((self.lines, self.line_start));
            self.resolved += 1;
        }
        self.count_to(new_base);
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        self.base = new_base;
    }

    fn count_to(&mut self, at: u64) {
        if at <= self.counted {
            return;
        }
        let from = (self.counted - self.base) as usize;
        let to = (at - self.base) as usize;
        let chunk = &self.buf[from..to];
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            self.lines += count_newlines(&chunk[..=i]);
            self.line_start = self.base + (from + i) as u64 + 1;
        }
        self.counted = at;
    }

    #[inline(always)]
    fn token(&mut self) -> TokResult<Step> {
        let Some(&first) = self.buf[self.pos..self.end].first() else {
            if self.eof {
                self.state = State::Done;
                return Ok(Step::Event(Event::Eof));
            }
            return Ok(Step::More);
        };
        match first {
            b'<' => self.markup(),
            b'&' => self.reference(),
            _ => match self.text_run() {
                // Indentation skipped: the tag after it is the event (as if read afresh).
                Step::Skip if self.buf[self.pos..self.end].first() == Some(&b'<') => {
                    self.ev_start = self.base + self.pos as u64;
                    if self.ev_start > self.max_bytes {
                        return fail(TokError::TooBig);
                    }
                    self.markup()
                }
                step => Ok(step),
            },
        }
    }

    /// A token starting with `<`.
    #[inline(always)]
    fn markup(&mut self) -> TokResult<Step> {
        let Some(&second) = self.buf[self.pos..self.end].get(1) else {
            return if self.eof {
                Err(syntax(SyntaxError::UnclosedTag))
            } else {
                Ok(Step::More)
            };
        };
        match second {
            b'/' => self.end_tag(),
            b'!' => self.bang(),
            b'?' => self.pi(),
            _ => self.start_tag(),
        }
    }

    #[inline(always)]
    fn done(&mut self, consumed: usize, ev: Event) -> Step {
        self.pos += consumed;
        self.resume = Resume::default();
        Step::Event(ev)
    }

    #[inline(always)]
    fn text_run(&mut self) -> Step {
        let s = &self.buf[self.pos..self.end];
        let mut i = self.resume.at;
        let mut cr = self.resume.cr;
        if (i == 0 && self.skip_blank) || self.resume.blank {
            // Indentation before markup: not reported when the caller ignores it anyway.
            // Spaces eight at a time (the first byte that differs from a space is the lowest
            // non-zero byte of the word XOR spaces), other whitespace byte by byte.
            if s.get(i) == Some(&b'\n') {
                i += 1;
            }
            let next = loop {
                let b = match load8(s, i) {
                    Some(x) => {
                        let z = x ^ (LO * u64::from(b' '));
                        if z == 0 {
                            i += 8;
                            continue;
                        }
                        let k = z.trailing_zeros() / 8;
                        i += k as usize;
                        (x >> (8 * k)) as u8
                    }
                    None => match s.get(i) {
                        Some(&b) => b,
                        None => break None,
                    },
                };
                if is_ws(b) {
                    cr |= b == b'\r';
                    i += 1;
                    continue;
                }
                break Some(b);
            };
            if matches!(next, Some(b'<' | b'&')) {
                self.pos += i;
                self.resume = Resume::default();
                return Step::Skip;
            }
            if i == s.len() && !self.eof {
                self.resume = Resume {
                    at: i,
                    quote: 0,
                    cr,
                    blank: true,
                };
                return Step::More;
            }
            self.resume.blank = false;
        }
        // Short runs (most values) end within a few words: look at them sixteen bytes at a
        // time before calling the vectorised search.
        let short = i + 64;
        while i < short
            && let Some(x) = load16(s, i)
        {
            let m = eq_mask16(x, b'<') | eq_mask16(x, b'&') | eq_mask16(x, b'\r');
            if m == 0 {
                i += 16;
                continue;
            }
            let j = i + (m.trailing_zeros() / 8) as usize;
            if s[j] == b'\r' {
                cr = true;
                i = j + 1;
                continue;
            }
            let span = Span {
                start: self.pos,
                end: self.pos + j,
            };
            self.span = span;
            return self.done(j, Event::Text { cr });
        }
        loop {
            match memchr::memchr3(b'<', b'&', b'\r', &s[i..]) {
                Some(k) if s[i + k] == b'\r' => {
                    cr = true;
                    i += k + 1;
                }
                Some(k) => {
                    let j = i + k;
                    let span = Span {
                        start: self.pos,
                        end: self.pos + j,
                    };
                    self.span = span;
                    return self.done(j, Event::Text { cr });
                }
                None if self.eof => {
                    let n = s.len();
                    let span = Span {
                        start: self.pos,
                        end: self.pos + n,
                    };
                    self.span = span;
                    return self.done(n, Event::Text { cr });
                }
                None => {
                    self.resume = Resume {
                        at: s.len(),
                        quote: 0,
                        cr,
                        blank: false,
                    };
                    return Step::More;
                }
            }
        }
    }

    /// `&name;`: a character reference or a predefined entity.
    #[cold]
    #[inline(never)]
    fn reference(&mut self) -> TokResult<Step> {
        let s = &self.buf[self.pos..self.end];
        let from = self.resume.at.max(1);
        let found = memchr::memchr3(b';', b'&', b'<', &s[from..]).map(|k| from + k);
        let end = match found {
            Some(j) => j,
            None if self.eof => s.len(),
            None => {
                self.resume.at = s.len();
                return Ok(Step::More);
            }
        };
        let closed = found.is_some_and(|j| s[j] == b';');
        let raw = &s[..if closed { end + 1 } else { end }];
        if std::str::from_utf8(raw).is_err() {
            return fail(TokError::Encoding);
        }
        if !closed {
            return Err(qx(QxError::IllFormed(IllFormedError::UnclosedReference)));
        }
        let name = std::str::from_utf8(&s[1..end]).map_err(|_| Box::new(TokError::Encoding))?;
        let ch = match BytesRef::new(name).resolve_char_ref() {
            Ok(Some(c)) => c,
            Ok(None) => match name {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "apos" => '\'',
                "quot" => '"',
                other => return fail(TokError::Entity(other.chars().take(64).collect())),
            },
            Err(e) => return fail(TokError::Malformed(e.to_string())),
        };
        Ok(self.done(end + 1, Event::Char(ch)))
    }

    /// Finds the `>` that ends a tag, outside quoted attribute values, from `i` in the quote
    /// state `quote`; on running out of data, where to resume.
    fn find_gt(s: &[u8], mut i: usize, mut quote: u8) -> Result<usize, (usize, u8)> {
        loop {
            if quote == 0 {
                match memchr::memchr3(b'>', b'"', b'\'', &s[i..]) {
                    Some(k) if s[i + k] == b'>' => return Ok(i + k),
                    Some(k) => {
                        quote = s[i + k];
                        i += k + 1;
                    }
                    None => return Err((s.len(), 0)),
                }
            } else {
                match memchr::memchr(quote, &s[i..]) {
                    Some(k) => {
                        quote = 0;
                        i += k + 1;
                    }
                    None => return Err((s.len(), quote)),
                }
            }
        }
    }

    fn unclosed_tag(quote: u8) -> Box<TokError> {
        syntax(match quote {
            b'"' => SyntaxError::UnclosedDoubleQuotedAttributeValue,
            b'\'' => SyntaxError::UnclosedSingleQuotedAttributeValue,
            _ => SyntaxError::UnclosedTag,
        })
    }

    /// Scans a tag from `from` (quote-aware); `Ok(None)`: more data needed.
    fn tag_end(&mut self, from: usize) -> TokResult<Option<usize>> {
        let s = &self.buf[self.pos..self.end];
        let (at, quote) = if self.resume.at > 0 {
            (self.resume.at, self.resume.quote)
        } else {
            (from, 0)
        };
        match Self::find_gt(s, at, quote) {
            Ok(gt) => Ok(Some(gt)),
            Err((_, q)) if self.eof => Err(Self::unclosed_tag(q)),
            Err((at, quote)) => {
                self.resume = Resume {
                    at,
                    quote,
                    cr: false,
                    blank: false,
                };
                Ok(None)
            }
        }
    }

    #[inline(always)]
    fn start_tag(&mut self) -> TokResult<Step> {
        if self.resume.at == 0 {
            // Fast path: an ASCII name, then `>`, `/>` or whitespace and attributes.
            let s = &self.buf[self.pos..self.end];
            let mut i = 1;
            let mut colon = None;
            loop {
                // Eight bytes at a time: bytes below `0`, `:` to `?` and non-ASCII bytes may
                // stop the name (whitespace, `"`, `'`, `/`, `:`, `>` and non-ASCII bytes do);
                // letters, digits and `_` do not.
                let stop = loop {
                    let Some(x) = load8(s, i) else {
                        while i < s.len() && !NAME_STOP[s[i] as usize] {
                            i += 1;
                        }
                        break s.get(i).copied();
                    };
                    let m = maybe_name_stop(x);
                    if m == 0 {
                        i += 8;
                        continue;
                    }
                    let k = m.trailing_zeros() / 8;
                    i += k as usize;
                    let b = (x >> (8 * k)) as u8;
                    if NAME_STOP[b as usize] {
                        break Some(b);
                    }
                    i += 1;
                };
                if stop == Some(b':') {
                    colon.get_or_insert(i - 1);
                    i += 1;
                    continue;
                }
                break;
            }
            match s.get(i) {
                Some(b'>') => return self.emit_start(i, i - 1, colon, false, true, i + 1),
                Some(b'/') if s.get(i + 1) == Some(&b'>') => {
                    return self.emit_start(i, i - 1, colon, true, true, i + 2);
                }
                Some(&b) if is_ws(b) => {
                    let Some(gt) = self.tag_end(i)? else {
                        return Ok(Step::More);
                    };
                    let s = &self.buf[self.pos..self.end];
                    let attrs = &s[i..gt];
                    if !attrs.is_ascii() && std::str::from_utf8(attrs).is_err() {
                        return fail(TokError::Encoding);
                    }
                    let empty = s[gt - 1] == b'/';
                    let content_end = if empty { gt - 1 } else { gt };
                    return self.emit_start(content_end, i - 1, colon, empty, true, gt + 1);
                }
                _ => {}
            }
        }
        // Any other tag: a name with quotes or non-ASCII bytes, `/` inside a name, or a tag
        // split across refills.
        let Some(gt) = self.tag_end(1)? else {
            return Ok(Step::More);
        };
        let s = &self.buf[self.pos..self.end];
        if std::str::from_utf8(&s[..=gt]).is_err() {
            return fail(TokError::Encoding);
        }
        let empty = gt > 1 && s[gt - 1] == b'/';
        let content_end = if empty { gt - 1 } else { gt };
        let content = &s[1..content_end];
        let name_len = content
            .iter()
            .position(|&b| is_ws(b))
            .unwrap_or(content.len());
        let name = &content[..name_len];
        let colon = memchr::memchr(b':', name);
        let plain = memchr::memchr2(b'"', b'\'', name).is_none();
        self.emit_start(content_end, name_len, colon, empty, plain, gt + 1)
    }

    #[inline(always)]
    fn emit_start(
        &mut self,
        content_end: usize,
        name_len: usize,
        colon: Option<usize>,
        empty: bool,
        plain: bool,
        consumed: usize,
    ) -> TokResult<Step> {
        if self.open.len() >= u16::MAX as usize {
            return Err(qx(QxError::Namespace(NamespaceError::TooDeeplyNested(
                u16::MAX as usize,
            ))));
        }
        let start = Start {
            content: Span {
                start: self.pos + 1,
                end: self.pos + content_end,
            },
            name_len,
            colon,
        };
        let name_at = self.names.len();
        let from = self.pos + 1;
        let head = match self.buf.get(from..from + 16) {
            Some(chunk) if name_len <= 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(chunk);
                u128::from_le_bytes(a) & mask16(name_len)
            }
            _ => head16(&self.buf[from..from + name_len]),
        };
        if name_len > 16 {
            self.names
                .extend_from_slice(&self.buf[from..from + name_len]);
        }
        let attrs = &self.buf[self.pos + 1 + name_len..self.pos + content_end];
        let ns = attrs.len() > 5 && memchr::memmem::find(attrs, b"xmlns").is_some();
        if ns {
            self.declare(&start)?;
        }
        self.open.push(Open {
            name_at,
            name_len,
            head,
            off: self.base + self.pos as u64,
            line: None,
            plain,
            ns,
        });
        if empty {
            self.state = State::Empty;
        }
        self.start = start;
        Ok(self.done(consumed, Event::Start))
    }

    /// When the next token is the end tag of the innermost open element, written `</name>`
    /// with a name of at most 16 bytes and held whole in the buffer (what follows most text
    /// values), its length; the caller may then handle the end before taking it with
    /// [`Tokenizer::take_end`].
    #[inline(always)]
    pub(crate) fn end_follows(&self) -> Option<usize> {
        if self.state != State::Content || self.resume.at != 0 || self.pending_pop {
            return None;
        }
        let top = self.open.last()?;
        let n = top.name_len;
        if !top.plain || n > 16 || self.base + self.pos as u64 > self.max_bytes {
            return None;
        }
        let s = self.buf.get(self.pos..self.end)?;
        let chunk = s.get(..18)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(&chunk[2..18]);
        (chunk[0] == b'<'
            && chunk[1] == b'/'
            && u128::from_le_bytes(a) & mask16(n) == top.head
            && s.get(2 + n) == Some(&b'>'))
        .then_some(n + 3)
    }

    /// Right after an [`Event::Start`]: when what follows is text without references or
    /// carriage returns (at most 256 bytes), then the end tag of that element as
    /// [`Tokenizer::end_follows`] finds it, reads the text as its [`Event::Text`] would be read
    /// (`span`, `event_start`) and returns the end tag's length for [`Tokenizer::take_end`].
    /// `None` (nothing read) otherwise.
    #[inline(always)]
    pub(crate) fn leaf_text(&mut self) -> Option<usize> {
        if self.state != State::Content || self.resume.at != 0 || self.pending_pop {
            return None;
        }
        let at = self.base + self.pos as u64;
        if at > self.max_bytes {
            return None;
        }
        let s = self.buf.get(self.pos..self.end)?;
        let mut i = 0;
        let j = loop {
            let x = load16(s, i)?;
            let m = eq_mask16(x, b'<') | eq_mask16(x, b'&') | eq_mask16(x, b'\r');
            if m == 0 {
                i += 16;
                if i >= 256 {
                    return None;
                }
                continue;
            }
            let j = i + (m.trailing_zeros() / 8) as usize;
            if s[j] != b'<' {
                return None;
            }
            break j;
        };
        if j == 0 {
            return None;
        }
        let top = self.open.last()?;
        let n = top.name_len;
        if !top.plain || n > 16 || at + j as u64 > self.max_bytes {
            return None;
        }
        let chunk = s.get(j..j + 18)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(&chunk[2..18]);
        if chunk[1] != b'/'
            || u128::from_le_bytes(a) & mask16(n) != top.head
            || s.get(j + 2 + n) != Some(&b'>')
        {
            return None;
        }
        self.ev_start = at;
        self.span = Span {
            start: self.pos,
            end: self.pos + j,
        };
        self.pos += j;
        Some(n + 3)
    }

    /// Takes the end tag found by [`Tokenizer::end_follows`]: the same as reading its
    /// [`Event::End`].
    #[inline(always)]
    pub(crate) fn take_end(&mut self, len: usize) {
        self.ev_start = self.base + self.pos as u64;
        self.pending_pop = true;
        self.pos += len;
    }

    /// Takes the namespace declarations of a start tag (quick-xml's resolver: same bindings,
    /// same errors).
    #[cold]
    #[inline(never)]
    fn declare(&mut self, s: &Start) -> TokResult<()> {
        let content = std::str::from_utf8(&self.buf[s.content.start..s.content.end])
            .map_err(|_| Box::new(TokError::Encoding))?;
        self.ns.set_level(self.open.len() as u16);
        self.ns_open += 1;
        self.ns
            .push(&BytesStart::from_content(content, s.name_len))
            .map_err(|e| qx(QxError::Namespace(e)))
    }

    #[inline(always)]
    fn end_tag(&mut self) -> TokResult<Step> {
        if self.resume.at == 0
            && let Some(top) = self.open.last()
            && top.plain
        {
            // Fast path: `</name>` with the open element's name.
            let s = &self.buf[self.pos..self.end];
            let n = top.name_len;
            if n <= 16
                && let Some(chunk) = s.get(2..18)
            {
                let mut a = [0u8; 16];
                a.copy_from_slice(chunk);
                if u128::from_le_bytes(a) & mask16(n) == top.head && s.get(2 + n) == Some(&b'>') {
                    self.pending_pop = true;
                    return Ok(self.done(n + 3, Event::End));
                }
            } else {
                if s.len() < n + 3 && !self.eof && memchr::memchr(b'>', s).is_none() {
                    return Ok(Step::More);
                }
                if s.get(2..2 + n) == Some(&*self.open_name(top)) && s.get(2 + n) == Some(&b'>') {
                    self.pending_pop = true;
                    return Ok(self.done(n + 3, Event::End));
                }
            }
        }
        let Some(gt) = self.tag_end(1)? else {
            return Ok(Step::More);
        };
        let s = &self.buf[self.pos..self.end];
        let tag = &s[..=gt];
        let Ok(text) = std::str::from_utf8(tag) else {
            return fail(TokError::Encoding);
        };
        let found = text[2..gt].trim_end_matches([' ', '\t', '\r', '\n']);
        let Some(top) = self.open.last() else {
            return Err(qx(QxError::IllFormed(IllFormedError::UnmatchedEndTag(
                found.to_owned(),
            ))));
        };
        let expected = self.open_name(top);
        if found.as_bytes() != &*expected {
            return Err(qx(QxError::IllFormed(IllFormedError::MismatchedEndTag {
                expected: String::from_utf8_lossy(&expected).into_owned(),
                found: found.to_owned(),
            })));
        }
        self.pending_pop = true;
        Ok(self.done(gt + 1, Event::End))
    }

    /// Finds the first `>` at or after `from` preceded by `a` `b` (`b` alone when `a` is 0).
    fn find_close(s: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
        let mut i = from;
        while let Some(k) = memchr::memchr(b'>', &s[i..]) {
            let j = i + k;
            if s[j - 1] == b && (a == 0 || s[j - 2] == a) {
                return Some(j);
            }
            i = j + 1;
        }
        None
    }

    /// `<!`: a comment, a CDATA section or a document type declaration.
    #[cold]
    #[inline(never)]
    fn bang(&mut self) -> TokResult<Step> {
        let s = &self.buf[self.pos..self.end];
        let Some(&kind) = s.get(2) else {
            return if self.eof {
                Err(syntax(SyntaxError::InvalidBangMarkup))
            } else {
                Ok(Step::More)
            };
        };
        let (close, min, unclosed) = match kind {
            b'[' => (b']', 4, SyntaxError::UnclosedCData),
            b'-' => (b'-', 6, SyntaxError::UnclosedComment),
            b'D' | b'd' => {
                // Refused on sight: the DTD is never read.
                let n = s.len().min(9);
                return if !s[..n].eq_ignore_ascii_case(&b"<!DOCTYPE"[..n]) {
                    Err(syntax(SyntaxError::UnclosedDoctype))
                } else if n == 9 {
                    fail(TokError::Dtd)
                } else if self.eof {
                    Err(syntax(SyntaxError::UnclosedDoctype))
                } else {
                    Ok(Step::More)
                };
            }
            _ => return Err(syntax(SyntaxError::InvalidBangMarkup)),
        };
        let from = self.resume.at.max(min);
        let Some(gt) = Self::find_close(s, from.min(s.len()), close, close) else {
            if self.eof {
                return Err(syntax(unclosed));
            }
            self.resume.at = s.len().max(min);
            return Ok(Step::More);
        };
        if std::str::from_utf8(&s[..=gt]).is_err() {
            return fail(TokError::Encoding);
        }
        if kind == b'[' {
            if !s.starts_with(b"<![CDATA[") {
                return Err(syntax(unclosed));
            }
            let span = Span {
                start: self.pos + 9,
                end: self.pos + gt - 2,
            };
            self.span = span;
            return Ok(self.done(gt + 1, Event::CData));
        }
        if !s.starts_with(b"<!--") {
            return Err(syntax(unclosed));
        }
        self.pos += gt + 1;
        self.resume = Resume::default();
        Ok(Step::Skip)
    }

    /// `<?`: a processing instruction or an XML declaration, whose encoding is checked.
    #[cold]
    #[inline(never)]
    fn pi(&mut self) -> TokResult<Step> {
        let s = &self.buf[self.pos..self.end];
        let from = self.resume.at.max(2);
        let Some(gt) = Self::find_close(s, from.min(s.len()), 0, b'?') else {
            if self.eof {
                return Err(syntax(PiParser(false).eof_error(s)));
            }
            self.resume.at = s.len().max(2);
            return Ok(Step::More);
        };
        let Ok(text) = std::str::from_utf8(&s[..=gt]) else {
            return fail(TokError::Encoding);
        };
        if gt < 3 {
            return Err(syntax(PiParser(false).eof_error(&s[..=gt])));
        }
        let content = &text[2..gt - 1];
        let cb = content.as_bytes();
        if cb.starts_with(b"xml") && (cb.len() == 3 || is_ws(cb[3])) {
            let decl = BytesDecl::from_start(BytesStart::from_content(content, 3));
            if let Some(Ok(label)) = decl.encoding() {
                crate::input::charset_by_label(&label)
                    .map_err(|e| Box::new(TokError::Other(Box::new(e))))?;
            }
        }
        self.pos += gt + 1;
        self.resume = Resume::default();
        Ok(Step::Skip)
    }
}

/// `MASKS[n]`: the low `n` bytes.
static MASKS: [u128; 17] = {
    let mut t = [0u128; 17];
    let mut n = 1;
    while n < 17 {
        t[n] = u128::MAX >> (8 * (16 - n));
        n += 1;
    }
    t
};

/// The low `n` bytes (all for `n >= 16`).
#[inline(always)]
fn mask16(n: usize) -> u128 {
    MASKS[n.min(16)]
}

/// The first 16 bytes of a name, zero-padded, as a number.
pub(crate) fn head16(name: &[u8]) -> u128 {
    let mut a = [0u8; 16];
    let n = name.len().min(16);
    a[..n].copy_from_slice(&name[..n]);
    u128::from_le_bytes(a)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Per byte of `x`, the high bit when the byte is below `0x30`, from `0x3A` to `0x3F`, or
/// not ASCII (the lowest flagged byte is exact): every byte in [`NAME_STOP`] is flagged.
#[inline(always)]
fn maybe_name_stop(x: u64) -> u64 {
    let low = x.wrapping_sub(LO * 0x30) | x;
    let x7 = x & !HI;
    let punct = x7.wrapping_add(LO * 0x46) & !x7.wrapping_add(LO * 0x40);
    (low | punct) & HI
}

const LO16: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
const HI16: u128 = 0x8080_8080_8080_8080_8080_8080_8080_8080;

/// Per byte of `x`, the high bit when the byte equals `b` (the lowest flagged byte is exact).
#[inline(always)]
fn eq_mask16(x: u128, b: u8) -> u128 {
    let y = x ^ (LO16 * u128::from(b));
    y.wrapping_sub(LO16) & !y & HI16
}

#[inline(always)]
fn load16(s: &[u8], i: usize) -> Option<u128> {
    let chunk = s.get(i..i + 16)?;
    let mut a = [0u8; 16];
    a.copy_from_slice(chunk);
    Some(u128::from_le_bytes(a))
}

#[inline(always)]
fn load8(s: &[u8], i: usize) -> Option<u64> {
    let chunk = s.get(i..i + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(chunk);
    Some(u64::from_le_bytes(a))
}

fn count_newlines(bytes: &[u8]) -> u64 {
    // Written so that it vectorises.
    let mut n = 0u64;
    for chunk in bytes.chunks(255) {
        let mut c = 0u8;
        for &b in chunk {
            c += u8::from(b == b'\n');
        }
        n += u64::from(c);
    }
    n
}

/// XML 1.0 line-end normalisation: `\r\n` and lone `\r` become `\n`.
pub(crate) fn normalize_eols(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\r') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// Hands out the input in pieces: first `first` bytes, then `step` bytes per read.
    struct Pieces<'a> {
        data: &'a [u8],
        first: Option<usize>,
        step: usize,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.first.take().unwrap_or(self.step);
            let k = n.min(out.len()).min(self.data.len());
            out[..k].copy_from_slice(&self.data[..k]);
            self.data = &self.data[k..];
            Ok(k)
        }
    }

    /// Every event as text, with its offset and position, and the position of the innermost
    /// open element's start tag; the error as text at the end.
    fn events(doc: &[u8], first: Option<usize>, step: usize, skip_blank: bool) -> Vec<String> {
        let mut src = Pieces {
            data: doc,
            first,
            step,
        };
        // A small buffer: refills, moves and growth happen all the time.
        let mut t = Tokenizer::with_capacity(64, 1 << 20, 4096);
        t.skip_blank = skip_blank;
        let mut out = Vec::new();
        loop {
            let ev = t.next(&mut src);
            let at = t.event_start();
            let (l, c) = t.position(at);
            let open = if t.depth() > 0 {
                format!("{:?}", t.open_position(t.depth() - 1))
            } else {
                "-".into()
            };
            let stop = matches!(ev, Ok(Event::Eof) | Err(_))
                || matches!(ev, Ok(Event::Text { .. }) if t.text(t.span()).is_err());
            let what = match ev {
                Ok(Event::Start) => {
                    let s = t.start();
                    format!(
                        "start {} [{}] colon {:?}",
                        String::from_utf8_lossy(t.name(s)),
                        String::from_utf8_lossy(t.attrs(s)),
                        s.colon
                    )
                }
                Ok(Event::End) => "end".into(),
                Ok(Event::Text { cr }) => match t.text(t.span()) {
                    Ok(x) => format!("text {x:?} cr {cr}"),
                    Err(e) => format!("text error {e:?}"),
                },
                Ok(Event::Char(ch)) => format!("char {ch:?}"),
                Ok(Event::CData) => format!("cdata {:?}", t.text(t.span()).unwrap()),
                Ok(Event::Eof) => "eof".into(),
                Err(e) => format!("error {e:?}"),
            };
            out.push(format!("{at} {l}:{c} open {open} {what}"));
            if stop {
                return out;
            }
        }
    }

    fn whole(doc: &[u8]) -> Vec<String> {
        events(doc, None, usize::MAX, false)
    }

    /// The same events however the input is cut: at every offset, and in pieces of 1 to 7.
    fn same_when_split(doc: &[u8]) -> Vec<String> {
        let want = whole(doc);
        for k in 1..=doc.len() {
            assert_eq!(
                events(doc, Some(k), usize::MAX, false),
                want,
                "split at {k}"
            );
        }
        for step in 1..=7 {
            assert_eq!(events(doc, None, step, false), want, "pieces of {step}");
        }
        want
    }

    const DOC: &str = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<!-- a -- b > c -->\n\
        <p:Root xmlns:p=\"urn:x\" a='1>2' b=\"q'q\">\n  <Child/><Other x=\"&amp;\" />\n\
        <AVeryLongElementNameIndeed>t&lt;&#65;&#x4e2d;&quot;x</AVeryLongElementNameIndeed >\n\
        <![CDATA[a]]b]>c>]]><?pi x > y?>中文\r\nz<a\"b\">q</a\"b\"></p:Root>\n";

    #[test]
    fn reports_every_construct() {
        let got = whole(DOC.as_bytes());
        // Offsets count the byte-order mark; columns are bytes from the line start.
        let want = [
            "41 1:42 open - text \"\\r\\n\" cr true",
            "62 2:20 open - text \"\\n\" cr false",
            "63 3:1 open (3, 1) start p:Root [ xmlns:p=\"urn:x\" a='1>2' b=\"q'q\"] colon Some(1)",
            "103 3:41 open (3, 1) text \"\\n  \" cr false",
            "106 4:3 open (4, 3) start Child [] colon None",
            "114 4:11 open (4, 3) end",
            "114 4:11 open (4, 11) start Other [ x=\"&amp;\" ] colon None",
            "133 4:30 open (4, 11) end",
            "133 4:30 open (3, 1) text \"\\n\" cr false",
            "134 5:1 open (5, 1) start AVeryLongElementNameIndeed [] colon None",
            "162 5:29 open (5, 1) text \"t\" cr false",
            "163 5:30 open (5, 1) char '<'",
            "167 5:34 open (5, 1) char 'A'",
            "172 5:39 open (5, 1) char '中'",
            "180 5:47 open (5, 1) char '\"'",
            "186 5:53 open (5, 1) text \"x\" cr false",
            "187 5:54 open (5, 1) end",
            "217 5:84 open (3, 1) text \"\\n\" cr false",
            "218 6:1 open (3, 1) cdata \"a]]b]>c>\"",
            "250 6:33 open (3, 1) text \"中文\\r\\nz\" cr true",
            "259 7:2 open (7, 2) start a\"b\" [] colon None",
            "265 7:8 open (7, 2) text \"q\" cr false",
            "266 7:9 open (7, 2) end",
            "273 7:16 open (3, 1) end",
            "282 7:25 open - text \"\\n\" cr false",
            "283 8:1 open - eof",
        ];
        assert_eq!(got, want, "{got:#?}");
    }

    #[test]
    fn tokens_split_anywhere_give_the_same_events() {
        same_when_split(DOC.as_bytes());
        // Lines and columns of events and open elements stay exact across many refills.
        let mut big = String::from("<r>\n");
        for i in 0..3000 {
            big.push_str(&format!(
                "  <e n=\"{i}\">v{i}&amp;<![CDATA[c]]><!--x--></e>\n"
            ));
        }
        big.push_str("</r>");
        let got = events(big.as_bytes(), None, 997, false);
        assert_eq!(got, whole(big.as_bytes()));
        let last = got.iter().rev().find(|e| e.contains("start e")).unwrap();
        assert!(last.contains(" 3001:3 open (3001, 3) "), "{last}");
        assert!(got.last().unwrap().ends_with("eof"));
    }

    #[test]
    fn blank_text_is_skipped_only_when_asked() {
        let doc = b"<a>\n  <b> </b>\r\n\t<c/> x </a>";
        let kept = whole(doc).len();
        let skipped = events(doc, None, usize::MAX, true);
        // The blanks before <b> and <c/> go; " " inside <b> is before markup too; " x " stays.
        assert_eq!(kept - skipped.len(), 3, "{skipped:#?}");
        assert!(skipped.iter().any(|e| e.ends_with("text \" x \" cr false")));
        for step in 1..=5 {
            assert_eq!(events(doc, None, step, true), skipped);
        }
    }

    fn last_error(doc: &[u8]) -> String {
        let got = same_when_split(doc);
        got.last().unwrap().clone()
    }

    #[track_caller]
    fn fails(doc: &str, want: &str) {
        let e = last_error(doc.as_bytes());
        assert!(e.contains(want), "{doc:?}: {e}");
    }

    #[test]
    fn references() {
        fails("<a>&nope;</a>", "error Entity(\"nope\")");
        fails("<a>&;</a>", "error Entity(\"\")");
        fails("<a>&#0;</a>", "invalid character reference");
        fails("<a>&#xD800;</a>", "invalid character reference");
        fails("<a>&#X41;</a>", "invalid character reference");
        fails("<a>&#-1;</a>", "invalid character reference");
        fails("<a>&amp</a>", "reference not closed");
        fails("<a>&amp &lt;</a>", "reference not closed");
        fails("<a>x&amp", "reference not closed");
        let e = last_error(b"<a>&\xFF;</a>");
        assert!(e.ends_with("error Encoding"), "{e}");
        // The position of a reference error is the `&`.
        assert!(last_error(b"<a>\n xy&bad;</a>").starts_with("7 2:4 "));
    }

    #[test]
    fn well_formedness_errors() {
        fails("<a></b>", "expected `</a>`, but `</b>` was found");
        fails(
            "<abcdefghijklmnopqrst></abcdefghijklmnopqrsu>",
            "but `</abcdefghijklmnopqrsu>`",
        );
        fails("<a></a >", "eof");
        fails("<a></ a>", "expected `</a>`");
        fails("<a></a b=\">\">", "expected `</a>`");
        fails("</a>", "close tag `</a>` does not match any open tag");
        fails("<a", "tag not closed");
        fails("<", "tag not closed");
        fails("<a b=\"x>", "attribute value not closed: `\\\"` not found");
        fails("<a b='x>", "attribute value not closed: `'` not found");
        fails(
            "<a><!-- x -",
            "3 1:4 open (1, 1) error Malformed(\"syntax error: comment not closed",
        );
        fails("<a><!-->", "comment not closed");
        fails("<a><!-x-->", "comment not closed");
        fails("<a><![CDATA[x]]", "CDATA not closed");
        fails("<a><![CDAT[x]]>", "CDATA not closed");
        fails("<a><!x>", "unknown or missed symbol in markup");
        fails("<a><!", "unknown or missed symbol in markup");
        fails("<!DOCTYPE a [<!ENTITY x \"y\">]><a/>", "error Dtd");
        fails("<!doctype", "error Dtd");
        fails("<!DOCTYP", "DOCTYPE not closed");
        fails("<!D><a/>", "DOCTYPE not closed");
        fails("<a><?pi", "processing instruction not closed");
        fails("<?xml version='1.0'", "XML declaration not closed");
        fails("<?><a/>", "processing instruction not closed");
        fails("<??><a/>", "eof");
        fails(
            "<?xml version='1.0' encoding='latin1'?><a/>",
            "error Other(EncodingUnsupported",
        );
        fails(
            "<a xmlns:xml='urn:x'/>",
            "prefix 'xml' cannot be bound to 'urn:x'",
        );
        fails("<a xmlns:xmlns='urn:x'/>", "prefix 'xmlns' cannot be bound");
        for bad in [
            &b"<a\xFF/>"[..],
            b"<a b='\xFF'/>",
            b"<a></a\xFF>",
            b"<!--\xFF-->",
            b"<?pi \xFF?>",
            b"<a><![CDATA[\xE4\xB8]]></a>",
        ] {
            let e = last_error(bad);
            assert!(e.ends_with("error Encoding"), "{bad:?}: {e}");
        }
        let e = last_error(b"<a>x\xE4\xB8</a>");
        assert!(e.ends_with("text error Encoding"), "{e}");
    }

    #[test]
    fn names_and_namespaces() {
        let got = whole(b"<a/ ><b:c xmlns:b='urn:b'><d/></b:c></a/>");
        assert!(got[0].ends_with("start a/ [ ] colon None"), "{got:#?}");
        let mut t = Tokenizer::new(u64::MAX, 4096);
        let doc = b"<r xmlns='urn:d' xmlns:p='urn:p'><p:x/><y/><q:z/></r><w/><xml:v/>";
        let mut src = &doc[..];
        let mut seen = Vec::new();
        loop {
            match t.next(&mut src).unwrap() {
                Event::Start => seen.push(match t.resolve_element(t.start()) {
                    Ok((ns, local)) => format!("{ns:?} {}", String::from_utf8_lossy(local)),
                    Err(p) => format!("unknown {p}"),
                }),
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(
            seen,
            [
                "Some(\"urn:d\") r",
                "Some(\"urn:p\") x",
                "Some(\"urn:d\") y",
                "unknown q",
                "None w",
                "Some(\"http://www.w3.org/XML/1998/namespace\") v",
            ]
        );
    }

    #[test]
    fn limits() {
        let mut t = Tokenizer::new(10, 4096);
        let mut src = &b"<a>0123456789</a>"[..];
        let mut last = None;
        for _ in 0..5 {
            last = Some(t.next(&mut src));
            if matches!(last, Some(Err(_))) {
                break;
            }
        }
        assert!(matches!(*last.unwrap().unwrap_err(), TokError::TooBig));
        let long = format!("<a>{}</a>", "x".repeat(200_000));
        let mut t = Tokenizer::new(u64::MAX, 100_000);
        let mut src = Pieces {
            data: long.as_bytes(),
            first: None,
            step: 4096,
        };
        assert_eq!(t.next(&mut src).unwrap(), Event::Start);
        assert!(matches!(
            *t.next(&mut src).unwrap_err(),
            TokError::EventTooBig
        ));
    }

    /// Events as text, each with its offset; `fused`: after every start tag, text and end tag
    /// are taken with `leaf_text` and `take_end` when it says so.
    fn leaf_events(doc: &[u8], first: Option<usize>, step: usize, fused: bool) -> Vec<String> {
        let mut src = Pieces {
            data: doc,
            first,
            step,
        };
        let mut t = Tokenizer::with_capacity(64, 1 << 20, 4096);
        let mut out = Vec::new();
        loop {
            let ev = t.next(&mut src);
            out.push(format!("{} {ev:?}", t.event_start()));
            match ev {
                Ok(Event::Start) if fused => {
                    if let Some(len) = t.leaf_text() {
                        out.push(format!(
                            "{} Ok(Text {{ cr: false }}) {:?}",
                            t.event_start(),
                            t.text(t.span()).unwrap()
                        ));
                        t.take_end(len);
                        out.push(format!("{} Ok(End)", t.event_start()));
                    }
                }
                Ok(Event::Text { .. }) => {
                    let last = out.pop().unwrap();
                    out.push(format!("{last} {:?}", t.text(t.span()).unwrap()));
                }
                Ok(Event::Eof) | Err(_) => return out,
                _ => {}
            }
        }
    }

    #[test]
    fn leaf_text_reads_what_the_text_and_end_events_would() {
        let doc = b"<r>\n <a>text</a><b>x&amp;y</b><c></c><d/><e>t\r\n</e>\
            <abcdefghijklmnopq>long</abcdefghijklmnopq><f> </f><g>\xE4\xB8\xAD</g><h>v</h >\
            <i>w</j></r>";
        let want = leaf_events(doc, None, usize::MAX, false);
        for k in 1..=doc.len() {
            assert_eq!(
                leaf_events(doc, Some(k), usize::MAX, true),
                want,
                "split at {k}"
            );
        }
        for step in 1..=7 {
            assert_eq!(leaf_events(doc, None, step, true), want, "pieces of {step}");
        }
        assert!(
            want.last().unwrap().contains("expected `</i>`"),
            "{want:#?}"
        );
        // With the whole document at hand, the plain values are taken at once.
        let mut t = Tokenizer::new(1 << 20, 4096);
        let mut src = &doc[..];
        let mut taken = Vec::new();
        while let Ok(ev) = t.next(&mut src) {
            match ev {
                Event::Start => {
                    if let Some(len) = t.leaf_text() {
                        taken.push(String::from_utf8_lossy(t.bytes(t.span())).into_owned());
                        t.take_end(len);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        // Not: a reference, a carriage return, a name over 16 bytes, `</h >`, a mismatch.
        assert_eq!(taken, ["text", " ", "中"]);
    }

    #[test]
    fn name_stop_candidates_are_exact_at_the_lowest_byte() {
        for b in 0..=255u8 {
            let candidate = b < 0x30 || (0x3A..=0x3F).contains(&b) || b >= 0x80;
            if NAME_STOP[b as usize] {
                assert!(candidate, "{b:#x}");
            }
            if b.is_ascii_alphanumeric() || b == b'_' {
                assert!(!candidate, "{b:#x}");
            }
            for at in 0..8 {
                for after in [0x00, 0x2F, 0x30, 0x3A, 0x7F, 0x80, 0xFF, b] {
                    let mut w = [b'a'; 8];
                    w[at] = b;
                    w[at + 1..].fill(after);
                    let m = maybe_name_stop(u64::from_le_bytes(w));
                    let want = if candidate {
                        Some(at)
                    } else {
                        w[at + 1..]
                            .iter()
                            .position(|&c| c < 0x30 || (0x3A..=0x3F).contains(&c) || c >= 0x80)
                            .map(|k| at + 1 + k)
                    };
                    let got = (m != 0).then(|| (m.trailing_zeros() / 8) as usize);
                    assert_eq!(got, want, "{b:#x} at {at}, then {after:#x}");
                }
            }
        }
    }

    #[test]
    fn line_ends_are_normalised() {
        assert_eq!(normalize_eols("a\r\nb\rc\n\r\r\n"), "a\nb\nc\n\n\n");
        assert!(matches!(normalize_eols("plain"), Cow::Borrowed(_)));
    }
}

#[cfg(test)]
mod speed {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// `cargo test --release -p mappings --lib tokenizer::speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn events_only() {
        let path = std::env::var("DOC").unwrap_or("/tmp/fdn100.xml".into());
        for _ in 0..3 {
            let f = std::fs::File::open(&path).unwrap();
            let len = f.metadata().unwrap().len();
            let mut src = std::io::BufReader::with_capacity(64 * 1024, f);
            let mut t = Tokenizer::new(u64::MAX, 1 << 30);
            t.skip_blank = true;
            let start = std::time::Instant::now();
            let mut n = 0u64;
            loop {
                match t.next(&mut src).unwrap() {
                    Event::Eof => break,
                    Event::Text { .. } => n += t.text(t.span()).unwrap().len() as u64,
                    _ => n += 1,
                }
            }
            let s = start.elapsed().as_secs_f64();
            println!("{n} {:.0} MB/s", len as f64 / s / 1e6);
        }
    }
}
