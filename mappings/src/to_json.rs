//! XML → JSON, streaming: one pass over the tokenizer's events, validating against the
//! compiled schema tree and writing JSON as soon as each part is complete.
//!
//! Each element that starts a group (a JSON object) gets a small instance holding the rendered
//! JSON text of its slots; the instance is rendered when the element ends. Arrays of groups at
//! the top level of the message (the records) are written to the output item by item, so memory
//! stays flat however many records a document holds.

use std::io::{BufRead, Read, Write};

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::definition::{Compiled, Entry, Group, MixedContent, Node, SlotKind};
use crate::error::{Error, Location};
use crate::input::{self, Charset, Limits, Tracked, Transcode};
use crate::value::{Refusal, xml_trim};
use crate::xsd::Model;

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
    out: W,
) -> Result<(), Error> {
    let head = input::read_head(&mut input)?;
    let (charset, skip) = input::sniff(&head)?;
    let source = std::io::Cursor::new(head).chain(input);
    let mut source = source;
    if skip > 0 {
        let mut bom = [0u8; 3];
        source.read_exact(&mut bom[..skip]).map_err(Error::Io)?;
    }
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    match charset {
        Charset::Utf8 => {
            Run::new(m, settings, Tracked::new(source, settings.limits), charset).run(&mut out)?
        }
        Charset::Gb18030 => Run::new(
            m,
            settings,
            Tracked::new(Transcode::new(source), settings.limits),
            charset,
        )
        .run(&mut out)?,
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
    occurrence: u32,
    counts_at: usize,
    seq: usize,
    text_at: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outer {
    Envelope,
    Body,
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
    m: &'m Compiled,
    s: &'s Settings<'s>,
    reader: NsReader<Tracked<R>>,
    charset: Charset,
    frames: Vec<Frame<'m>>,
    counts: Vec<u32>,
    text: String,
    insts: Vec<Inst>,
    pool: Vec<Inst>,
    outer: Vec<Outer>,
    skip: usize,
    done: bool,
    root: RootOut,
    scratch: String,
    /// Where the current event starts (byte offset); errors point there unless `loc` is set.
    loc_off: u64,
    /// Errors point at the start tag of this open element instead (while its value is
    /// checked); its position is pinned in the reader.
    loc: Option<usize>,
    attr_seen: Vec<bool>,
}

impl<'m, 's, R: Read> Run<'m, 's, R> {
    fn new(m: &'m Compiled, s: &'s Settings<'s>, src: Tracked<R>, charset: Charset) -> Self {
        let mut reader = NsReader::from_reader(src);
        let cfg = reader.config_mut();
        cfg.expand_empty_elements = true;
        cfg.check_end_names = true;
        cfg.trim_text(false);
        let tops = m.groups[0].shape.len();
        let slots = m.groups[0].slots.len();
        Run {
            m,
            s,
            reader,
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
            loc_off: 0,
            loc: None,
            attr_seen: Vec::new(),
        }
    }

    fn at(&self) -> Location {
        let tracked = self.reader.get_ref();
        let (line, column) = match self.loc {
            Some(frame) => tracked.pinned(frame),
            None => tracked.position(self.loc_off),
        };
        Location {
            line: Some(line),
            column: Some(column),
            path: self.path(),
        }
    }

    fn path(&self) -> String {
        let mut p = String::new();
        for f in &self.frames {
            p.push('/');
            p.push_str(&f.node.name);
            if f.node.max > 1 {
                p.push_str(&format!("[{}]", f.occurrence));
            }
        }
        p
    }

    fn schema(&self, detail: String) -> Error {
        Error::SchemaInvalid {
            at: self.at(),
            detail,
        }
    }

    fn refusal(&self, r: Refusal, path_suffix: &str) -> Error {
        let mut at = self.at();
        at.path.push_str(path_suffix);
        match r {
            Refusal::Type(detail) => Error::TypeInvalid { at, detail },
            Refusal::Enum(value) => Error::EnumUnknown { at, value },
        }
    }

    fn run<W: Write>(mut self, out: &mut W) -> Result<(), Error> {
        let mut buf = Vec::with_capacity(4096);
        loop {
            buf.clear();
            self.loc_off = self.reader.buffer_position();
            self.loc = None;
            self.reader.get_mut().mark();
            let event = match self.reader.read_event_into(&mut buf) {
                Ok(e) => e,
                Err(e) => return Err(self.xml_error(e)),
            };
            match event {
                Event::Start(e) => self.start(&e, out)?,
                Event::End(_) => self.end(out)?,
                Event::Empty(_) => {
                    // expand_empty_elements is on: never produced.
                }
                Event::Text(t) => self.text(&t.xml10_content())?,
                Event::CData(t) => {
                    let s = t.xml10_content().into_owned();
                    self.text(&s)?
                }
                Event::GeneralRef(r) => {
                    let ch = match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) => match &*r {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            name => {
                                return Err(Error::EntityForbidden {
                                    at: self.at(),
                                    name: name.chars().take(64).collect(),
                                });
                            }
                        },
                        Err(e) => {
                            return Err(Error::XmlMalformed {
                                at: self.at(),
                                detail: e.to_string(),
                            });
                        }
                    };
                    let mut tmp = [0u8; 4];
                    let s: &str = ch.encode_utf8(&mut tmp);
                    let s = s.to_owned();
                    self.text(&s)?
                }
                Event::DocType(_) => return Err(Error::DtdForbidden { at: self.at() }),
                Event::Decl(d) => {
                    if let Some(Ok(label)) = d.encoding() {
                        input::charset_by_label(&label)?;
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        if !self.done {
            return Err(Error::XmlMalformed {
                at: self.at(),
                detail: "the document ends before the message is complete".into(),
            });
        }
        Ok(())
    }

    fn xml_error(&mut self, e: quick_xml::Error) -> Error {
        let mut at = self.at();
        self.reader.get_mut().sync();
        let tracked = self.reader.get_ref();
        let epos = self.reader.error_position();
        if epos >= tracked.line_start() {
            let (l, c) = tracked.position(epos);
            at.line = Some(l);
            at.column = Some(c);
        }
        if let quick_xml::Error::Io(io) = &e
            && let Some(err) = input::classify_io(io, at.clone(), self.s.limits, self.charset)
        {
            return err;
        }
        if let quick_xml::Error::Io(io) = &e
            && io
                .get_ref()
                .is_none_or(|i| i.downcast_ref::<std::str::Utf8Error>().is_none())
            && io.kind() != std::io::ErrorKind::InvalidData
        {
            return Error::Io(std::io::Error::new(io.kind(), io.to_string()));
        }
        if matches!(e, quick_xml::Error::Encoding(_)) {
            return Error::EncodingInvalid {
                at,
                encoding: self.charset.name().to_owned(),
            };
        }
        if let quick_xml::Error::Escape(esc) = &e {
            return Error::EntityForbidden {
                at,
                name: esc.to_string().chars().take(80).collect(),
            };
        }
        Error::XmlMalformed {
            at,
            detail: e.to_string(),
        }
    }

    fn limit(&self, limit: &'static str, max: u64) -> Error {
        Error::LimitExceeded {
            at: self.at(),
            limit,
            max,
        }
    }

    fn resolve(&self, e: &BytesStart<'_>) -> Result<(Option<String>, usize), Error> {
        let (res, local) = self.reader.resolver().resolve_element(e.name());
        let ns = match res {
            ResolveResult::Bound(n) => Some(n.as_ref().to_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                return Err(Error::XmlMalformed {
                    at: self.at(),
                    detail: format!("namespace prefix {} is not declared", p),
                });
            }
        };
        Ok((ns, local.as_ref().len()))
    }

    fn start<W: Write>(&mut self, e: &BytesStart<'_>, out: &mut W) -> Result<(), Error> {
        let limits = self.s.limits;
        let depth = self.frames.len() + self.outer.len() + self.skip;
        if depth >= limits.max_depth {
            return Err(self.limit("element depth", limits.max_depth as u64));
        }
        if e.name().as_ref().len() > limits.max_name_len {
            return Err(self.limit("name length in bytes", limits.max_name_len as u64));
        }
        if self.skip > 0 {
            self.skip += 1;
            return self.check_attr_limits(e);
        }
        if self.done {
            if self.outer.is_empty() {
                return Err(Error::XmlMalformed {
                    at: self.at(),
                    detail: "content after the document element".into(),
                });
            }
            self.skip = 1;
            return self.check_attr_limits(e);
        }
        let (ns, _) = self.resolve(e)?;
        let local = e.local_name();
        let local = local.as_ref();
        if self.frames.is_empty() {
            // Envelope handling, then the message root.
            let is_soap = ns.as_deref() == Some(SOAP11);
            match (self.outer.last().copied(), is_soap, local) {
                (None, true, "Envelope") => {
                    self.check_attr_limits(e)?;
                    self.outer.push(Outer::Envelope);
                    return Ok(());
                }
                (Some(Outer::Envelope), true, "Header") => {
                    self.skip = 1;
                    return self.check_attr_limits(e);
                }
                (Some(Outer::Envelope), true, "Body") => {
                    self.check_attr_limits(e)?;
                    self.outer.push(Outer::Body);
                    return Ok(());
                }
                (Some(Outer::Body), true, "Fault") => return Err(self.fault()),
                (Some(Outer::Envelope), _, _) => {
                    return Err(
                        self.schema(format!("unexpected element {} in the SOAP envelope", local))
                    );
                }
                _ => {}
            }
            let root = &self.m.root;
            if &*root.name != local || root.ns.as_deref() != ns.as_deref() {
                return Err(self.schema(format!(
                    "the message element must be {}{} but is {}{}",
                    ns_label(root.ns.as_deref()),
                    root.name,
                    ns_label(ns.as_deref()),
                    local
                )));
            }
            self.take_inst(0);
            self.push_frame(root, 1);
            return self.attributes(e, root);
        }
        let top = self.frames.len() - 1;
        let parent = self.frames[top].node;
        let Some(idx) = parent
            .children
            .iter()
            .position(|c| &*c.name == local && c.ns.as_deref() == ns.as_deref())
        else {
            let known = parent.children.iter().any(|c| &*c.name == local);
            let what = if known {
                format!(
                    "element {} is in namespace {} but the schema expects it elsewhere",
                    local,
                    ns_label(ns.as_deref())
                )
            } else if parent.children.is_empty() {
                format!(
                    "element {} is not allowed inside {}, which holds only text",
                    local, parent.name
                )
            } else {
                format!("unexpected element {}", local)
            };
            return Err(self.schema(what));
        };
        let child = &parent.children[idx];
        let c = self.frames[top].counts_at + idx;
        self.counts[c] += 1;
        let occurrence = self.counts[c];
        if occurrence > child.max {
            return Err(self.schema(format!(
                "element {} occurs more than {} time(s)",
                child.name, child.max
            )));
        }
        match parent.model {
            Model::Sequence => {
                let seq = self.frames[top].seq;
                if idx < seq {
                    return Err(self.schema(format!(
                        "element {} must come before {}",
                        child.name, parent.children[seq].name
                    )));
                }
                self.frames[top].seq = idx;
            }
            Model::Choice { .. } => {
                let at = self.frames[top].counts_at;
                if let Some(other) =
                    (0..parent.children.len()).find(|&i| i != idx && self.counts[at + i] > 0)
                {
                    return Err(self.schema(format!(
                        "only one of the choices may appear, but both {} and {} do",
                        parent.children[other].name, child.name
                    )));
                }
            }
            Model::All => {}
        }
        if !self.text[self.frames[top].text_at..].is_empty() && parent.text.is_none() {
            self.text.truncate(self.frames[top].text_at);
        }
        if let Some((slot, gid)) = child.group {
            if self.insts.len() == 1 && self.is_stream_slot(slot) {
                self.open_stream(slot, out)?;
            }
            self.take_inst(gid);
        }
        self.push_frame(child, occurrence);
        self.attributes(e, child)
    }

    fn is_stream_slot(&self, slot: usize) -> bool {
        let s = &self.m.groups[0].slots[slot];
        s.array && s.json.len() == 1
    }

    fn push_frame(&mut self, node: &'m Node, occurrence: u32) {
        self.reader.get_mut().pin(self.loc_off);
        let counts_at = self.counts.len();
        self.counts.resize(counts_at + node.children.len(), 0);
        self.frames.push(Frame {
            node,
            occurrence,
            counts_at,
            seq: 0,
            text_at: self.text.len(),
        });
    }

    fn take_inst(&mut self, gid: usize) {
        let n = self.m.groups[gid].slots.len();
        let mut inst = self.pool.pop().unwrap_or(Inst {
            gid,
            vals: Vec::new(),
        });
        inst.gid = gid;
        for v in &mut inst.vals {
            v.json.clear();
            v.count = 0;
        }
        inst.vals.resize(n, Val::default());
        self.insts.push(inst);
    }

    fn check_attr_limits(&self, e: &BytesStart<'_>) -> Result<(), Error> {
        let limits = self.s.limits;
        let mut n = 0usize;
        for a in e.attributes() {
            let a = a.map_err(|err| Error::XmlMalformed {
                at: self.at(),
                detail: err.to_string(),
            })?;
            n += 1;
            if n > limits.max_attributes {
                return Err(self.limit("attributes per element", limits.max_attributes as u64));
            }
            if a.key.as_ref().len() > limits.max_name_len {
                return Err(self.limit("name length in bytes", limits.max_name_len as u64));
            }
        }
        Ok(())
    }

    fn attributes(&mut self, e: &BytesStart<'_>, node: &'m Node) -> Result<(), Error> {
        let limits = self.s.limits;
        if e.attributes_raw().len() > 2 * limits.max_attributes {
            // Refuse floods before judging any single attribute.
            self.check_attr_limits(e)?;
        }
        self.attr_seen.clear();
        self.attr_seen.resize(node.attrs.len(), false);
        let mut n = 0usize;
        for a in e.attributes() {
            let a = a.map_err(|err| Error::XmlMalformed {
                at: self.at(),
                detail: err.to_string(),
            })?;
            n += 1;
            if n > limits.max_attributes {
                return Err(self.limit("attributes per element", limits.max_attributes as u64));
            }
            let key = a.key.as_ref();
            if key.len() > limits.max_name_len {
                return Err(self.limit("name length in bytes", limits.max_name_len as u64));
            }
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            let (res, local) = self.reader.resolver().resolve_attribute(a.key);
            match res {
                ResolveResult::Unbound => {}
                ResolveResult::Bound(ns) if ns.as_ref() == XSI => continue,
                _ => {
                    return Err(self.schema(format!("unexpected attribute {}", key)));
                }
            }
            let Some(idx) = node.attrs.iter().position(|d| &*d.name == local.as_ref()) else {
                return Err(self.schema(format!("unexpected attribute {}", key)));
            };
            if a.value.len() > limits.max_text_len {
                return Err(self.limit("text length in bytes", limits.max_text_len as u64));
            }
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| Error::EntityForbidden {
                    at: self.at(),
                    name: err.to_string().chars().take(80).collect(),
                })?;
            self.attr_seen[idx] = true;
            let decl = &node.attrs[idx];
            match decl.bind {
                Some(slot) => {
                    self.bind(slot, &value, Some(&decl.name))?;
                }
                None => {
                    let v = if decl.ty.collapse {
                        xml_trim(&value)
                    } else {
                        &value
                    };
                    crate::value::check_xsd(&decl.ty, v)
                        .map_err(|r| self.refusal(r, &format!("/@{}", decl.name)))?;
                }
            }
        }
        if let Some(missing) = node
            .attrs
            .iter()
            .zip(&self.attr_seen)
            .find(|(d, seen)| d.required && !**seen)
        {
            let mut at = self.at();
            at.path.push_str(&format!("/@{}", missing.0.name));
            return Err(Error::RequiredMissing {
                at,
                detail: format!("attribute {}", missing.0.name),
            });
        }
        Ok(())
    }

    /// Stores a value for `slot` of the current group instance.
    fn bind(&mut self, slot: usize, raw: &str, attr: Option<&str>) -> Result<(), Error> {
        let Some(inst) = self.insts.last() else {
            return Ok(());
        };
        let gid = inst.gid;
        let def = &self.m.groups[gid].slots[slot];
        if gid == 0 && self.root.written[def.top] {
            return Err(self.schema(format!(
                "{} arrives after the records, but its JSON object {} was already written; \
                 the schema's order puts it before them",
                def.xml, def.json[0]
            )));
        }
        let SlotKind::Scalar(scalar) = &def.kind else {
            return Ok(());
        };
        let array = def.array;
        let mut json = std::mem::take(&mut self.scratch);
        json.clear();
        let r = scalar.xml_to_json(raw, &mut json);
        if let Err(r) = r {
            self.scratch = json;
            let suffix = attr.map(|a| format!("/@{a}")).unwrap_or_default();
            return Err(self.refusal(r, &suffix));
        }
        if let Some(inst) = self.insts.last_mut() {
            let v = &mut inst.vals[slot];
            if array && v.count > 0 {
                v.json.push(',');
            }
            if !array {
                v.json.clear();
            }
            v.json.push_str(&json);
            v.count += 1;
        }
        self.scratch = json;
        Ok(())
    }

    fn text(&mut self, t: &str) -> Result<(), Error> {
        if self.skip > 0 {
            return Ok(());
        }
        let Some(f) = self.frames.last() else {
            if !xml_trim(t).is_empty()
                && (self.done || self.outer.is_empty() || !self.outer.is_empty())
            {
                return Err(Error::XmlMalformed {
                    at: self.at(),
                    detail: "text outside the message element".into(),
                });
            }
            return Ok(());
        };
        let node = f.node;
        let limits = self.s.limits;
        if node.children.is_empty() && node.text.is_some() {
            if self.text.len() - f.text_at + t.len() > limits.max_text_len {
                return Err(self.limit("text length in bytes", limits.max_text_len as u64));
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
                    return Err(self.limit("text length in bytes", limits.max_text_len as u64));
                }
                self.text.push_str(t);
            }
            return Ok(());
        }
        Err(Error::MixedContent { at: self.at() })
    }

    fn end<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
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
                        at: self.at(),
                        detail: format!("one of the elements {}", names.join(", ")),
                    });
                }
                Some(i) if self.counts[counts_at + i] < node.children[i].min => {
                    return Err(self.missing(&node.children[i]));
                }
                _ => {}
            }
        } else {
            for (i, c) in node.children.iter().enumerate() {
                if self.counts[counts_at + i] < c.min {
                    return Err(self.missing(c));
                }
            }
        }
        // Text: value errors point at the element's start tag.
        let end_loc = self.loc;
        // Value errors point at the start tag (pinned in the reader while the element is open).
        self.loc = Some(self.frames.len() - 1);
        if node.text.is_some() && (node.children.is_empty() || node.text_bind.is_some()) {
            let text = std::mem::take(&mut self.text);
            let raw = &text[text_at..];
            let r = match (node.text_bind, &node.text) {
                (Some(slot), _) => self.bind(slot, raw, None),
                (None, Some(ty)) => {
                    let v = if ty.collapse { xml_trim(raw) } else { raw };
                    crate::value::check_xsd(ty, v).map_err(|r| self.refusal(r, ""))
                }
                (None, None) => Ok(()),
            };
            self.text = text;
            r?;
        } else if let Some(slot) = node.text_bind {
            let text = std::mem::take(&mut self.text);
            let r = self.bind(slot, &text[text_at..], None);
            self.text = text;
            r?;
        }
        self.loc = end_loc;
        // Group end.
        if let Some((slot, gid)) = node.group {
            let mut json = std::mem::take(&mut self.scratch);
            json.clear();
            let r = match self.insts.last() {
                Some(inst) => self.render(&self.m.groups[gid], inst, &mut json),
                None => Ok(()),
            };
            if let Err(e) = r {
                self.scratch = json;
                return Err(e);
            }
            if let Some(inst) = self.insts.pop() {
                self.pool.push(inst);
            }
            if self.insts.len() == 1 && self.root.open == Some(slot) {
                if self.root.open_items > 0 {
                    out.write_all(b",").map_err(Error::Io)?;
                }
                out.write_all(json.as_bytes()).map_err(Error::Io)?;
                self.root.open_items += 1;
            } else if let Some(parent) = self.insts.last_mut() {
                let v = &mut parent.vals[slot];
                if v.count > 0 {
                    v.json.push(',');
                }
                v.json.push_str(&json);
                v.count += 1;
            }
            self.scratch = json;
        }
        let is_root = self.frames.len() == 1;
        if is_root {
            self.finish_root(out)?;
            self.done = true;
        }
        self.text.truncate(text_at);
        self.counts.truncate(counts_at);
        self.frames.pop();
        self.reader.get_mut().unpin();
        Ok(())
    }

    fn missing(&self, child: &Node) -> Error {
        let mut at = self.at();
        at.path.push('/');
        at.path.push_str(&child.name);
        Error::RequiredMissing {
            at,
            detail: format!("element {}", child.name),
        }
    }

    fn fault(&mut self) -> Error {
        let mut code = String::new();
        let mut message = String::new();
        let mut field: Option<bool> = None;
        let mut depth = 1usize;
        let mut buf = Vec::new();
        while depth > 0 {
            buf.clear();
            match self.reader.read_event_into(&mut buf) {
                Ok(Event::Start(e)) => {
                    depth += 1;
                    field = match e.local_name().as_ref() {
                        "faultcode" => Some(true),
                        "faultstring" => Some(false),
                        _ => None,
                    };
                }
                Ok(Event::End(_)) => {
                    depth -= 1;
                    field = None;
                }
                Ok(Event::Text(t)) => match field {
                    Some(true) if code.len() < 256 => code.push_str(xml_trim(&t)),
                    Some(false) if message.len() < 1024 => message.push_str(xml_trim(&t)),
                    _ => {}
                },
                Ok(Event::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Error::SoapFault { code, message }
    }

    fn open_stream<W: Write>(&mut self, slot: usize, out: &mut W) -> Result<(), Error> {
        if self.root.open == Some(slot) {
            return Ok(());
        }
        if self.root.closed[slot] {
            return Err(self.schema(format!(
                "the records {} must be contiguous",
                self.m.groups[0].slots[slot].xml
            )));
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
                    if self.render_entry(g, inst, entry, &mut s)? {
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
        out.write_all(s.as_bytes()).map_err(Error::Io)
    }

    fn close_stream<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
        if let Some(slot) = self.root.open.take() {
            self.root.closed[slot] = true;
            out.write_all(b"]").map_err(Error::Io)?;
        }
        Ok(())
    }

    fn finish_root<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
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
                if self.render_entry(g, inst, entry, &mut s)? {
                    self.root.any = true;
                } else {
                    s.truncate(before);
                }
            }
        }
        s.push('}');
        out.write_all(s.as_bytes()).map_err(Error::Io)
    }

    fn render(&self, g: &Group, inst: &Inst, out: &mut String) -> Result<(), Error> {
        out.push('{');
        self.render_entries(g, inst, &g.shape, out)?;
        out.push('}');
        Ok(())
    }

    /// Writes the entries that have something to say, comma-separated; returns whether any did.
    fn render_entries(
        &self,
        g: &Group,
        inst: &Inst,
        entries: &[Entry],
        out: &mut String,
    ) -> Result<bool, Error> {
        let mut any = false;
        for entry in entries {
            let before = out.len();
            if any {
                out.push(',');
            }
            if self.render_entry(g, inst, entry, out)? {
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
        g: &Group,
        inst: &Inst,
        entry: &Entry,
        out: &mut String,
    ) -> Result<bool, Error> {
        match entry {
            Entry::Leaf { key, slot } => {
                let def = &g.slots[*slot];
                let v = &inst.vals[*slot];
                crate::json::write_str(out, key);
                out.push(':');
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
                    sc.xml_to_json(d, out).map_err(|r| self.refusal(r, ""))?;
                    return Ok(true);
                }
                if def.required {
                    let mut at = self.at();
                    at.path.push('/');
                    at.path.push_str(&def.xml);
                    return Err(Error::RequiredMissing {
                        at,
                        detail: format!("{} (JSON field {})", def.xml, def.json.join(".")),
                    });
                }
                Ok(false)
            }
            Entry::Object { key, entries } => {
                crate::json::write_str(out, key);
                out.push_str(":{");
                let any = self.render_entries(g, inst, entries, out)?;
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
        return Err(Error::LimitExceeded {
            at: Location::default(),
            limit: "document size in bytes",
            max: limits.max_bytes,
        });
    }
    Ok(v)
}
