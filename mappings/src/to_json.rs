//! XML → JSON, streaming: one pass over the tokenizer's events, validating against the
//! compiled schema tree and writing JSON as soon as each part is complete.
//!
//! Each element that starts a group (a JSON object) gets a small instance holding the rendered
//! JSON text of its slots; the instance is rendered when the element ends. Arrays of groups at
//! the top level of the message (the records) are written to the output item by item, so memory
//! stays flat however many records a document holds.

use std::borrow::Cow;
use std::io::{BufRead, Read, Write};

use quick_xml::events::attributes::{AttrError, Attribute, Attributes};
use quick_xml::name::{QName, ResolveResult};

use crate::definition::{Compiled, Entry, Group, MixedContent, Node, SlotKind};
use crate::error::{Error, Location};
use crate::input::{self, Charset, Limits, Transcode};
use crate::tokenizer::{Event, Start, TokError, Tokenizer, is_blank, is_ws, normalize_eols};
use crate::value::{Refusal, xml_trim};
use crate::xsd::Model;

/// Output is handed to the writer in pieces of about this size.
const OUT_CAP: usize = 64 * 1024;

pub(crate) const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

pub(crate) struct Settings<'a> {
    pub limits: &'a Limits,
    pub mixed: MixedContent,
}

/// Converts one document read from `input` and writes its JSON to `out`.
pub(crate) fn convert<R: Read, W: Write>(
    m: &Compiled,
    settings: &Settings<'_>,
    mut input: R,
    mut out: W,
) -> Result<(), Error> {
    let head = input::read_head(&mut input)?;
    let (charset, skip) = input::sniff(&head)?;
    let mut source = std::io::Cursor::new(head).chain(input);
    if skip > 0 {
        let mut bom = [0u8; 3];
        source.read_exact(&mut bom[..skip]).map_err(Error::Io)?;
    }
    match charset {
        Charset::Utf8 => Run::new(m, settings, source, charset).run(&mut out)?,
        Charset::Gb18030 => Run::new(m, settings, Transcode::new(source), charset).run(&mut out)?,
    }
    out.flush().map_err(Error::Io)
}

#[derive(Debug, Default, Clone)]
struct Val {
    json: String,
    count: u32,
}

struct Inst {
    gid: usize,
    vals: Vec<Val>,
}

struct Frame<'m> {
    node: &'m Node,
    /// The node's children and content model, at hand.
    kids: &'m [Node],
    model: Model,
    /// Where to start looking for the next child: after the last one seen, unless that one
    /// may repeat (sequences; always the first otherwise).
    hint: usize,
    occurrence: u32,
    counts_at: usize,
    seq: usize,
    text_at: usize,
    /// Index of the element among the tokenizer's open elements (for its start tag's position).
    depth: usize,
    /// The element holds only text (its whitespace counts).
    leaf: bool,
    /// A `leaf` that starts no group (see [`State::plain_leaf`]).
    plain: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outer {
    Envelope,
    Body,
}

/// What the reading loop does after a start tag.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    /// The SOAP body holds a fault: read it and report it.
    Fault,
}

/// Top-level writing state of the root object.
struct RootOut {
    started: bool,
    any: bool,
    written: Vec<bool>,
    open: Option<usize>,
    open_items: u64,
    closed: Vec<bool>,
}

struct Run<'m, 's, R: Read> {
    src: R,
    tok: Tokenizer,
    st: State<'m, 's>,
}

/// Everything but the input: the tokenizer is passed along so that events can borrow it.
struct State<'m, 's> {
    m: &'m Compiled,
    s: &'s Settings<'s>,
    charset: Charset,
    frames: Vec<Frame<'m>>,
    counts: Vec<u32>,
    text: String,
    insts: Vec<Inst>,
    /// Finished instances, by group, for reuse.
    pool: Vec<Vec<Inst>>,
    outer: Vec<Outer>,
    skip: usize,
    done: bool,
    root: RootOut,
    scratch: String,
    /// Output not yet handed to the writer (records are rendered straight into it).
    obuf: String,
    /// Errors point at the start tag of this open element instead of the current event (while
    /// its value is checked).
    loc: Option<usize>,
    attr_seen: Vec<bool>,
}

impl<'m, 's, R: Read> Run<'m, 's, R> {
    fn new(m: &'m Compiled, s: &'s Settings<'s>, src: R, charset: Charset) -> Self {
        let tops = m.groups[0].shape.len();
        let slots = m.groups[0].slots.len();
        let max_event = (s.limits.max_text_len as u64).saturating_add(64 * 1024);
        Run {
            src,
            tok: Tokenizer::new(s.limits.max_bytes, max_event),
            st: State {
                m,
                s,
                charset,
                frames: Vec::with_capacity(16),
                counts: Vec::with_capacity(256),
                text: String::with_capacity(1024),
                insts: Vec::new(),
                pool: Vec::new(),
                outer: Vec::new(),
                skip: 0,
                done: false,
                root: RootOut {
                    started: false,
                    any: false,
                    written: vec![false; tops],
                    open: None,
                    open_items: 0,
                    closed: vec![false; slots],
                },
                scratch: String::new(),
                obuf: String::with_capacity(OUT_CAP + 4096),
                loc: None,
                attr_seen: Vec::new(),
            },
        }
    }

    /// Converts the document; what was rendered is handed to `out` even when the document is
    /// refused midway (as a buffered writer would when dropped).
    fn run<W: Write>(mut self, out: &mut W) -> Result<(), Error> {
        let r = self.events(out);
        let tail = out.write_all(self.st.obuf.as_bytes());
        r?;
        tail.map_err(Error::Io)
    }

    fn events<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
        loop {
            self.tok.skip_blank = !self.st.keeps_blank();
            let event = match self.tok.next(&mut self.src) {
                Ok(e) => e,
                Err(e) => return Err(self.st.tok_error(&self.tok, *e)),
            };
            self.st.loc = None;
            let (st, tok) = (&mut self.st, &self.tok);
            match event {
                Event::Start => {
                    if st.start(tok, tok.start(), out)? == Flow::Fault {
                        return Err(self.fault());
                    }
                    // A text-only element whose value and end tag follow at once (most): the
                    // same as reading its text event and then its end, in one step.
                    if self.st.plain_leaf()
                        && let Some(len) = self.tok.leaf_text()
                    {
                        let (st, tok) = (&mut self.st, &self.tok);
                        let t = tok.text(tok.span()).map_err(|e| st.tok_error(tok, *e))?;
                        st.leaf(tok, t)?;
                        self.tok.take_end(len);
                    }
                }
                Event::End => st.end(tok, out)?,
                Event::Text { cr } => {
                    let span = tok.span();
                    if !st.keeps_blank() && is_blank(tok.bytes(span)) {
                        continue;
                    }
                    let t = tok.text(span).map_err(|e| st.tok_error(tok, *e))?;
                    if cr {
                        st.text(tok, &normalize_eols(t))?;
                    } else if let Some(len) = tok.end_follows()
                        && st.plain_leaf()
                    {
                        // A text-only element's whole value, its end tag next: bound straight
                        // from the buffer, the end handled before the tag is taken.
                        st.leaf(tok, t)?;
                        self.tok.take_end(len);
                    } else {
                        st.text(tok, t)?;
                    }
                }
                Event::Char(c) => {
                    let mut tmp = [0u8; 4];
                    st.text(tok, c.encode_utf8(&mut tmp))?;
                }
                Event::CData => {
                    let t = tok.text(tok.span()).map_err(|e| st.tok_error(tok, *e))?;
                    st.text(tok, &normalize_eols(t))?;
                }
                Event::Eof => break,
            }
        }
        if !self.st.done {
            return Err(Error::XmlMalformed {
                at: self.st.at(&self.tok),
                detail: "the document ends before the message is complete".into(),
            });
        }
        if !self.st.outer.is_empty() {
            return Err(Error::XmlMalformed {
                at: self.st.at(&self.tok),
                detail: "the document ends before the SOAP envelope is complete".into(),
            });
        }
        Ok(())
    }

    fn fault(&mut self) -> Error {
        let mut at = self.st.at(&self.tok);
        at.path.push_str("/Fault");
        let mut code = String::new();
        let mut message = String::new();
        let mut field: Option<bool> = None;
        let mut depth = 1usize;
        while depth > 0 {
            match self.tok.next(&mut self.src) {
                Ok(Event::Start) => {
                    depth += 1;
                    let name = self.tok.name(self.tok.start());
                    let local = match memchr::memchr(b':', name) {
                        Some(i) => &name[i + 1..],
                        None => name,
                    };
                    field = match local {
                        b"faultcode" => Some(true),
                        b"faultstring" => Some(false),
                        _ => None,
                    };
                }
                Ok(Event::End) => {
                    depth -= 1;
                    field = None;
                }
                Ok(Event::Text { .. }) => {
                    let Ok(t) = self.tok.text(self.tok.span()) else {
                        break;
                    };
                    match field {
                        Some(true) if code.len() < 256 => code.push_str(xml_trim(t)),
                        Some(false) if message.len() < 1024 => message.push_str(xml_trim(t)),
                        _ => {}
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Error::SoapFault { at, code, message }
    }
}

/// The attributes of a start tag, with quick-xml's checks (well-formedness, duplicates); a
/// single plain `key="value"` is read without it.
enum AttrIter<'a> {
    One(Option<(&'a str, &'a str)>),
    Qx(Attributes<'a>),
}

impl<'a> AttrIter<'a> {
    fn new(content: &'a str, name_len: usize) -> Self {
        match single_attr(&content[name_len..]) {
            Some(kv) => AttrIter::One(Some(kv)),
            None => AttrIter::Qx(Attributes::new(content, name_len)),
        }
    }
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Result<(&'a str, Cow<'a, str>), AttrError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            AttrIter::One(kv) => kv.take().map(|(k, v)| Ok((k, Cow::Borrowed(v)))),
            AttrIter::Qx(it) => it.next().map(|r| r.map(|a| (a.key.into_inner(), a.value))),
        }
    }
}

/// ` key="value" ` (whitespace, one attribute, whitespace); `None` for anything else.
fn single_attr(raw: &str) -> Option<(&str, &str)> {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let key_start = i;
    while i < b.len() && !is_ws(b[i]) && !matches!(b[i], b'=' | b'"' | b'\'') {
        i += 1;
    }
    if i == key_start || b.get(i) != Some(&b'=') {
        return None;
    }
    let key_end = i;
    let quote = *b.get(i + 1)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value_start = i + 2;
    let value_end = value_start + memchr::memchr(quote, &b[value_start..])?;
    if !is_blank(&b[value_end + 1..]) {
        return None;
    }
    Some((&raw[key_start..key_end], &raw[value_start..value_end]))
}

/// Finds a child by name and namespace, from `hint` on (children are unique by both, so the
/// order of the search changes nothing but its speed).
#[inline(always)]
fn find_child(
    children: &[Node],
    local: &[u8],
    head: u128,
    ns: Option<&str>,
    hint: usize,
) -> Option<usize> {
    let n = children.len();
    let mut i = hint.min(n);
    for _ in 0..n {
        if i == n {
            i = 0;
        }
        let c = &children[i];
        if c.head == head
            && c.name.len() == local.len()
            && (local.len() <= 16 || c.name.as_bytes() == local)
            && c.ns.as_deref() == ns
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

impl<'m, 's> State<'m, 's> {
    fn at(&self, tok: &Tokenizer) -> Location {
        let (line, column) = match self.loc.and_then(|f| self.frames.get(f)) {
            Some(frame) => tok.open_position(frame.depth),
            None => tok.position(tok.event_start()),
        };
        Location::at((line, column), self.path())
    }

    /// The element path of the current event: from the message element; in a SOAP envelope,
    /// outside the message, the envelope's (`/Envelope/Body`).
    fn path(&self) -> String {
        let mut p = String::new();
        if self.frames.is_empty() {
            for o in &self.outer {
                p.push_str(match o {
                    Outer::Envelope => "/Envelope",
                    Outer::Body => "/Body",
                });
            }
        }
        for f in &self.frames {
            p.push('/');
            p.push_str(&f.node.name);
            if f.node.max > 1 {
                p.push_str(&format!("[{}]", f.occurrence));
            }
        }
        p
    }

    #[cold]
    fn tok_error(&self, tok: &Tokenizer, e: TokError) -> Error {
        let limits = self.s.limits;
        let at = self.at(tok);
        match e {
            TokError::Malformed(detail) => Error::XmlMalformed { at, detail },
            TokError::Encoding => Error::EncodingInvalid {
                at,
                encoding: self.charset.name().to_owned(),
            },
            TokError::Dtd => Error::DtdForbidden { at },
            TokError::Entity(name) => Error::EntityForbidden { at, name },
            TokError::TooBig => Error::LimitExceeded {
                at,
                limit: "document size in bytes",
                max: limits.max_bytes,
            },
            TokError::EventTooBig => Error::LimitExceeded {
                at,
                limit: "text length in bytes",
                max: limits.max_text_len as u64,
            },
            TokError::Io(io) => {
                if io
                    .get_ref()
                    .is_some_and(|i| i.downcast_ref::<input::Malformed>().is_some())
                {
                    Error::EncodingInvalid {
                        at,
                        encoding: self.charset.name().to_owned(),
                    }
                } else if io.kind() == std::io::ErrorKind::InvalidData {
                    Error::XmlMalformed {
                        at,
                        detail: format!("I/O error: {io}"),
                    }
                } else {
                    Error::Io(io)
                }
            }
            // An unsupported encoding in the declaration: at the declaration.
            TokError::Other(e) => e.or_at(at),
        }
    }

    fn schema(&self, tok: &Tokenizer, detail: String) -> Error {
        Error::SchemaInvalid {
            at: self.at(tok),
            detail,
        }
    }

    fn malformed(&self, tok: &Tokenizer, detail: String) -> Error {
        Error::XmlMalformed {
            at: self.at(tok),
            detail,
        }
    }

    fn refusal(&self, tok: &Tokenizer, r: Refusal, path_suffix: &str) -> Error {
        let mut at = self.at(tok);
        at.path.push_str(path_suffix);
        match r {
            Refusal::Type(detail) => Error::TypeInvalid { at, detail },
            Refusal::Enum(value) => Error::EnumUnknown { at, value },
        }
    }

    fn limit(&self, tok: &Tokenizer, limit: &'static str, max: u64) -> Error {
        Error::LimitExceeded {
            at: self.at(tok),
            limit,
            max,
        }
    }

    /// Whether whitespace-only text matters here (it is part of a text-only element's value).
    fn keeps_blank(&self) -> bool {
        self.skip == 0 && self.frames.last().is_some_and(|f| f.leaf)
    }

    fn start<W: Write>(&mut self, tok: &Tokenizer, e: &Start, out: &mut W) -> Result<Flow, Error> {
        let limits = self.s.limits;
        let depth = self.frames.len() + self.outer.len() + self.skip;
        if depth >= limits.max_depth {
            return Err(self.limit(tok, "element depth", limits.max_depth as u64));
        }
        if tok.name(e).len() > limits.max_name_len {
            return Err(self.limit(tok, "name length in bytes", limits.max_name_len as u64));
        }
        if self.skip > 0 {
            self.skip += 1;
            self.check_attr_limits(tok, e)?;
            return Ok(Flow::Go);
        }
        if self.done {
            if self.outer.is_empty() {
                return Err(self.malformed(tok, "content after the document element".into()));
            }
            self.skip = 1;
            self.check_attr_limits(tok, e)?;
            return Ok(Flow::Go);
        }
        let (ns, local) = match tok.resolve_element(e) {
            Ok(r) => r,
            Err(p) => {
                return Err(self.malformed(tok, format!("namespace prefix {p} is not declared")));
            }
        };
        if self.frames.is_empty() {
            // Envelope handling, then the message root.
            let is_soap = ns == Some(SOAP11);
            match (self.outer.last().copied(), is_soap, local) {
                (None, true, b"Envelope") => {
                    self.check_attr_limits(tok, e)?;
                    self.outer.push(Outer::Envelope);
                    return Ok(Flow::Go);
                }
                (Some(Outer::Envelope), true, b"Header") => {
                    self.skip = 1;
                    self.check_attr_limits(tok, e)?;
                    return Ok(Flow::Go);
                }
                (Some(Outer::Envelope), true, b"Body") => {
                    self.check_attr_limits(tok, e)?;
                    self.outer.push(Outer::Body);
                    return Ok(Flow::Go);
                }
                (Some(Outer::Body), true, b"Fault") => return Ok(Flow::Fault),
                (Some(Outer::Envelope), _, _) => {
                    return Err(self.schema(
                        tok,
                        format!("unexpected element {} in the SOAP envelope", lossy(local)),
                    ));
                }
                _ => {}
            }
            let root = &self.m.root;
            if root.name.as_bytes() != local || root.ns.as_deref() != ns {
                return Err(self.schema(
                    tok,
                    format!(
                        "the message element must be {}{} but is {}{}",
                        ns_label(root.ns.as_deref()),
                        root.name,
                        ns_label(ns),
                        lossy(local)
                    ),
                ));
            }
            self.take_inst(0);
            self.push_frame(tok, root, 1);
            if !root.attrs.is_empty() || !tok.attrs(e).is_empty() {
                self.attributes(tok, e, root)?;
            }
            return Ok(Flow::Go);
        }
        let top = self.frames.len() - 1;
        let (parent, kids, model, hint) = {
            let f = &self.frames[top];
            (f.node, f.kids, f.model, f.hint)
        };
        let head = if e.has_colon() {
            crate::tokenizer::head16(local)
        } else {
            tok.head()
        };
        let Some(idx) = find_child(kids, local, head, ns, hint) else {
            let known = parent.children.iter().any(|c| c.name.as_bytes() == local);
            let local = lossy(local);
            let what = if known {
                format!(
                    "element {} is in namespace {} but the schema expects it elsewhere",
                    local,
                    ns_label(ns)
                )
            } else if parent.children.is_empty() {
                format!(
                    "element {} is not allowed inside {}, which holds only text",
                    local, parent.name
                )
            } else {
                format!("unexpected element {}", local)
            };
            return Err(self.schema(tok, what));
        };
        let child = &kids[idx];
        let c = self.frames[top].counts_at + idx;
        self.counts[c] += 1;
        let occurrence = self.counts[c];
        if occurrence > child.max {
            return Err(self.schema(
                tok,
                format!(
                    "element {} occurs more than {} time(s)",
                    child.name, child.max
                ),
            ));
        }
        match model {
            Model::Sequence => {
                let f = &mut self.frames[top];
                let seq = f.seq;
                if idx < seq {
                    return Err(self.schema(
                        tok,
                        format!(
                            "element {} must come before {}",
                            child.name, parent.children[seq].name
                        ),
                    ));
                }
                f.seq = idx;
                f.hint = if child.max <= 1 { idx + 1 } else { idx };
            }
            Model::Choice { .. } => {
                let at = self.frames[top].counts_at;
                if let Some(other) =
                    (0..parent.children.len()).find(|&i| i != idx && self.counts[at + i] > 0)
                {
                    return Err(self.schema(
                        tok,
                        format!(
                            "only one of the choices may appear, but both {} and {} do",
                            parent.children[other].name, child.name
                        ),
                    ));
                }
            }
            Model::All => {}
        }
        // Text gathered so far stays only where it is bound: a simple type's, or the kept
        // text pieces of a mixed element (`mixed_content = "keep"`), which continue after
        // this child.
        if self.text.len() > self.frames[top].text_at
            && parent.text.is_none()
            && parent.text_bind.is_none()
        {
            self.text.truncate(self.frames[top].text_at);
        }
        if let Some((slot, gid)) = child.group {
            if self.insts.len() == 1 && self.is_stream_slot(slot) {
                self.open_stream(tok, slot, out)?;
            }
            self.take_inst(gid);
        }
        self.push_frame(tok, child, occurrence);
        if !child.attrs.is_empty() || !tok.attrs(e).is_empty() {
            self.attributes(tok, e, child)?;
        }
        Ok(Flow::Go)
    }

    fn is_stream_slot(&self, slot: usize) -> bool {
        let s = &self.m.groups[0].slots[slot];
        s.array && s.json.len() == 1
    }

    #[inline(always)]
    fn push_frame(&mut self, tok: &Tokenizer, node: &'m Node, occurrence: u32) {
        let counts_at = self.counts.len();
        if !node.children.is_empty() {
            self.counts.resize(counts_at + node.children.len(), 0);
        }
        let leaf = node.children.is_empty() && node.text.is_some();
        self.frames.push(Frame {
            node,
            kids: &node.children,
            model: node.model,
            hint: 0,
            occurrence,
            counts_at,
            seq: 0,
            text_at: self.text.len(),
            depth: tok.depth().saturating_sub(1),
            leaf,
            plain: leaf && node.group.is_none(),
        });
    }

    fn take_inst(&mut self, gid: usize) {
        let n = self.m.groups[gid].slots.len();
        let inst = match self.pool.get_mut(gid).and_then(Vec::pop) {
            Some(mut inst) => {
                for v in &mut inst.vals {
                    v.json.clear();
                    v.count = 0;
                }
                inst
            }
            None => Inst {
                gid,
                vals: vec![Val::default(); n],
            },
        };
        self.insts.push(inst);
    }

    fn check_attr_limits(&self, tok: &Tokenizer, e: &Start) -> Result<(), Error> {
        if is_blank(tok.attrs(e)) {
            return Ok(());
        }
        let mut n = 0usize;
        for a in AttrIter::new(tok.content_str(e), tok.name_len(e)) {
            let (key, _) = a.map_err(|err| self.malformed(tok, err.to_string()))?;
            n += 1;
            self.attr_within_limits(tok, n, key)?;
        }
        Ok(())
    }

    /// The `n`th attribute of an element, named `key`, within the attribute-count and
    /// name-length limits.
    #[inline]
    fn attr_within_limits(&self, tok: &Tokenizer, n: usize, key: &str) -> Result<(), Error> {
        let limits = self.s.limits;
        if n > limits.max_attributes {
            return Err(self.limit(tok, "attributes per element", limits.max_attributes as u64));
        }
        if key.len() > limits.max_name_len {
            return Err(self.limit(tok, "name length in bytes", limits.max_name_len as u64));
        }
        Ok(())
    }

    fn attributes(&mut self, tok: &Tokenizer, e: &Start, node: &'m Node) -> Result<(), Error> {
        let raw = tok.attrs(e);
        if node.attrs.is_empty() && is_blank(raw) {
            return Ok(());
        }
        let limits = self.s.limits;
        if raw.len() > 2 * limits.max_attributes {
            // Refuse floods before judging any single attribute.
            self.check_attr_limits(tok, e)?;
        }
        self.attr_seen.clear();
        self.attr_seen.resize(node.attrs.len(), false);
        let mut n = 0usize;
        let attrs = if is_blank(raw) {
            AttrIter::One(None)
        } else {
            AttrIter::new(tok.content_str(e), tok.name_len(e))
        };
        for a in attrs {
            let (key, value) = a.map_err(|err| self.malformed(tok, err.to_string()))?;
            n += 1;
            self.attr_within_limits(tok, n, key)?;
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            let local = if key.contains(':') {
                match tok.resolve_attribute(key) {
                    (ResolveResult::Unbound, local) => local,
                    (ResolveResult::Bound(ns), _) if ns.into_inner() == XSI => continue,
                    _ => {
                        return Err(self.schema(tok, format!("unexpected attribute {}", key)));
                    }
                }
            } else {
                key
            };
            let Some(idx) = node.attrs.iter().position(|d| &*d.name == local) else {
                return Err(self.schema(tok, format!("unexpected attribute {}", key)));
            };
            if value.len() > limits.max_text_len {
                return Err(self.limit(tok, "text length in bytes", limits.max_text_len as u64));
            }
            let value = if value
                .bytes()
                .any(|b| matches!(b, b'\t' | b'\r' | b'\n' | b'&'))
            {
                let a = Attribute {
                    key: QName(key),
                    value,
                };
                Cow::Owned(
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|err| Error::EntityForbidden {
                            at: self.at(tok),
                            name: err.to_string().chars().take(80).collect(),
                        })?
                        .into_owned(),
                )
            } else {
                value
            };
            self.attr_seen[idx] = true;
            let decl = &node.attrs[idx];
            match decl.bind {
                Some(slot) => {
                    self.bind(tok, slot, &value, Some(&decl.name))?;
                }
                None => {
                    let v = if decl.ty.collapse {
                        xml_trim(&value)
                    } else {
                        &value
                    };
                    crate::value::check_xsd(&decl.ty, v)
                        .map_err(|r| self.refusal(tok, r, &format!("/@{}", decl.name)))?;
                }
            }
        }
        if let Some(missing) = node
            .attrs
            .iter()
            .zip(&self.attr_seen)
            .find(|(d, seen)| d.required && !**seen)
        {
            let mut at = self.at(tok);
            at.path.push_str(&format!("/@{}", missing.0.name));
            return Err(Error::RequiredMissing {
                at,
                detail: format!("attribute {}", missing.0.name),
            });
        }
        Ok(())
    }

    /// Stores a value for `slot` of the current group instance.
    #[inline(always)]
    fn bind(
        &mut self,
        tok: &Tokenizer,
        slot: usize,
        raw: &str,
        attr: Option<&str>,
    ) -> Result<(), Error> {
        let Some(inst) = self.insts.last() else {
            return Ok(());
        };
        let gid = inst.gid;
        let def = &self.m.groups[gid].slots[slot];
        if gid == 0 && self.root.written[def.top] {
            return Err(self.schema(
                tok,
                format!(
                    "{} arrives after the records, but its JSON object {} was already written; \
                     the schema's order puts it before them",
                    def.xml, def.json[0]
                ),
            ));
        }
        let SlotKind::Scalar(scalar) = &def.kind else {
            return Ok(());
        };
        let array = def.array;
        // Written in place: on a refusal the document is refused, the slot no longer matters.
        let r = match self.insts.last_mut() {
            Some(inst) => {
                let v = &mut inst.vals[slot];
                if array && v.count > 0 {
                    v.json.push(',');
                }
                if !array {
                    v.json.clear();
                }
                v.count += 1;
                scalar.xml_to_json(raw, &mut v.json)
            }
            None => Ok(()),
        };
        if let Err(r) = r {
            let suffix = attr.map(|a| format!("/@{a}")).unwrap_or_default();
            return Err(self.refusal(tok, r, &suffix));
        }
        Ok(())
    }

    fn text(&mut self, tok: &Tokenizer, t: &str) -> Result<(), Error> {
        if self.skip > 0 {
            return Ok(());
        }
        let Some(f) = self.frames.last() else {
            if !xml_trim(t).is_empty() {
                return Err(self.malformed(tok, "text outside the message element".into()));
            }
            return Ok(());
        };
        let node = f.node;
        let limits = self.s.limits;
        if f.leaf {
            if self.text.len() - f.text_at + t.len() > limits.max_text_len {
                return Err(self.limit(tok, "text length in bytes", limits.max_text_len as u64));
            }
            self.text.push_str(t);
            return Ok(());
        }
        if xml_trim(t).is_empty() {
            return Ok(());
        }
        if node.mixed && self.s.mixed == MixedContent::Keep {
            if node.text_bind.is_some() {
                if self.text.len() - f.text_at + t.len() > limits.max_text_len {
                    return Err(self.limit(
                        tok,
                        "text length in bytes",
                        limits.max_text_len as u64,
                    ));
                }
                self.text.push_str(t);
            }
            return Ok(());
        }
        Err(Error::MixedContent { at: self.at(tok) })
    }

    /// Whether the open element holds only text, has none yet and ends without rendering
    /// anything: [`State::leaf`] may take its text and its end at once.
    #[inline]
    fn plain_leaf(&self) -> bool {
        self.skip == 0
            && self.frames.len() > 1
            && self
                .frames
                .last()
                .is_some_and(|f| f.plain && f.text_at == self.text.len())
    }

    /// [`State::text`] then [`State::end`] for a [`State::plain_leaf`] element whose whole
    /// text is `t`: the same checks in the same order, without copying the text. Errors point
    /// where those two would point (the text event, then the element's start tag).
    fn leaf(&mut self, tok: &Tokenizer, t: &str) -> Result<(), Error> {
        let Some(f) = self.frames.last() else {
            return Ok(());
        };
        let limits = self.s.limits;
        if t.len() > limits.max_text_len {
            return Err(self.limit(tok, "text length in bytes", limits.max_text_len as u64));
        }
        let node = f.node;
        let counts_at = f.counts_at;
        self.loc = Some(self.frames.len() - 1);
        match (node.text_bind, &node.text) {
            (Some(slot), _) => self.bind(tok, slot, t, None)?,
            (None, Some(ty)) => {
                let v = if ty.collapse { xml_trim(t) } else { t };
                crate::value::check_xsd(ty, v).map_err(|r| self.refusal(tok, r, ""))?;
            }
            (None, None) => {}
        }
        self.loc = None;
        self.counts.truncate(counts_at);
        self.frames.pop();
        Ok(())
    }

    fn end<W: Write>(&mut self, tok: &Tokenizer, out: &mut W) -> Result<(), Error> {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(());
        }
        let Some(frame) = self.frames.last() else {
            self.outer.pop();
            return Ok(());
        };
        let node = frame.node;
        let counts_at = frame.counts_at;
        let text_at = frame.text_at;
        // Children counts.
        let choice_required = matches!(node.model, Model::Choice { required: true });
        if let Model::Choice { .. } = node.model {
            let chosen = (0..node.children.len()).find(|&i| self.counts[counts_at + i] > 0);
            match chosen {
                None if choice_required && !node.children.is_empty() => {
                    let names: Vec<&str> = node.children.iter().map(|c| &*c.name).collect();
                    return Err(Error::RequiredMissing {
                        at: self.at(tok),
                        detail: format!("one of the elements {}", names.join(", ")),
                    });
                }
                Some(i) if self.counts[counts_at + i] < node.children[i].min => {
                    return Err(self.missing(tok, &node.children[i]));
                }
                _ => {}
            }
        } else {
            for (i, c) in node.children.iter().enumerate() {
                if self.counts[counts_at + i] < c.min {
                    return Err(self.missing(tok, c));
                }
            }
        }
        // Text: value errors point at the element's start tag.
        let end_loc = self.loc;
        self.loc = Some(self.frames.len() - 1);
        if node.text.is_some() && (node.children.is_empty() || node.text_bind.is_some()) {
            let text = std::mem::take(&mut self.text);
            let raw = &text[text_at..];
            let r = match (node.text_bind, &node.text) {
                (Some(slot), _) => self.bind(tok, slot, raw, None),
                (None, Some(ty)) => {
                    let v = if ty.collapse { xml_trim(raw) } else { raw };
                    crate::value::check_xsd(ty, v).map_err(|r| self.refusal(tok, r, ""))
                }
                (None, None) => Ok(()),
            };
            self.text = text;
            r?;
        } else if let Some(slot) = node.text_bind {
            let text = std::mem::take(&mut self.text);
            let r = self.bind(tok, slot, &text[text_at..], None);
            self.text = text;
            r?;
        }
        self.loc = end_loc;
        // Group end: rendered straight into the parent's slot, or written out (a record).
        if let Some((slot, gid)) = node.group
            && let Some(inst) = self.insts.pop()
        {
            let g = &self.m.groups[gid];
            let r = if self.insts.len() == 1 && self.root.open == Some(slot) {
                let mut json = std::mem::take(&mut self.obuf);
                let before = json.len();
                if self.root.open_items > 0 {
                    json.push(',');
                }
                let r = self.render(tok, g, &inst, &mut json);
                if r.is_ok() {
                    self.root.open_items += 1;
                } else {
                    json.truncate(before);
                }
                self.obuf = json;
                if r.is_ok() {
                    self.spill(out)?;
                }
                r
            } else if let Some(parent) = self.insts.last_mut() {
                let v = &mut parent.vals[slot];
                let mut json = std::mem::take(&mut v.json);
                if v.count > 0 {
                    json.push(',');
                }
                v.count += 1;
                let r = self.render(tok, g, &inst, &mut json);
                if let Some(parent) = self.insts.last_mut() {
                    parent.vals[slot].json = json;
                }
                r
            } else {
                let mut json = std::mem::take(&mut self.scratch);
                json.clear();
                let r = self.render(tok, g, &inst, &mut json);
                self.scratch = json;
                r
            };
            if self.pool.len() <= inst.gid {
                self.pool.resize_with(inst.gid + 1, Vec::new);
            }
            self.pool[inst.gid].push(inst);
            r?;
        }
        let is_root = self.frames.len() == 1;
        if is_root {
            self.finish_root(tok, out)?;
            self.done = true;
        }
        self.text.truncate(text_at);
        self.counts.truncate(counts_at);
        self.frames.pop();
        Ok(())
    }

    fn missing(&self, tok: &Tokenizer, child: &Node) -> Error {
        let mut at = self.at(tok);
        at.path.push('/');
        at.path.push_str(&child.name);
        Error::RequiredMissing {
            at,
            detail: format!("element {}", child.name),
        }
    }

    fn open_stream<W: Write>(
        &mut self,
        tok: &Tokenizer,
        slot: usize,
        out: &mut W,
    ) -> Result<(), Error> {
        if self.root.open == Some(slot) {
            return Ok(());
        }
        if self.root.closed[slot] {
            return Err(self.schema(
                tok,
                format!(
                    "the records {} must be contiguous",
                    self.m.groups[0].slots[slot].xml
                ),
            ));
        }
        self.close_stream(out)?;
        let g = &self.m.groups[0];
        let mut s = String::new();
        if !self.root.started {
            s.push('{');
            self.root.started = true;
        }
        if let Some(inst) = self.insts.first() {
            for (i, entry) in g.shape.iter().enumerate() {
                if self.root.written[i] {
                    continue;
                }
                let write = match entry {
                    Entry::Leaf { slot, .. } => !g.slots[*slot].array && inst.vals[*slot].count > 0,
                    Entry::Object { entries, .. } => any_present(inst, entries),
                };
                if write {
                    let before = s.len();
                    if self.root.any {
                        s.push(',');
                    }
                    if self.render_entry(tok, g, inst, entry, &mut s)? {
                        self.root.any = true;
                        self.root.written[i] = true;
                    } else {
                        s.truncate(before);
                    }
                }
            }
        }
        if self.root.any {
            s.push(',');
        }
        crate::json::write_str(&mut s, &g.slots[slot].json[0]);
        s.push_str(":[");
        self.root.any = true;
        self.root.written[g.slots[slot].top] = true;
        self.root.open = Some(slot);
        self.root.open_items = 0;
        self.obuf.push_str(&s);
        self.spill(out)
    }

    fn close_stream<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
        if let Some(slot) = self.root.open.take() {
            self.root.closed[slot] = true;
            self.obuf.push(']');
            self.spill(out)?;
        }
        Ok(())
    }

    /// Hands the output to the writer once there is a buffer's worth.
    #[inline]
    fn spill<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
        if self.obuf.len() >= OUT_CAP {
            out.write_all(self.obuf.as_bytes()).map_err(Error::Io)?;
            self.obuf.clear();
        }
        Ok(())
    }

    fn finish_root<W: Write>(&mut self, tok: &Tokenizer, out: &mut W) -> Result<(), Error> {
        self.close_stream(out)?;
        let g = &self.m.groups[0];
        let mut s = String::new();
        if !self.root.started {
            s.push('{');
        }
        if let Some(inst) = self.insts.first() {
            for (i, entry) in g.shape.iter().enumerate() {
                if self.root.written[i] {
                    continue;
                }
                let before = s.len();
                if self.root.any {
                    s.push(',');
                }
                if self.render_entry(tok, g, inst, entry, &mut s)? {
                    self.root.any = true;
                } else {
                    s.truncate(before);
                }
            }
        }
        s.push('}');
        self.obuf.push_str(&s);
        self.spill(out)
    }

    fn render(
        &self,
        tok: &Tokenizer,
        g: &Group,
        inst: &Inst,
        out: &mut String,
    ) -> Result<(), Error> {
        out.push('{');
        self.render_entries(tok, g, inst, &g.shape, out)?;
        out.push('}');
        Ok(())
    }

    /// Writes the entries that have something to say, comma-separated; returns whether any did.
    fn render_entries(
        &self,
        tok: &Tokenizer,
        g: &Group,
        inst: &Inst,
        entries: &[Entry],
        out: &mut String,
    ) -> Result<bool, Error> {
        let mut any = false;
        for entry in entries {
            // A value that is there (most): written without a detour.
            if let Entry::Leaf { json, slot, .. } = entry {
                let array = g.slots[*slot].array;
                let v = &inst.vals[*slot];
                if array || v.count > 0 {
                    if any {
                        out.push(',');
                    }
                    out.push_str(json);
                    if array {
                        out.push('[');
                        out.push_str(&v.json);
                        out.push(']');
                    } else {
                        out.push_str(&v.json);
                    }
                    any = true;
                    continue;
                }
            }
            let before = out.len();
            if any {
                out.push(',');
            }
            if self.render_entry(tok, g, inst, entry, out)? {
                any = true;
            } else {
                out.truncate(before);
            }
        }
        Ok(any)
    }

    /// Writes `"key":value` for one entry; returns false (having written garbage the caller
    /// truncates) when the entry has nothing to say.
    fn render_entry(
        &self,
        tok: &Tokenizer,
        g: &Group,
        inst: &Inst,
        entry: &Entry,
        out: &mut String,
    ) -> Result<bool, Error> {
        match entry {
            Entry::Leaf { json, slot, .. } => {
                let def = &g.slots[*slot];
                let v = &inst.vals[*slot];
                out.push_str(json);
                if def.array {
                    out.push('[');
                    out.push_str(&v.json);
                    out.push(']');
                    return Ok(true);
                }
                if v.count > 0 {
                    out.push_str(&v.json);
                    return Ok(true);
                }
                if let (Some(d), SlotKind::Scalar(sc)) = (&def.default, &def.kind) {
                    sc.xml_to_json(d, out)
                        .map_err(|r| self.refusal(tok, r, ""))?;
                    return Ok(true);
                }
                if def.required {
                    let mut at = self.at(tok);
                    at.path.push('/');
                    at.path.push_str(&def.xml);
                    return Err(Error::RequiredMissing {
                        at,
                        detail: format!("{} (JSON field {})", def.xml, def.json.join(".")),
                    });
                }
                Ok(false)
            }
            Entry::Object { json, entries, .. } => {
                out.push_str(json);
                out.push('{');
                let any = self.render_entries(tok, g, inst, entries, out)?;
                out.push('}');
                Ok(any)
            }
        }
    }
}

fn any_present(inst: &Inst, entries: &[Entry]) -> bool {
    entries.iter().any(|e| match e {
        Entry::Leaf { slot, .. } => inst.vals[*slot].count > 0,
        Entry::Object { entries, .. } => any_present(inst, entries),
    })
}

fn ns_label(ns: Option<&str>) -> String {
    match ns {
        Some(n) => format!("{{{n}}}"),
        None => "(no namespace) ".to_owned(),
    }
}

/// Reads a whole document into memory with the size limit applied.
pub(crate) fn read_all<R: BufRead>(r: R, limits: &Limits) -> Result<Vec<u8>, Error> {
    let mut v = Vec::new();
    r.take(limits.max_bytes.saturating_add(1))
        .read_to_end(&mut v)
        .map_err(Error::Io)?;
    if v.len() as u64 > limits.max_bytes {
        let at = usize::try_from(limits.max_bytes).unwrap_or(usize::MAX);
        return Err(Error::LimitExceeded {
            at: Location::at(input::line_col(&v, at), ""),
            limit: "document size in bytes",
            max: limits.max_bytes,
        });
    }
    Ok(v)
}
