//! A pragmatic reader for the XSD subset partner messages use.
//!
//! Supported: global and local `xs:element` (with `name`+`type`, an anonymous type, or `ref`),
//! named and anonymous `xs:complexType` with one `xs:sequence`, `xs:all` or `xs:choice` of
//! elements, `mixed="true"`, `xs:simpleContent` / `xs:extension` (text plus attributes),
//! `xs:attribute` (`use="required"`, `default`), `minOccurs` / `maxOccurs` on elements,
//! `xs:simpleType` with `xs:restriction` of a built-in type and the facets `enumeration`,
//! `length`, `minLength`, `maxLength`, `totalDigits` and `fractionDigits`; built-in types
//! string, normalizedString, token, integer (and int, long, short, byte, nonNegativeInteger,
//! positiveInteger, unsignedInt, unsignedLong, unsignedShort), decimal, boolean, date, dateTime,
//! time and base64Binary; `targetNamespace` and `elementFormDefault`. `xs:annotation` is
//! ignored. Everything else (imports, includes, groups, wildcards, patterns, ranges, lists,
//! unions, derivation of complex types, recursion) is refused when the schema is loaded.

use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::error::{Error, Location};

const XS: &str = "http://www.w3.org/2001/XMLSchema";
const MAX_INSTANCE_DEPTH: usize = 32;

/// A built-in simple type, reduced to what the engine checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    String,
    Integer { min_zero: bool, min_one: bool },
    Decimal,
    Boolean,
    Date,
    DateTime,
    Time,
    Base64,
}

/// A simple type: a built-in base and its facets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimpleType {
    pub base: Builtin,
    /// Whitespace collapsing applies (every built-in but string).
    pub collapse: bool,
    pub enumeration: Vec<String>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub total_digits: Option<usize>,
    pub fraction_digits: Option<usize>,
}

impl SimpleType {
    pub(crate) fn builtin(base: Builtin, collapse: bool) -> Self {
        SimpleType {
            base,
            collapse,
            enumeration: Vec::new(),
            min_length: None,
            max_length: None,
            total_digits: None,
            fraction_digits: None,
        }
    }
}

/// How an element's children are constrained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    Sequence,
    All,
    /// `required` is false when the choice itself has `minOccurs="0"`.
    Choice {
        required: bool,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct AttrDecl {
    pub name: String,
    pub required: bool,
    pub default: Option<String>,
    pub ty: SimpleType,
}

/// One element declaration, instantiated at its place in the document tree.
#[derive(Debug, Clone)]
pub(crate) struct ElemDecl {
    pub ns: Option<String>,
    pub name: String,
    pub min: u32,
    /// `u32::MAX` for unbounded.
    pub max: u32,
    pub model: Model,
    pub children: Vec<ElemDecl>,
    pub attrs: Vec<AttrDecl>,
    /// The type of the text content: simple elements and simple content.
    pub text: Option<SimpleType>,
    pub mixed: bool,
}

/// A parsed schema document.
#[derive(Debug)]
pub(crate) struct Schema {
    pub root: ElemDecl,
}

#[derive(Debug)]
struct XNode {
    ns: String,
    local: String,
    attrs: Vec<(String, String)>,
    children: Vec<XNode>,
    /// In-scope prefix bindings (prefix, uri); the empty prefix is the default namespace.
    scope: Vec<(String, String)>,
    line: u64,
    column: u64,
}

impl XNode {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn is_xs(&self, local: &str) -> bool {
        self.ns == XS && self.local == local
    }

    /// Resolves a QName-valued attribute to (namespace URI, local name).
    fn qname(&self, value: &str) -> (String, String) {
        let (prefix, local) = match value.split_once(':') {
            Some((p, l)) => (p, l),
            None => ("", value),
        };
        let uri = self
            .scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.clone())
            .unwrap_or_default();
        (uri, local.to_owned())
    }

    /// The children that carry meaning (annotations dropped).
    fn content(&self) -> impl Iterator<Item = &XNode> {
        self.children.iter().filter(|c| !c.is_xs("annotation"))
    }
}

fn parse_dom(source: &str, text: &str) -> Result<XNode, Error> {
    let mut reader = NsReader::from_reader(text.as_bytes());
    let mut stack: Vec<XNode> = Vec::new();
    let mut scopes: Vec<(String, String)> = Vec::new();
    let mut scope_marks: Vec<usize> = Vec::new();
    let mut root: Option<XNode> = None;
    let at = |offset: usize, detail: String| Error::DefinitionInvalid {
        at: Location::at(crate::input::line_col(text.as_bytes(), offset), ""),
        source_name: source.to_owned(),
        detail,
    };
    loop {
        let pos = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let offset = reader.error_position() as usize;
                return Err(at(offset, format!("schema is not well-formed XML: {e}")));
            }
        };
        let bad = |detail: String| at(pos, detail);
        let (line, column) = crate::input::line_col(text.as_bytes(), pos);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                scope_marks.push(scopes.len());
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| bad(format!("schema attribute: {e}")))?;
                    let key = a.key.as_ref().to_owned();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| bad(format!("schema attribute: {e}")))?
                        .into_owned();
                    if key == "xmlns" {
                        scopes.push((String::new(), value));
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        scopes.push((p.to_owned(), value));
                    } else {
                        attrs.push((key, value));
                    }
                }
                let (res, local) = reader.resolver().resolve_element(e.name());
                let ns = match res {
                    ResolveResult::Bound(n) => n.as_ref().to_owned(),
                    ResolveResult::Unbound => String::new(),
                    ResolveResult::Unknown(p) => {
                        return Err(bad(format!("unknown prefix {}", p)));
                    }
                };
                let node = XNode {
                    ns,
                    local: local.as_ref().to_owned(),
                    attrs,
                    children: Vec::new(),
                    scope: scopes.clone(),
                    line,
                    column,
                };
                if empty {
                    if let Some(m) = scope_marks.pop() {
                        scopes.truncate(m);
                    }
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => root = Some(node),
                    }
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                if let Some(m) = scope_marks.pop() {
                    scopes.truncate(m);
                }
                if let Some(node) = stack.pop() {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => root = Some(node),
                    }
                }
            }
            Event::DocType(_) => return Err(bad("schemas may not carry a DOCTYPE".into())),
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| Error::definition(source, "schema has no root element"))
}

struct Ctx<'a> {
    source: &'a str,
    target_ns: Option<String>,
    qualified: bool,
    elements: HashMap<String, &'a XNode>,
    complex: HashMap<String, &'a XNode>,
    simple: HashMap<String, &'a XNode>,
}

impl<'a> Ctx<'a> {
    fn err(&self, node: &XNode, detail: impl std::fmt::Display) -> Error {
        Error::DefinitionInvalid {
            at: Location::at((node.line, node.column), ""),
            source_name: self.source.to_owned(),
            detail: detail.to_string(),
        }
    }

    fn occurs(&self, node: &XNode) -> Result<(u32, u32), Error> {
        let min = match node.attr("minOccurs") {
            None => 1,
            Some(v) => v
                .parse::<u32>()
                .map_err(|_| self.err(node, format!("minOccurs {v:?} is not a number")))?,
        };
        let max = match node.attr("maxOccurs") {
            None => 1,
            Some("unbounded") => u32::MAX,
            Some(v) => v
                .parse::<u32>()
                .map_err(|_| self.err(node, format!("maxOccurs {v:?} is not a number")))?,
        };
        if max < min || max == 0 {
            return Err(self.err(node, "maxOccurs must be at least 1 and at least minOccurs"));
        }
        Ok((min, max))
    }

    fn simple_by_name(&self, at: &XNode, qname: &str, depth: usize) -> Result<SimpleType, Error> {
        let (ns, local) = at.qname(qname);
        if ns == XS {
            return builtin(&local)
                .ok_or_else(|| self.err(at, format!("built-in type xs:{local} is not supported")));
        }
        if Some(&ns) != self.target_ns.as_ref() && !(ns.is_empty() && self.target_ns.is_none()) {
            return Err(self.err(at, format!("type {qname} is not in this schema")));
        }
        match self.simple.get(&local) {
            Some(st) => self.simple_type(st, depth + 1),
            None => Err(self.err(at, format!("simple type {qname} is not defined"))),
        }
    }

    fn simple_type(&self, node: &XNode, depth: usize) -> Result<SimpleType, Error> {
        if depth > MAX_INSTANCE_DEPTH {
            return Err(self.err(node, "simple type derivation is too deep"));
        }
        let mut content = node.content();
        let Some(restr) = content.next() else {
            return Err(self.err(node, "xs:simpleType needs an xs:restriction"));
        };
        if !restr.is_xs("restriction") {
            return Err(self.err(
                restr,
                format!(
                    "xs:{} is not supported in a simple type (only xs:restriction)",
                    restr.local
                ),
            ));
        }
        let base = restr
            .attr("base")
            .ok_or_else(|| self.err(restr, "xs:restriction needs a base"))?;
        let mut ty = self.simple_by_name(restr, base, depth)?;
        let mut enums = Vec::new();
        for facet in restr.content() {
            let value = facet.attr("value").unwrap_or_default();
            let num = || {
                value
                    .parse::<usize>()
                    .map_err(|_| self.err(facet, format!("facet value {value:?} is not a number")))
            };
            if facet.ns != XS {
                return Err(self.err(facet, "unexpected element in xs:restriction"));
            }
            match facet.local.as_str() {
                "enumeration" => enums.push(value.to_owned()),
                "length" => {
                    let n = num()?;
                    ty.min_length = Some(n);
                    ty.max_length = Some(n);
                }
                "minLength" => ty.min_length = Some(num()?),
                "maxLength" => ty.max_length = Some(num()?),
                "totalDigits" => ty.total_digits = Some(num()?),
                "fractionDigits" => ty.fraction_digits = Some(num()?),
                other => {
                    return Err(self.err(
                        facet,
                        format!("facet xs:{other} is not supported by the schema subset"),
                    ));
                }
            }
        }
        if !enums.is_empty() {
            ty.enumeration = enums;
        }
        Ok(ty)
    }

    fn attribute(&self, node: &XNode) -> Result<AttrDecl, Error> {
        let name = node
            .attr("name")
            .ok_or_else(|| self.err(node, "xs:attribute needs a name (ref is not supported)"))?;
        if node.attr("form") == Some("qualified") {
            return Err(self.err(node, "qualified attributes are not supported"));
        }
        let ty = match (node.attr("type"), node.content().next()) {
            (Some(t), _) => self.simple_by_name(node, t, 0)?,
            (None, Some(st)) if st.is_xs("simpleType") => self.simple_type(st, 0)?,
            (None, _) => SimpleType::builtin(Builtin::String, false),
        };
        let required = match node.attr("use") {
            None | Some("optional") => false,
            Some("required") => true,
            Some(other) => return Err(self.err(node, format!("use={other:?} is not supported"))),
        };
        Ok(AttrDecl {
            name: name.to_owned(),
            required,
            default: node.attr("default").map(str::to_owned),
            ty,
        })
    }

    fn element(
        &self,
        node: &XNode,
        global: bool,
        depth: usize,
        occurs: Option<(u32, u32)>,
    ) -> Result<ElemDecl, Error> {
        if depth > MAX_INSTANCE_DEPTH {
            return Err(self.err(
                node,
                "element nesting is too deep (recursive schemas are not supported)",
            ));
        }
        for unsupported in [
            "substitutionGroup",
            "abstract",
            "nillable",
            "fixed",
            "default",
        ] {
            if node.attr(unsupported).is_some() {
                return Err(self.err(
                    node,
                    format!("{unsupported} is not supported on xs:element"),
                ));
            }
        }
        let (min, max) = match occurs {
            Some(o) => o,
            None => self.occurs(node)?,
        };
        if let Some(r) = node.attr("ref") {
            let (ns, local) = node.qname(r);
            let target = self
                .elements
                .get(&local)
                .filter(|_| Some(&ns) == self.target_ns.as_ref() || ns.is_empty())
                .ok_or_else(|| self.err(node, format!("referenced element {r} is not defined")))?;
            return self.element(target, true, depth + 1, Some((min, max)));
        }
        let name = node
            .attr("name")
            .ok_or_else(|| self.err(node, "xs:element needs a name or a ref"))?;
        let ns = if global || self.qualified {
            self.target_ns.clone()
        } else {
            None
        };
        let mut decl = ElemDecl {
            ns,
            name: name.to_owned(),
            min,
            max,
            model: Model::Sequence,
            children: Vec::new(),
            attrs: Vec::new(),
            text: None,
            mixed: false,
        };
        match (node.attr("type"), node.content().next()) {
            (Some(t), _) => {
                let (ns, local) = node.qname(t);
                if ns == XS {
                    decl.text = Some(self.simple_by_name(node, t, 0)?);
                } else if let Some(ct) = self.complex.get(&local) {
                    self.complex_type(ct, &mut decl, depth)?;
                } else if self.simple.contains_key(&local) {
                    decl.text = Some(self.simple_by_name(node, t, 0)?);
                } else {
                    return Err(self.err(node, format!("type {t} is not defined")));
                }
            }
            (None, Some(anon)) if anon.is_xs("complexType") => {
                self.complex_type(anon, &mut decl, depth)?
            }
            (None, Some(anon)) if anon.is_xs("simpleType") => {
                decl.text = Some(self.simple_type(anon, 0)?)
            }
            (None, Some(other)) => {
                return Err(self.err(other, format!("xs:{} is not supported here", other.local)));
            }
            (None, None) => decl.text = Some(SimpleType::builtin(Builtin::String, false)),
        }
        Ok(decl)
    }

    fn complex_type(&self, ct: &XNode, decl: &mut ElemDecl, depth: usize) -> Result<(), Error> {
        decl.mixed = ct.attr("mixed") == Some("true");
        let mut have_model = false;
        for part in ct.content() {
            if part.ns != XS {
                return Err(self.err(part, "unexpected element in xs:complexType"));
            }
            match part.local.as_str() {
                "sequence" | "all" | "choice" if !have_model => {
                    have_model = true;
                    let (gmin, gmax) = self.occurs(part)?;
                    if gmax != 1 || (gmin != 1 && part.local != "choice") {
                        return Err(self.err(
                            part,
                            "minOccurs/maxOccurs on a model group are not supported (except minOccurs=\"0\" on xs:choice)",
                        ));
                    }
                    decl.model = match part.local.as_str() {
                        "sequence" => Model::Sequence,
                        "all" => Model::All,
                        _ => Model::Choice {
                            required: gmin == 1,
                        },
                    };
                    for particle in part.content() {
                        if !particle.is_xs("element") {
                            return Err(self.err(
                                particle,
                                format!(
                                    "xs:{} inside a model group is not supported (only xs:element)",
                                    particle.local
                                ),
                            ));
                        }
                        let child = self.element(particle, false, depth + 1, None)?;
                        if decl
                            .children
                            .iter()
                            .any(|c| c.name == child.name && c.ns == child.ns)
                        {
                            return Err(self.err(
                                particle,
                                format!(
                                    "element {} is declared twice in one model group",
                                    child.name
                                ),
                            ));
                        }
                        decl.children.push(child);
                    }
                }
                "attribute" => decl.attrs.push(self.attribute(part)?),
                "simpleContent" if !have_model => {
                    have_model = true;
                    let ext = part
                        .content()
                        .next()
                        .filter(|e| e.is_xs("extension"))
                        .ok_or_else(|| self.err(part, "xs:simpleContent needs an xs:extension"))?;
                    let base = ext
                        .attr("base")
                        .ok_or_else(|| self.err(ext, "xs:extension needs a base"))?;
                    decl.text = Some(self.simple_by_name(ext, base, 0)?);
                    for a in ext.content() {
                        if !a.is_xs("attribute") {
                            return Err(
                                self.err(a, format!("xs:{} is not supported here", a.local))
                            );
                        }
                        decl.attrs.push(self.attribute(a)?);
                    }
                }
                other => {
                    return Err(self.err(
                        part,
                        format!("xs:{other} is not supported by the schema subset here"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn builtin(local: &str) -> Option<SimpleType> {
    let int = |min_zero, min_one| Builtin::Integer { min_zero, min_one };
    let (base, collapse) = match local {
        "string" => (Builtin::String, false),
        "normalizedString" | "token" | "anyURI" => (Builtin::String, true),
        "integer" | "int" | "long" | "short" | "byte" => (int(false, false), true),
        "nonNegativeInteger" | "unsignedInt" | "unsignedLong" | "unsignedShort" => {
            (int(true, false), true)
        }
        "positiveInteger" => (int(true, true), true),
        "decimal" => (Builtin::Decimal, true),
        "boolean" => (Builtin::Boolean, true),
        "date" => (Builtin::Date, true),
        "dateTime" => (Builtin::DateTime, true),
        "time" => (Builtin::Time, true),
        "base64Binary" => (Builtin::Base64, true),
        _ => return None,
    };
    Some(SimpleType::builtin(base, collapse))
}

/// Reads `text` (named `source` in errors) and instantiates the tree under global element `root`.
pub(crate) fn load(source: &str, text: &str, root: &str) -> Result<Schema, Error> {
    let dom = parse_dom(source, text)?;
    if !dom.is_xs("schema") {
        return Err(Error::definition(
            source,
            "the root element is not xs:schema",
        ));
    }
    if dom.attr("attributeFormDefault") == Some("qualified") {
        return Err(Error::definition(
            source,
            "attributeFormDefault=\"qualified\" is not supported",
        ));
    }
    let mut ctx = Ctx {
        source,
        target_ns: dom.attr("targetNamespace").map(str::to_owned),
        qualified: dom.attr("elementFormDefault") == Some("qualified"),
        elements: HashMap::new(),
        complex: HashMap::new(),
        simple: HashMap::new(),
    };
    for top in dom.content() {
        let name = top.attr("name").unwrap_or_default().to_owned();
        let map = if top.is_xs("element") {
            &mut ctx.elements
        } else if top.is_xs("complexType") {
            &mut ctx.complex
        } else if top.is_xs("simpleType") {
            &mut ctx.simple
        } else {
            return Err(ctx.err(
                top,
                format!("xs:{} is not supported by the schema subset", top.local),
            ));
        };
        if name.is_empty() || map.insert(name.clone(), top).is_some() {
            return Err(ctx.err(
                top,
                format!("global declaration {name:?} is unnamed or repeated"),
            ));
        }
    }
    let root_node = ctx
        .elements
        .get(root)
        .copied()
        .ok_or_else(|| Error::definition(source, format!("no global element named {root}")))?;
    let root = ctx.element(root_node, true, 0, Some((1, 1)))?;
    Ok(Schema { root })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unsupported_constructs_with_their_name() {
        let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
            <xs:element name="A"><xs:simpleType><xs:restriction base="xs:string">
              <xs:pattern value="[0-9]+"/></xs:restriction></xs:simpleType></xs:element>
        </xs:schema>"#;
        let err = load("t.xsd", xsd, "A").unwrap_err();
        assert_eq!(err.code(), "mapping.definition_invalid");
        assert!(err.to_string().contains("xs:pattern"), "{err}");

        let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
            <xs:import namespace="urn:x"/><xs:element name="A"/></xs:schema>"#;
        let err = load("t.xsd", xsd, "A").unwrap_err();
        assert!(err.to_string().contains("xs:import"), "{err}");
    }

    #[test]
    fn refuses_recursion() {
        let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
            <xs:complexType name="T"><xs:sequence><xs:element name="A" type="T" minOccurs="0"/></xs:sequence></xs:complexType>
            <xs:element name="A" type="T"/></xs:schema>"#;
        let err = load("t.xsd", xsd, "A").unwrap_err();
        assert!(err.to_string().contains("recursive"), "{err}");
    }

    #[test]
    fn reads_namespaces_and_facets() {
        let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t"
              targetNamespace="urn:t" elementFormDefault="qualified">
            <xs:simpleType name="Code"><xs:restriction base="xs:string">
              <xs:enumeration value="01"/><xs:enumeration value="02"/></xs:restriction></xs:simpleType>
            <xs:element name="R"><xs:complexType><xs:sequence>
              <xs:element name="C" type="t:Code" maxOccurs="unbounded"/>
            </xs:sequence><xs:attribute name="v" type="xs:integer" use="required"/></xs:complexType></xs:element>
        </xs:schema>"#;
        let s = load("t.xsd", xsd, "R").unwrap();
        assert_eq!(s.root.ns.as_deref(), Some("urn:t"));
        let c = &s.root.children[0];
        assert_eq!(c.ns.as_deref(), Some("urn:t"));
        assert_eq!(c.max, u32::MAX);
        assert_eq!(c.text.as_ref().unwrap().enumeration, vec!["01", "02"]);
        assert!(s.root.attrs[0].required);
    }
}
