//! JSON → XML: validate the value against the mapping (types, required fields, enumerations,
//! unknown fields, with JSON paths), then write the document in schema order.

use serde_json::{Map, Value};

use crate::definition::{Compiled, Entry, Envelope, Group, Node, SlotKind};
use crate::document::PayloadCodec;
use crate::error::{Error, Location, Part};
use crate::value::Refusal;
use crate::xsd::Model;

fn lookup<'v>(obj: &'v Map<String, Value>, keys: &[String]) -> Option<&'v Value> {
    let (first, rest) = keys.split_first()?;
    let v = obj.get(first)?;
    if rest.is_empty() {
        return (!v.is_null()).then_some(v);
    }
    lookup(v.as_object()?, rest)
}

fn refusal(r: Refusal, path: String) -> Error {
    match r {
        Refusal::Type(detail) => Error::TypeInvalid {
            at: Location::json(path),
            detail,
        },
        Refusal::Enum(value) => Error::EnumUnknown {
            at: Location::json(path),
            value,
        },
    }
}

/// Checks `v` against group `gid`; `path` is the JSON path of `v`.
pub(crate) fn validate(m: &Compiled, gid: usize, v: &Value, path: &str) -> Result<(), Error> {
    let g = &m.groups[gid];
    let Some(obj) = v.as_object() else {
        return Err(Error::TypeInvalid {
            at: Location::json(path),
            detail: "expected a JSON object".into(),
        });
    };
    unknown_keys(&g.shape, obj, path)?;
    for def in &g.slots {
        let here = format!("{path}.{}", def.json.join("."));
        let Some(value) = lookup(obj, &def.json) else {
            if def.required && def.default.is_none() {
                return Err(Error::RequiredMissing {
                    at: Location::json(here),
                    detail: format!("field {}", def.json.join(".")),
                });
            }
            continue;
        };
        let items: Vec<(String, &Value)> = if def.array {
            let Some(arr) = value.as_array() else {
                return Err(Error::TypeInvalid {
                    at: Location::json(here),
                    detail: "expected a JSON array".into(),
                });
            };
            if (arr.len() as u64) < u64::from(def.min) {
                return Err(Error::RequiredMissing {
                    at: Location::json(here),
                    detail: format!("at least {} item(s)", def.min),
                });
            }
            if arr.len() as u64 > u64::from(def.max) {
                return Err(Error::SchemaInvalid {
                    at: Location::json(here),
                    detail: format!("at most {} item(s) are allowed", def.max),
                });
            }
            arr.iter()
                .enumerate()
                .map(|(i, item)| (format!("{here}[{i}]"), item))
                .collect()
        } else {
            vec![(here, value)]
        };
        for (p, item) in items {
            match &def.kind {
                SlotKind::Group(sub) => validate(m, *sub, item, &p)?,
                SlotKind::Scalar(sc) => {
                    sc.json_to_xml(item).map_err(|r| refusal(r, p))?;
                }
            }
        }
    }
    Ok(())
}

fn unknown_keys(shape: &[Entry], obj: &Map<String, Value>, path: &str) -> Result<(), Error> {
    for (k, v) in obj {
        let here = format!("{path}.{k}");
        match shape.iter().find(|e| e.key() == k) {
            None => {
                return Err(Error::Unknown {
                    at: Location::json(here),
                });
            }
            Some(Entry::Object { entries, .. }) => match v {
                Value::Object(sub) => unknown_keys(entries, sub, &here)?,
                Value::Null => {}
                _ => {
                    return Err(Error::TypeInvalid {
                        at: Location::json(here),
                        detail: "expected a JSON object".into(),
                    });
                }
            },
            Some(Entry::Leaf { .. }) => {}
        }
    }
    Ok(())
}

pub(crate) struct Writer<'a> {
    pub m: &'a Compiled,
    pub prefix: Option<&'a str>,
    pub envelope: Envelope,
    pub codec: &'a dyn PayloadCodec,
}

fn esc_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn esc_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

/// The depth of content that must not be indented: inside a mixed element whitespace is text.
const NO_INDENT: usize = usize::MAX;

fn indent(out: &mut String, depth: usize) {
    if depth == NO_INDENT {
        return;
    }
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn non_empty(v: &Value) -> bool {
    v.as_array().is_none_or(|a| !a.is_empty())
}

fn any_unqualified(n: &Node) -> bool {
    n.children
        .iter()
        .any(|c| c.ns.is_none() || any_unqualified(c))
}

impl Writer<'_> {
    pub(crate) fn write(&self, v: &Value) -> Result<Vec<u8>, Error> {
        validate(self.m, 0, v, "$")?;
        let Some(obj) = v.as_object() else {
            return Ok(Vec::new());
        };
        let root = &self.m.root;
        let prefix = match (self.prefix, &root.ns) {
            (Some(p), Some(_)) => Some(p),
            (None, Some(_)) if any_unqualified(root) => Some("tns"),
            _ => None,
        };
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let mut depth = 0;
        if self.envelope == Envelope::Soap11 {
            out.push_str("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\n  <soapenv:Body>");
            depth = 2;
            indent(&mut out, depth);
        }
        let mut decl = String::new();
        if let Some(ns) = &root.ns {
            match prefix {
                Some(p) => decl.push_str(&format!(" xmlns:{p}=\"")),
                None => decl.push_str(" xmlns=\""),
            }
            esc_attr(&mut decl, ns);
            decl.push('"');
        }
        self.element(root, 0, obj, prefix, &decl, depth, &mut out)?;
        if self.envelope == Envelope::Base64Document {
            self.sign_document(&mut out)?;
        }
        if self.envelope == Envelope::Soap11 {
            out.push_str("\n  </soapenv:Body>\n</soapenv:Envelope>");
        }
        out.push('\n');
        Ok(out.into_bytes())
    }

    /// Adds `<SIGN>` before `</DOCUMENT>` when the codec signs (the blocks hold Base64 only, and
    /// the writer names them without prefixes, so they are found by their tags). A codec that
    /// signs and a document whose parts cannot be found is an error, never an unsigned document.
    fn sign_document(&self, out: &mut String) -> Result<(), Error> {
        let span = |open: &str, close: &str, inner: bool| -> Option<(usize, usize)> {
            let a = out.find(open)?;
            let from = a + open.len();
            let b = from + out[from..].find(close)?;
            Some(if inner {
                (from, b)
            } else {
                (a, b + close.len())
            })
        };
        let head = span("<HEAD>", "</HEAD>", true);
        let body = span("<BODY>", "</BODY>", true);
        let title = span("<TITLE>", "</TITLE>", false).or_else(|| span("<TITLE/", ">", false));
        let end = out.rfind("</DOCUMENT>");
        let (Some(head), Some(body), Some(end)) = (head, body, end) else {
            if self.codec.sign(&[])?.is_some() {
                return Err(Error::SignatureInvalid {
                    detail: "the document to sign has no HEAD, BODY or DOCUMENT element".into(),
                });
            }
            return Ok(());
        };
        let text = |(a, b): (usize, usize)| &out[a..b];
        let signed = crate::document::signed_text(text(head), text(body), title.map_or("", text));
        let Some(signature) = self.codec.sign(&signed)? else {
            return Ok(());
        };
        use base64::Engine as _;
        let sign = format!(
            "<{0}>{1}</{0}>\n",
            crate::document::SIGN,
            base64::engine::general_purpose::STANDARD.encode(signature)
        );
        out.insert_str(end, &sign);
        Ok(())
    }

    fn name(&self, n: &Node, prefix: Option<&str>, out: &mut String) {
        if let (Some(p), Some(_)) = (prefix, &n.ns) {
            out.push_str(p);
            out.push(':');
        }
        out.push_str(&n.name);
    }

    fn has_data(&self, n: &Node, g: &Group, obj: &Map<String, Value>) -> bool {
        if !n.mapped {
            return false;
        }
        let slot_has = |slot: usize| {
            let def = &g.slots[slot];
            def.default.is_some() || lookup(obj, &def.json).is_some_and(non_empty)
        };
        if let Some((slot, _)) = n.group {
            return lookup(obj, &g.slots[slot].json).is_some_and(non_empty);
        }
        n.text_bind.is_some_and(slot_has)
            || n.attrs.iter().any(|a| a.bind.is_some_and(slot_has))
            || n.children.iter().any(|c| self.has_data(c, g, obj))
    }

    #[allow(clippy::too_many_arguments)]
    fn element(
        &self,
        n: &Node,
        gid: usize,
        obj: &Map<String, Value>,
        prefix: Option<&str>,
        extra: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), Error> {
        let g = &self.m.groups[gid];
        out.push('<');
        self.name(n, prefix, out);
        out.push_str(extra);
        for a in &n.attrs {
            let text = match a.bind {
                Some(slot) => self.scalar_text(g, slot, obj)?,
                None => None,
            };
            if let Some(t) = text {
                out.push(' ');
                out.push_str(&a.name);
                out.push_str("=\"");
                esc_attr(out, &t);
                out.push('"');
            }
        }
        let text = match n.text_bind {
            Some(slot) => self.scalar_text(g, slot, obj)?,
            None => None,
        };
        let mut body = String::new();
        let payload = self.envelope == Envelope::Base64Document
            && gid == 0
            && depth == 1
            && (&*n.name == "HEAD" || &*n.name == "BODY");
        let child_depth = if payload {
            0
        } else if n.mixed || depth == NO_INDENT {
            NO_INDENT
        } else {
            depth + 1
        };
        for c in &n.children {
            self.child(c, n, gid, obj, prefix, child_depth, &mut body)?;
        }
        if payload {
            let part = if &*n.name == "HEAD" {
                Part::Head
            } else {
                Part::Body
            };
            let doc = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}\n");
            let sealed = self.codec.seal(part, doc.into_bytes())?;
            use base64::Engine as _;
            out.push('>');
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(sealed));
        } else if body.is_empty() && text.is_none() {
            out.push_str("/>");
            return Ok(());
        } else {
            out.push('>');
            if let Some(t) = &text {
                esc_text(out, t);
            }
            if !body.is_empty() {
                out.push_str(&body);
                if !n.mixed {
                    indent(out, depth);
                }
            }
        }
        out.push_str("</");
        self.name(n, prefix, out);
        out.push('>');
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn child(
        &self,
        c: &Node,
        parent: &Node,
        gid: usize,
        obj: &Map<String, Value>,
        prefix: Option<&str>,
        depth: usize,
        out: &mut String,
    ) -> Result<(), Error> {
        let g = &self.m.groups[gid];
        if let Some((slot, cgid)) = c.group {
            let def = &g.slots[slot];
            let items: Vec<&Value> = match lookup(obj, &def.json) {
                None => Vec::new(),
                Some(Value::Array(a)) => a.iter().collect(),
                Some(v) => vec![v],
            };
            for item in items {
                if let Some(sub) = item.as_object() {
                    indent(out, depth);
                    self.element(c, cgid, sub, prefix, "", depth, out)?;
                }
            }
            return Ok(());
        }
        if let (Some(slot), true) = (c.text_bind, c.children.is_empty()) {
            let def = &g.slots[slot];
            if def.array {
                if let Some(Value::Array(items)) = lookup(obj, &def.json) {
                    let SlotKind::Scalar(sc) = &def.kind else {
                        return Ok(());
                    };
                    for item in items {
                        let t = sc
                            .json_to_xml(item)
                            .map_err(|r| refusal(r, def.json.join(".")))?;
                        indent(out, depth);
                        out.push('<');
                        self.name(c, prefix, out);
                        self.attrs_for(c, g, obj, out)?;
                        out.push('>');
                        esc_text(out, &t);
                        out.push_str("</");
                        self.name(c, prefix, out);
                        out.push('>');
                    }
                }
                return Ok(());
            }
        }
        let required = c.min >= 1 && !matches!(parent.model, Model::Choice { .. });
        if self.has_data(c, g, obj) || required {
            indent(out, depth);
            self.element(c, gid, obj, prefix, "", depth, out)?;
        }
        Ok(())
    }

    fn attrs_for(
        &self,
        n: &Node,
        g: &Group,
        obj: &Map<String, Value>,
        out: &mut String,
    ) -> Result<(), Error> {
        for a in &n.attrs {
            if let Some(slot) = a.bind
                && let Some(t) = self.scalar_text(g, slot, obj)?
            {
                out.push(' ');
                out.push_str(&a.name);
                out.push_str("=\"");
                esc_attr(out, &t);
                out.push('"');
            }
        }
        Ok(())
    }

    fn scalar_text(
        &self,
        g: &Group,
        slot: usize,
        obj: &Map<String, Value>,
    ) -> Result<Option<String>, Error> {
        let def = &g.slots[slot];
        let SlotKind::Scalar(sc) = &def.kind else {
            return Ok(None);
        };
        match lookup(obj, &def.json) {
            Some(v) => sc
                .json_to_xml(v)
                .map(Some)
                .map_err(|r| refusal(r, def.json.join("."))),
            None => Ok(def.default.clone()),
        }
    }
}
