//! Mapping definitions: the TOML format (`Raw*`) and its compilation against the XSD into the
//! tree both directions walk.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Location};
use crate::value::{DateFormat, Scalar, ScalarType};
use crate::xsd::{self, Builtin, ElemDecl, Model, SimpleType};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMapping {
    pub name: String,
    pub version: u32,
    pub message_type: String,
    #[serde(default)]
    pub description: String,
    pub schema: String,
    pub root: String,
    pub xml_prefix: Option<String>,
    #[serde(default)]
    pub envelope: Envelope,
    #[serde(default)]
    pub mixed_content: MixedContent,
    pub message_id: Option<String>,
    #[serde(default)]
    pub codes: BTreeMap<String, BTreeMap<String, String>>,
    pub fields: Vec<RawField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawField {
    pub json: String,
    pub xml: String,
    #[serde(rename = "type")]
    pub ty: Option<ScalarType>,
    pub array: Option<bool>,
    pub required: Option<bool>,
    pub default: Option<String>,
    pub codes: Option<String>,
    #[serde(rename = "enum")]
    pub enumeration: Option<Vec<String>>,
    pub trim: Option<bool>,
    pub format: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub description: String,
    pub fields: Option<Vec<RawField>>,
}

/// How the message travels inside its XML document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Envelope {
    /// The message element is the document element.
    #[default]
    None,
    /// A SOAP 1.1 envelope: unwrapped on input (bare documents are accepted too), added on output.
    Soap11,
    /// The receivables platform's `<DOCUMENT><TITLE/><HEAD>base64</HEAD><BODY>base64</BODY>`.
    Base64Document,
}

/// What to do with text beside child elements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MixedContent {
    #[default]
    Refuse,
    Keep,
}

/// A compiled element: the schema's declaration plus what the mapping binds to it.
///
/// Laid out in declaration order, what XML → JSON looks at for every element first: finding
/// a child by name and counting it touches only the first 64 bytes of each sibling.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Node {
    /// The first 16 bytes of the name, zero-padded (a quick comparison while reading).
    pub head: u128,
    pub min: u32,
    pub max: u32,
    pub name: Box<str>,
    pub ns: Option<Box<str>>,
    pub model: Model,
    pub mixed: bool,
    /// Something in this subtree is bound (JSON→XML writes only such subtrees, or required ones).
    pub mapped: bool,
    pub children: Vec<Node>,
    pub attrs: Vec<AttrNode>,
    /// The slot (in the current group) that receives this element's text.
    pub text_bind: Option<usize>,
    /// This element starts an instance of group `.1`, stored in slot `.0` of the enclosing group.
    pub group: Option<(usize, usize)>,
    pub text: Option<SimpleType>,
}

#[derive(Debug)]
pub(crate) struct AttrNode {
    pub name: Box<str>,
    pub required: bool,
    pub default: Option<String>,
    pub ty: SimpleType,
    pub bind: Option<usize>,
}

/// One JSON object shape produced by one element instance.
#[derive(Debug, Default)]
pub(crate) struct Group {
    pub slots: Vec<Slot>,
    pub shape: Vec<Entry>,
}

#[derive(Debug)]
pub(crate) struct Slot {
    /// Dotted key path inside the group's object.
    pub json: Vec<String>,
    /// XML path relative to the group's element, for messages.
    pub xml: String,
    pub array: bool,
    pub required: bool,
    /// XML lexical default used when the value is absent.
    pub default: Option<String>,
    pub kind: SlotKind,
    /// Index of the top-level shape entry holding this slot.
    pub top: usize,
    pub min: u32,
    pub max: u32,
}

#[derive(Debug)]
pub(crate) enum SlotKind {
    Scalar(Box<Scalar>),
    Group(usize),
}

#[derive(Debug)]
pub(crate) enum Entry {
    Leaf {
        key: String,
        /// `"key":`, rendered once.
        json: String,
        slot: usize,
    },
    Object {
        key: String,
        /// `"key":`, rendered once.
        json: String,
        entries: Vec<Entry>,
    },
}

fn json_key(key: &str) -> String {
    let mut s = String::with_capacity(key.len() + 3);
    crate::json::write_str(&mut s, key);
    s.push(':');
    s
}

impl Entry {
    pub(crate) fn key(&self) -> &str {
        match self {
            Entry::Leaf { key, .. } | Entry::Object { key, .. } => key,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Compiled {
    pub root: Node,
    pub groups: Vec<Group>,
}

fn node_from(decl: ElemDecl) -> Node {
    let mut head = [0u8; 16];
    let n = decl.name.len().min(16);
    head[..n].copy_from_slice(&decl.name.as_bytes()[..n]);
    Node {
        head: u128::from_le_bytes(head),
        ns: decl.ns.map(String::into_boxed_str),
        name: decl.name.into_boxed_str(),
        min: decl.min,
        max: decl.max,
        model: decl.model,
        children: decl.children.into_iter().map(node_from).collect(),
        attrs: decl
            .attrs
            .into_iter()
            .map(|a| AttrNode {
                name: a.name.into_boxed_str(),
                required: a.required,
                default: a.default,
                ty: a.ty,
                bind: None,
            })
            .collect(),
        text: decl.text,
        mixed: decl.mixed,
        text_bind: None,
        group: None,
        mapped: false,
    }
}

struct Compiler<'a> {
    source: &'a str,
    codes: &'a BTreeMap<String, BTreeMap<String, String>>,
    groups: Vec<Group>,
    /// `mixed_content = "keep"`: the text of mixed elements may be mapped.
    keep_mixed: bool,
}

enum Target {
    Elem(Vec<usize>),
    Attr(Vec<usize>, usize),
}

fn node_at<'n>(root: &'n mut Node, path: &[usize]) -> &'n mut Node {
    let mut n = root;
    for &i in path {
        n = &mut n.children[i];
    }
    n
}

impl Compiler<'_> {
    fn err(&self, detail: impl Into<String>) -> Error {
        Error::definition(self.source, detail)
    }

    /// Resolves `xml` from the group element at `base`; checks that no step repeats or starts a
    /// group, and computes whether the schema requires the target.
    fn resolve(
        &self,
        root: &Node,
        base: &[usize],
        xml: &str,
    ) -> Result<(Target, bool, u32, u32), Error> {
        let mut node = root;
        for &i in base {
            node = &node.children[i];
        }
        let mut path = base.to_vec();
        let mut required = true;
        let mut interior_required = true;
        let steps: Vec<&str> = if xml == "." {
            Vec::new()
        } else {
            xml.split('/').collect()
        };
        let count = steps.len();
        for (k, step) in steps.iter().enumerate() {
            let last = k + 1 == count;
            if let Some(attr) = step.strip_prefix('@') {
                if !last {
                    return Err(self.err(format!("{xml}: an attribute must be the last step")));
                }
                let idx = node
                    .attrs
                    .iter()
                    .position(|a| &*a.name == attr)
                    .ok_or_else(|| {
                        self.err(format!(
                            "{xml}: element {} has no attribute {attr} in the schema",
                            node.name
                        ))
                    })?;
                required &= node.attrs[idx].required;
                return Ok((Target::Attr(path, idx), required, 0, 1));
            }
            let local = step.rsplit(':').next().unwrap_or(step);
            let idx = node
                .children
                .iter()
                .position(|c| &*c.name == local)
                .ok_or_else(|| {
                    self.err(format!(
                        "{xml}: element {} has no child {local} in the schema",
                        node.name
                    ))
                })?;
            let child = &node.children[idx];
            if !last && child.max > 1 {
                return Err(self.err(format!(
                    "{xml}: {local} repeats (maxOccurs > 1); map it as its own array field with nested fields"
                )));
            }
            if !last && child.group.is_some() {
                return Err(self.err(format!(
                    "{xml}: {local} is already mapped as an object; map this inside it"
                )));
            }
            if last {
                interior_required = required;
            }
            required &= child.min >= 1 && !matches!(node.model, Model::Choice { .. });
            path.push(idx);
            node = child;
        }
        let min = if interior_required { node.min } else { 0 };
        Ok((Target::Elem(path), required, min, node.max))
    }

    fn scalar(&self, f: &RawField, xsd: &SimpleType) -> Result<Scalar, Error> {
        let ty = f.ty.unwrap_or(ScalarType::String);
        let compatible = match xsd.base {
            Builtin::String | Builtin::Base64 => true,
            Builtin::Integer { .. } => {
                matches!(
                    ty,
                    ScalarType::String | ScalarType::Integer | ScalarType::Decimal
                )
            }
            Builtin::Decimal => matches!(ty, ScalarType::String | ScalarType::Decimal),
            Builtin::Boolean => matches!(ty, ScalarType::String | ScalarType::Boolean),
            Builtin::Date => {
                matches!(ty, ScalarType::String) || (ty == ScalarType::Date && f.format.is_none())
            }
            Builtin::DateTime => {
                matches!(ty, ScalarType::String)
                    || (ty == ScalarType::Datetime && f.format.is_none())
            }
            Builtin::Time => ty == ScalarType::String,
        };
        if !compatible {
            return Err(self.err(format!(
                "{}: type {ty:?} (format {:?}) is not compatible with the schema type {:?}",
                f.xml, f.format, xsd.base
            )));
        }
        let format = match &f.format {
            None => None,
            Some(spec) => {
                let fmt = DateFormat::parse(spec)
                    .ok_or_else(|| self.err(format!("{}: unreadable format {spec:?}", f.xml)))?;
                let fits = match ty {
                    ScalarType::Date => fmt.has_date() && !fmt.has_time(),
                    ScalarType::Datetime => fmt.has_date() && fmt.has_time(),
                    _ => false,
                };
                if !fits {
                    return Err(self.err(format!(
                        "{}: format {spec:?} does not fit type {ty:?}",
                        f.xml
                    )));
                }
                Some(fmt)
            }
        };
        let codes = match &f.codes {
            None => None,
            Some(table) => {
                if ty != ScalarType::String {
                    return Err(self.err(format!("{}: code tables need type string", f.xml)));
                }
                let forward = self
                    .codes
                    .get(table)
                    .ok_or_else(|| self.err(format!("{}: unknown code table {table}", f.xml)))?
                    .clone();
                let mut reverse = BTreeMap::new();
                for (code, value) in &forward {
                    if reverse.insert(value.clone(), code.clone()).is_some() {
                        return Err(
                            self.err(format!("code table {table}: value {value:?} appears twice"))
                        );
                    }
                    if !xsd.enumeration.is_empty() && !xsd.enumeration.contains(code) {
                        return Err(self.err(format!(
                            "{}: code {code:?} of table {table} is not allowed by the schema",
                            f.xml
                        )));
                    }
                }
                if let Some(missing) = xsd.enumeration.iter().find(|e| !forward.contains_key(*e)) {
                    return Err(self.err(format!(
                        "{}: schema value {missing:?} is missing from code table {table}",
                        f.xml
                    )));
                }
                Some((forward, reverse))
            }
        };
        let enumeration = f.enumeration.clone().unwrap_or_default();
        if !enumeration.is_empty() && ty != ScalarType::String {
            return Err(self.err(format!("{}: enum needs type string", f.xml)));
        }
        Ok(Scalar {
            ty,
            xsd: xsd.clone(),
            trim: f.trim.unwrap_or(false),
            format,
            codes,
            enumeration,
        })
    }

    /// Compiles the fields at TOML key `key` (`fields`, `fields[2].fields` …); an error about a
    /// field names it by its key (`fields[2].fields[0]`).
    fn group(
        &mut self,
        root: &mut Node,
        base: &[usize],
        fields: &[RawField],
        gid: usize,
        key: &str,
    ) -> Result<(), Error> {
        for (i, f) in fields.iter().enumerate() {
            let here = format!("{key}[{i}]");
            self.field(root, base, f, gid, &here)
                .map_err(|e| e.at_definition_key(&here))?;
        }
        Ok(())
    }

    /// Compiles one field, at TOML key `key`.
    fn field(
        &mut self,
        root: &mut Node,
        base: &[usize],
        f: &RawField,
        gid: usize,
        key: &str,
    ) -> Result<(), Error> {
        let keys: Vec<String> = f.json.split('.').map(str::to_owned).collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(self.err(format!("json key {:?} is not a dotted name", f.json)));
        }
        let (target, schema_required, min, max) = self.resolve(root, base, &f.xml)?;
        let slot_idx = self.groups[gid].slots.len();
        let explicit_array = f.array;
        let (kind, array) = match (&f.fields, &target) {
            (Some(_), Target::Attr(..)) => {
                return Err(self.err(format!("{}: an attribute cannot hold fields", f.xml)));
            }
            (Some(sub), Target::Elem(path)) => {
                let node = node_at(root, path);
                if node.children.is_empty() && node.attrs.is_empty() {
                    return Err(self.err(format!(
                        "{}: {} has no child elements or attributes to map",
                        f.xml, node.name
                    )));
                }
                if node.mapped || node.group.is_some() || path.as_slice() == base {
                    return Err(self.err(format!(
                        "{}: this element is already mapped by another field",
                        f.xml
                    )));
                }
                for key in ["type", "codes", "format", "default"] {
                    let set = match key {
                        "type" => f.ty.is_some(),
                        "codes" => f.codes.is_some(),
                        "format" => f.format.is_some(),
                        _ => f.default.is_some(),
                    };
                    if set {
                        return Err(self.err(format!(
                            "{}: {key} does not apply to a field with nested fields",
                            f.xml
                        )));
                    }
                }
                let new_gid = self.groups.len();
                self.groups.push(Group::default());
                node.group = Some((slot_idx, new_gid));
                let array = explicit_array.unwrap_or(node.max > 1);
                let path = path.clone();
                self.groups[gid].slots.push(Slot {
                    json: keys.clone(),
                    xml: f.xml.clone(),
                    array,
                    required: f.required.unwrap_or(false) || schema_required,
                    default: None,
                    kind: SlotKind::Group(new_gid),
                    top: 0,
                    min,
                    max,
                });
                self.group(root, &path, sub, new_gid, &format!("{key}.fields"))?;
                mark_mapped(root, &path);
                (None, array)
            }
            (None, Target::Elem(path)) => {
                let node = node_at(root, path);
                let text_ty = match node.text.clone() {
                    Some(t) => t,
                    // The text pieces of a mixed element, kept together as a string.
                    None if node.mixed && self.keep_mixed => {
                        crate::xsd::SimpleType::builtin(crate::xsd::Builtin::String, false)
                    }
                    None if node.mixed => {
                        return Err(self.err(format!(
                            "{}: {} has mixed content: its text can be mapped only with mixed_content = \"keep\"",
                            f.xml, node.name
                        )));
                    }
                    None => {
                        return Err(self.err(format!(
                            "{}: {} has element-only content; map its children",
                            f.xml, node.name
                        )));
                    }
                };
                if node.text_bind.is_some() {
                    return Err(self.err(format!("{}: mapped twice", f.xml)));
                }
                node.text_bind = Some(slot_idx);
                let array = explicit_array.unwrap_or(node.max > 1);
                let path = path.clone();
                mark_mapped(root, &path);
                (Some(self.scalar(f, &text_ty)?), array)
            }
            (None, Target::Attr(path, idx)) => {
                let node = node_at(root, path);
                let attr = &mut node.attrs[*idx];
                if attr.bind.is_some() {
                    return Err(self.err(format!("{}: mapped twice", f.xml)));
                }
                attr.bind = Some(slot_idx);
                let ty = attr.ty.clone();
                let xsd_default = attr.default.clone();
                let path = path.clone();
                mark_mapped(root, &path);
                if explicit_array == Some(true) {
                    return Err(self.err(format!("{}: an attribute cannot be an array", f.xml)));
                }
                let mut scalar = self.scalar(f, &ty)?;
                if f.default.is_none()
                    && let Some(d) = xsd_default
                {
                    {
                        scalar.trim = scalar.trim || ty.collapse;
                        self.push_scalar(
                            gid,
                            keys,
                            f,
                            scalar,
                            false,
                            schema_required,
                            Some(d),
                            (0, 1),
                        )?;
                        return Ok(());
                    }
                }
                (Some(scalar), false)
            }
        };
        if array && max <= 1 {
            return Err(self.err(format!(
                "{}: declared as an array but the schema allows one occurrence (maxOccurs=1)",
                f.xml
            )));
        }
        if !array && max > 1 {
            return Err(self.err(format!(
                "{}: the schema allows several occurrences (maxOccurs>1) but the field is not an array",
                f.xml
            )));
        }
        if let Some(scalar) = kind {
            self.push_scalar(
                gid,
                keys,
                f,
                scalar,
                array,
                schema_required,
                f.default.clone(),
                (min, max),
            )?;
        } else {
            self.shape_insert(gid, &keys, slot_idx)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn push_scalar(
        &mut self,
        gid: usize,
        keys: Vec<String>,
        f: &RawField,
        scalar: Scalar,
        array: bool,
        schema_required: bool,
        default: Option<String>,
        (min, max): (u32, u32),
    ) -> Result<(), Error> {
        if let Some(d) = &default {
            let mut probe = String::new();
            scalar
                .xml_to_json(d, &mut probe)
                .map_err(|_| self.err(format!("{}: default {d:?} is not a valid value", f.xml)))?;
        }
        let slot_idx = self.groups[gid].slots.len();
        self.groups[gid].slots.push(Slot {
            json: keys.clone(),
            xml: f.xml.clone(),
            array,
            required: f.required.unwrap_or(false) || schema_required,
            default,
            kind: SlotKind::Scalar(Box::new(scalar)),
            top: 0,
            min,
            max,
        });
        self.shape_insert(gid, &keys, slot_idx)
    }

    fn shape_insert(&mut self, gid: usize, keys: &[String], slot: usize) -> Result<(), Error> {
        let joined = keys.join(".");
        let group = &mut self.groups[gid];
        let top = group
            .shape
            .iter()
            .position(|e| e.key() == keys[0])
            .unwrap_or(group.shape.len());
        insert_entry(&mut group.shape, keys, slot)
            .map_err(|why| Error::definition(self.source, format!("json key {joined}: {why}")))?;
        group.slots[slot].top = top;
        Ok(())
    }
}

fn insert_entry(entries: &mut Vec<Entry>, keys: &[String], slot: usize) -> Result<(), String> {
    let Some((key, rest)) = keys.split_first() else {
        return Ok(());
    };
    let pos = entries.iter().position(|e| e.key() == key);
    match (pos, rest.is_empty()) {
        (Some(_), true) => Err("mapped twice".into()),
        (None, true) => {
            entries.push(Entry::Leaf {
                key: key.clone(),
                json: json_key(key),
                slot,
            });
            Ok(())
        }
        (Some(i), false) => match &mut entries[i] {
            Entry::Object { entries: sub, .. } => insert_entry(sub, rest, slot),
            Entry::Leaf { .. } => Err(format!("{key} is already a value")),
        },
        (None, false) => {
            let mut sub = Vec::new();
            insert_entry(&mut sub, rest, slot)?;
            entries.push(Entry::Object {
                key: key.clone(),
                json: json_key(key),
                entries: sub,
            });
            Ok(())
        }
    }
}

fn mark_mapped(root: &mut Node, path: &[usize]) {
    let mut n = root;
    n.mapped = true;
    for &i in path {
        n = &mut n.children[i];
        n.mapped = true;
    }
}

/// JSON→XML must be able to produce every element and attribute the schema requires wherever
/// it writes an element.
fn check_producible(source: &str, node: &Node, path: &str) -> Result<(), Error> {
    let here = format!("{path}/{}", node.name);
    if node.text.is_some() && node.text_bind.is_none() && node.children.is_empty() {
        return Err(Error::definition(
            source,
            format!("{here} is required by the schema but no field maps its text"),
        ));
    }
    for a in &node.attrs {
        if a.required && a.bind.is_none() && a.default.is_none() {
            return Err(Error::definition(
                source,
                format!(
                    "{here}/@{} is required by the schema but not mapped",
                    a.name
                ),
            ));
        }
    }
    for c in &node.children {
        let written = c.mapped || (c.min >= 1 && !matches!(node.model, Model::Choice { .. }));
        if written {
            check_producible(source, c, &here)?;
        }
    }
    Ok(())
}

/// A TOML syntax or shape error of the definition `source`, at its line and column in `text`.
pub(crate) fn toml_error(source: &str, text: &str, e: toml::de::Error) -> Error {
    let at = match e.span() {
        Some(span) => Location::at(crate::input::line_col(text.as_bytes(), span.start), ""),
        None => Location::default(),
    };
    Error::DefinitionInvalid {
        at,
        source_name: source.to_owned(),
        detail: e.message().trim_end().to_owned(),
    }
}

/// `e` with the line and column of the entry its key names in the definition `source`, whose
/// text is `text` (errors of other files, a schema's say, are returned as they are).
#[cold]
pub(crate) fn locate(source: &str, text: &str, mut e: Error) -> Error {
    if let Error::DefinitionInvalid {
        at, source_name, ..
    } = &mut e
        && source_name == source
        && at.line.is_none()
        && !at.path.is_empty()
        && let Some(offset) = key_offset(text, &at.path)
    {
        let (line, column) = crate::input::line_col(text.as_bytes(), offset);
        at.line = Some(line);
        at.column = Some(column);
    }
    e
}

/// Where the value at key path `key` (`fields[2].fields[0]`, `version`) is written in TOML
/// `text` (for a table of an array of tables, its `[[…]]` header).
fn key_offset(text: &str, key: &str) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut span = None;
    for step in key.split('.') {
        let (name, indexes) = match step.find('[') {
            Some(b) => (&step[..b], &step[b..]),
            None => (step, ""),
        };
        let table_now = table;
        let (_, value) = table_now
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == name)?;
        let mut value = value;
        for index in indexes.split('[').skip(1) {
            let n: usize = index.strip_suffix(']')?.parse().ok()?;
            let DeValue::Array(items) = value.get_ref() else {
                return None;
            };
            value = items.get(n)?;
        }
        span = Some(value.span().start);
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => table = table_now,
        }
    }
    span
}

pub(crate) fn compile(source: &str, raw: &RawMapping, xsd_text: &str) -> Result<Compiled, Error> {
    let schema = xsd::load(&raw.schema, xsd_text, &raw.root)?;
    let mut root = node_from(schema.root);
    let mut c = Compiler {
        source,
        codes: &raw.codes,
        groups: vec![Group::default()],
        keep_mixed: raw.mixed_content == MixedContent::Keep,
    };
    if raw.fields.is_empty() {
        return Err(Error::definition_key(
            source,
            "fields",
            "a mapping needs at least one field",
        ));
    }
    c.group(&mut root, &[], &raw.fields, 0, "fields")?;
    root.mapped = true;
    check_producible(source, &root, "")?;
    Ok(Compiled {
        root,
        groups: c.groups,
    })
}
