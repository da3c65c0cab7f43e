//! Scalar values: XSD lexical checks and the conversions between XML text and JSON values.
//!
//! Decimals travel as JSON strings holding the exact decimal text (`"5000000.00"`), never as
//! binary floating point; integers travel as JSON numbers and must fit in 64 bits.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use serde_json::Value;

use crate::xsd::{Builtin, SimpleType};

/// The JSON-side type of a mapped value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ScalarType {
    String,
    Integer,
    Decimal,
    Boolean,
    Date,
    Datetime,
}

/// Why a value was refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    Type(String),
    Enum(String),
}

/// A parsed date/time format such as `YYYYMMDD` or `YYYY-MM-DD HH:mm:ss`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DateFormat {
    parts: Vec<Part>,
    /// The common layouts, read without walking the parts.
    layout: Layout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `YYYY-MM-DD`
    IsoDate,
    /// `YYYY-MM-DDTHH:mm:ss`
    IsoDateTime,
    /// `YYYYMMDD`
    Compact,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Lit(char),
}

impl DateFormat {
    pub(crate) fn parse(spec: &str) -> Option<DateFormat> {
        let mut parts = Vec::new();
        let mut rest = spec;
        while !rest.is_empty() {
            let (part, len) = if rest.starts_with("YYYY") {
                (Part::Year, 4)
            } else if rest.starts_with("MM") {
                (Part::Month, 2)
            } else if rest.starts_with("DD") {
                (Part::Day, 2)
            } else if rest.starts_with("HH") {
                (Part::Hour, 2)
            } else if rest.starts_with("mm") {
                (Part::Minute, 2)
            } else if rest.starts_with("ss") {
                (Part::Second, 2)
            } else {
                let c = rest.chars().next()?;
                if c.is_ascii_alphanumeric() {
                    return None;
                }
                (Part::Lit(c), c.len_utf8())
            };
            parts.push(part);
            rest = &rest[len..];
        }
        Some(DateFormat::new(parts))
    }

    fn new(parts: Vec<Part>) -> DateFormat {
        use Part::{Day, Hour, Lit, Minute, Month, Second, Year};
        let layout = match parts.as_slice() {
            [Year, Lit('-'), Month, Lit('-'), Day] => Layout::IsoDate,
            [
                Year,
                Lit('-'),
                Month,
                Lit('-'),
                Day,
                Lit('T'),
                Hour,
                Lit(':'),
                Minute,
                Lit(':'),
                Second,
            ] => Layout::IsoDateTime,
            [Year, Month, Day] => Layout::Compact,
            _ => Layout::Other,
        };
        DateFormat { parts, layout }
    }

    pub(crate) fn has_time(&self) -> bool {
        self.parts.contains(&Part::Hour)
    }

    pub(crate) fn has_date(&self) -> bool {
        self.parts.contains(&Part::Year)
            && self.parts.contains(&Part::Month)
            && self.parts.contains(&Part::Day)
    }

    /// Reads `text` into (year, month, day, hour, minute, second).
    fn read(&self, text: &str) -> Option<[u32; 6]> {
        let b = text.as_bytes();
        let v = match self.layout {
            Layout::IsoDate if b.len() == 10 && b[4] == b'-' && b[7] == b'-' => {
                [num(b, 0, 4)?, num(b, 5, 2)?, num(b, 8, 2)?, 0, 0, 0]
            }
            Layout::IsoDateTime
                if b.len() == 19
                    && b[4] == b'-'
                    && b[7] == b'-'
                    && b[10] == b'T'
                    && b[13] == b':'
                    && b[16] == b':' =>
            {
                [
                    num(b, 0, 4)?,
                    num(b, 5, 2)?,
                    num(b, 8, 2)?,
                    num(b, 11, 2)?,
                    num(b, 14, 2)?,
                    num(b, 17, 2)?,
                ]
            }
            Layout::Compact if b.len() == 8 => {
                [num(b, 0, 4)?, num(b, 4, 2)?, num(b, 6, 2)?, 0, 0, 0]
            }
            Layout::Other => return self.read_parts(b),
            _ => return None,
        };
        (valid_date(v[0], v[1], v[2]) && v[3] <= 23 && v[4] <= 59 && v[5] <= 59).then_some(v)
    }

    /// [`DateFormat::read`] for any layout.
    fn read_parts(&self, b: &[u8]) -> Option<[u32; 6]> {
        let mut v = [0u32, 1, 1, 0, 0, 0];
        let mut at = 0;
        for p in &self.parts {
            let (idx, len) = match *p {
                Part::Year => (0, 4),
                Part::Month => (1, 2),
                Part::Day => (2, 2),
                Part::Hour => (3, 2),
                Part::Minute => (4, 2),
                Part::Second => (5, 2),
                Part::Lit(c) if c.is_ascii() => {
                    if b.get(at) != Some(&(c as u8)) {
                        return None;
                    }
                    at += 1;
                    continue;
                }
                Part::Lit(c) => {
                    let mut buf = [0u8; 4];
                    let c = c.encode_utf8(&mut buf).as_bytes();
                    if !b[at..].starts_with(c) {
                        return None;
                    }
                    at += c.len();
                    continue;
                }
            };
            let mut n = 0u32;
            for &d in b.get(at..at + len)? {
                if !d.is_ascii_digit() {
                    return None;
                }
                n = n * 10 + u32::from(d - b'0');
            }
            v[idx] = n;
            at += len;
        }
        if at != b.len() || !valid_date(v[0], v[1], v[2]) || v[3] > 23 || v[4] > 59 || v[5] > 59 {
            return None;
        }
        Some(v)
    }

    fn write(&self, v: [u32; 6], out: &mut String) {
        for p in &self.parts {
            match p {
                Part::Year => push_padded(out, v[0], 4),
                Part::Month => push_padded(out, v[1], 2),
                Part::Day => push_padded(out, v[2], 2),
                Part::Hour => push_padded(out, v[3], 2),
                Part::Minute => push_padded(out, v[4], 2),
                Part::Second => push_padded(out, v[5], 2),
                Part::Lit(c) => out.push(*c),
            }
        }
    }
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

static ISO_DATE: LazyLock<DateFormat> = LazyLock::new(|| {
    DateFormat::new(vec![
        Part::Year,
        Part::Lit('-'),
        Part::Month,
        Part::Lit('-'),
        Part::Day,
    ])
});

static ISO_DATETIME: LazyLock<DateFormat> = LazyLock::new(|| {
    let mut parts = ISO_DATE.parts.clone();
    parts.extend([
        Part::Lit('T'),
        Part::Hour,
        Part::Lit(':'),
        Part::Minute,
        Part::Lit(':'),
        Part::Second,
    ]);
    DateFormat::new(parts)
});

static ISO_TIME: LazyLock<Option<DateFormat>> = LazyLock::new(|| DateFormat::parse("HH:mm:ss"));

fn iso_date() -> &'static DateFormat {
    &ISO_DATE
}

fn iso_datetime() -> &'static DateFormat {
    &ISO_DATETIME
}

/// The `n` ASCII digits of `b` at `at` as a number.
#[inline]
fn num(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for &d in b.get(at..at + n)? {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(d - b'0');
    }
    Some(v)
}

/// Appends `n` zero-padded to `width` digits (like `{:0width$}`).
fn push_padded(out: &mut String, n: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    for _ in len..width {
        out.push('0');
    }
    for d in &digits[i..] {
        out.push(char::from(*d));
    }
}

fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// Digits before and after the point, or `None` when `s` is not an xs:decimal.
fn decimal_digits(s: &str) -> Option<(usize, usize)> {
    decimal_parts(s).map(|(int, frac, _)| (int, frac))
}

/// An xs:decimal's digits before the point (leading zeros not counted), after the point, and
/// after the point without trailing zeros; `None` when `s` is not an xs:decimal.
fn decimal_parts(s: &str) -> Option<(usize, usize, usize)> {
    let b = s.as_bytes();
    let d = match b.first() {
        Some(b'+' | b'-') => &b[1..],
        _ => b,
    };
    let mut i = 0;
    while i < d.len() && d[i] == b'0' {
        i += 1;
    }
    let lead = i;
    while i < d.len() && d[i].is_ascii_digit() {
        i += 1;
    }
    let int_len = i;
    let (frac, frac_sig) = match d.get(i) {
        None => (0, 0),
        Some(b'.') => {
            let f = &d[i + 1..];
            if !f.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let sig = f.iter().rposition(|&c| c != b'0').map_or(0, |k| k + 1);
            (f.len(), sig)
        }
        Some(_) => return None,
    };
    if int_len == 0 && frac == 0 {
        return None;
    }
    Some((int_len - lead, frac, frac_sig))
}

fn is_datetime(s: &str) -> bool {
    // YYYY-MM-DDTHH:mm:ss, optional fraction, optional Z or ±hh:mm.
    let (Some(head), Some(tail)) = (s.get(..19), s.get(19..)) else {
        return false;
    };
    if iso_datetime().read(head).is_none() {
        return false;
    }
    let tail = match tail.strip_prefix('.') {
        Some(f) => {
            let n = f.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return false;
            }
            &f[n..]
        }
        None => tail,
    };
    is_timezone(tail)
}

fn is_timezone(tail: &str) -> bool {
    match tail {
        "" | "Z" => true,
        t => {
            let b = t.as_bytes();
            b.len() == 6
                && (b[0] == b'+' || b[0] == b'-')
                && b[1].is_ascii_digit()
                && b[2].is_ascii_digit()
                && b[3] == b':'
                && b[4].is_ascii_digit()
                && b[5].is_ascii_digit()
        }
    }
}

/// Trims XML whitespace.
pub(crate) fn xml_trim(s: &str) -> &str {
    // Byte-wise: XML whitespace is ASCII, so the cuts fall on character boundaries.
    let b = s.as_bytes();
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let Some(start) = b.iter().position(|c| !ws(c)) else {
        return "";
    };
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or(s)
}

/// Checks `text` (already whitespace-processed) against an XSD simple type.
#[inline]
pub(crate) fn check_xsd(ty: &SimpleType, text: &str) -> Result<(), Refusal> {
    // A string without facets (most values): nothing to check.
    if ty.base == Builtin::String
        && ty.enumeration.is_empty()
        && ty.max_length.is_none()
        && ty.min_length.is_none()
        && ty.total_digits.is_none()
        && ty.fraction_digits.is_none()
    {
        return Ok(());
    }
    check_facets(ty, text)
}

fn check_facets(ty: &SimpleType, text: &str) -> Result<(), Refusal> {
    let lexical_ok = match ty.base {
        Builtin::String => true,
        Builtin::Integer { min_zero, min_one } => {
            is_integer(text)
                && (!min_zero
                    || !text.starts_with('-')
                    || text.trim_start_matches(['-', '0']).is_empty())
                && (!min_one
                    || (!text.starts_with('-') && text.bytes().any(|b| (b'1'..=b'9').contains(&b))))
        }
        Builtin::Decimal => decimal_parts(text).is_some(),
        Builtin::Boolean => matches!(text, "true" | "false" | "1" | "0"),
        Builtin::Date => text
            .get(..10)
            .and_then(|d| iso_date().read(d))
            .is_some_and(|_| is_timezone(&text[10..])),
        Builtin::DateTime => is_datetime(text),
        Builtin::Time => text
            .get(..8)
            .is_some_and(|t| ISO_TIME.as_ref().and_then(|f| f.read(t)).is_some()),
        Builtin::Base64 => text.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'+' | b'/' | b'=' | b' ' | b'\n' | b'\r' | b'\t')
        }),
    };
    if !lexical_ok {
        return Err(not_valid(text, ty.base));
    }
    if !ty.enumeration.is_empty() && !ty.enumeration.iter().any(|e| e == text) {
        return Err(Refusal::Enum(text.to_owned()));
    }
    if ty.max_length.is_some() || ty.min_length.is_some() {
        let chars = text.chars().count();
        if let Some(max) = ty.max_length
            && chars > max
        {
            return Err(length_refused(chars, max, "above the maximum"));
        }
        if let Some(min) = ty.min_length
            && chars < min
        {
            return Err(length_refused(chars, min, "below the minimum"));
        }
    }
    if (ty.total_digits.is_some() || ty.fraction_digits.is_some())
        && let Some((int, frac, frac_sig)) = decimal_parts(text)
        && (ty.fraction_digits.is_some_and(|max| frac_sig > max)
            || ty.total_digits.is_some_and(|max| int + frac_sig > max))
    {
        return Err(Refusal::Type(format!(
            "{text:?} has too many digits ({int} before and {frac} after the point)"
        )));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn not_valid(text: &str, base: Builtin) -> Refusal {
    Refusal::Type(format!("{text:?} is not a valid {}", builtin_name(base)))
}

#[cold]
#[inline(never)]
fn length_refused(chars: usize, bound: usize, what: &str) -> Refusal {
    Refusal::Type(format!("length {chars} is {what} {bound}"))
}

#[cold]
#[inline(never)]
fn enum_refused(text: &str) -> Refusal {
    Refusal::Enum(text.to_owned())
}

#[cold]
#[inline(never)]
fn type_refused(text: &str, what: &str) -> Refusal {
    Refusal::Type(format!("{text:?} {what}"))
}

/// An integer of more than 18 digits as a JSON number, when it fits in 64 bits.
#[inline(never)]
fn wide_integer(text: &str, out: &mut String) -> Result<(), Refusal> {
    let n: i128 = text
        .parse()
        .map_err(|_| Refusal::Type(format!("{text:?} is out of range")))?;
    if n < i128::from(i64::MIN) || n > i128::from(u64::MAX) {
        return Err(Refusal::Type(format!(
            "{text:?} does not fit in 64 bits; map it as a string"
        )));
    }
    let _ = write!(out, "{n}");
    Ok(())
}

fn builtin_name(b: Builtin) -> &'static str {
    match b {
        Builtin::String => "string",
        Builtin::Integer { .. } => "integer",
        Builtin::Decimal => "decimal",
        Builtin::Boolean => "boolean",
        Builtin::Date => "date (YYYY-MM-DD)",
        Builtin::DateTime => "dateTime",
        Builtin::Time => "time",
        Builtin::Base64 => "base64 text",
    }
}

/// What one mapped scalar needs for its conversions.
#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    pub ty: ScalarType,
    pub xsd: SimpleType,
    pub trim: bool,
    pub format: Option<DateFormat>,
    /// Code table: XML code → JSON value, and the reverse.
    pub codes: Option<(BTreeMap<String, String>, BTreeMap<String, String>)>,
    /// Allowed JSON values (strings), beside the code table.
    pub enumeration: Vec<String>,
}

impl Scalar {
    /// Applies the XML whitespace rules of the schema type and the mapping's `trim`.
    pub(crate) fn normalise<'t>(&self, text: &'t str) -> &'t str {
        if self.xsd.collapse || self.trim || self.ty != ScalarType::String {
            xml_trim(text)
        } else {
            text
        }
    }

    /// XML text → JSON literal appended to `out`.
    pub(crate) fn xml_to_json(&self, raw: &str, out: &mut String) -> Result<(), Refusal> {
        let text = self.normalise(raw);
        check_xsd(&self.xsd, text)?;
        if let Some((forward, _)) = &self.codes {
            let v = forward.get(text).ok_or_else(|| enum_refused(text))?;
            crate::json::write_str(out, v);
            return Ok(());
        }
        match self.ty {
            ScalarType::String => {
                if !self.enumeration.is_empty() && !self.enumeration.iter().any(|e| e == text) {
                    return Err(enum_refused(text));
                }
                crate::json::write_str(out, text);
            }
            ScalarType::Integer => {
                if !is_integer(text) {
                    return Err(type_refused(text, "is not an integer"));
                }
                // Up to 18 digits always fit: the JSON number is the digits without sign `+`
                // and leading zeros.
                let (neg, digits) = match text.as_bytes()[0] {
                    b'-' => (true, &text[1..]),
                    b'+' => (false, &text[1..]),
                    _ => (false, text),
                };
                let digits = digits.trim_start_matches('0');
                if digits.len() <= 18 {
                    if digits.is_empty() {
                        out.push('0');
                    } else {
                        if neg {
                            out.push('-');
                        }
                        out.push_str(digits);
                    }
                    return Ok(());
                }
                return wide_integer(text, out);
            }
            ScalarType::Decimal => {
                // An xs:decimal was checked just above.
                if self.xsd.base != Builtin::Decimal && decimal_digits(text).is_none() {
                    return Err(type_refused(text, "is not a decimal"));
                }
                crate::json::write_str(out, text.strip_prefix('+').unwrap_or(text));
            }
            ScalarType::Boolean => match text {
                "true" | "1" => out.push_str("true"),
                "false" | "0" => out.push_str("false"),
                _ => return Err(type_refused(text, "is not a boolean")),
            },
            ScalarType::Date | ScalarType::Datetime => {
                // The converted text is a checked ISO date or date-time: nothing to escape.
                let before = out.len();
                out.push('"');
                if let Err(r) = self.date_convert(text, true, out) {
                    out.truncate(before);
                    return Err(r);
                }
                out.push('"');
            }
        }
        Ok(())
    }

    #[inline(never)]
    fn date_convert(&self, text: &str, to_json: bool, out: &mut String) -> Result<(), Refusal> {
        let iso = if self.ty == ScalarType::Date {
            iso_date()
        } else {
            iso_datetime()
        };
        match &self.format {
            None if self.ty == ScalarType::Datetime => {
                // An xs:dateTime is checked before (XML → JSON) or after (JSON → XML).
                let checked = to_json && self.xsd.base == Builtin::DateTime;
                if !checked && !is_datetime(text) {
                    return Err(Refusal::Type(format!(
                        "{text:?} is not a date-time (YYYY-MM-DDTHH:mm:ss)"
                    )));
                }
                out.push_str(text);
            }
            None => {
                if iso.read(text).is_none() {
                    return Err(Refusal::Type(format!(
                        "{text:?} is not a date (YYYY-MM-DD)"
                    )));
                }
                out.push_str(text);
            }
            Some(f) => {
                let (from, to) = if to_json { (f, iso) } else { (iso, f) };
                let v = from.read(text).ok_or_else(|| {
                    Refusal::Type(format!("{text:?} does not match the date format"))
                })?;
                to.write(v, out);
            }
        }
        Ok(())
    }

    /// JSON value → XML text.
    pub(crate) fn json_to_xml(&self, v: &Value) -> Result<String, Refusal> {
        let text = match (&self.codes, self.ty, v) {
            (Some((_, reverse)), _, Value::String(s)) => reverse
                .get(s)
                .cloned()
                .ok_or_else(|| Refusal::Enum(s.clone()))?,
            (_, ScalarType::String, Value::String(s)) => {
                if !self.enumeration.is_empty() && !self.enumeration.iter().any(|e| e == s) {
                    return Err(Refusal::Enum(s.clone()));
                }
                s.clone()
            }
            (None, ScalarType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
                n.to_string()
            }
            (None, ScalarType::Decimal, Value::String(s)) if decimal_digits(s).is_some() => {
                s.clone()
            }
            (None, ScalarType::Decimal, Value::Number(n)) if n.is_i64() || n.is_u64() => {
                n.to_string()
            }
            (None, ScalarType::Boolean, Value::Bool(b)) => b.to_string(),
            (None, ScalarType::Date | ScalarType::Datetime, Value::String(s)) => {
                let mut out = String::new();
                self.date_convert(s, false, &mut out)?;
                out
            }
            (_, ty, v) => {
                return Err(Refusal::Type(format!(
                    "{} is not a valid {}",
                    short(v),
                    json_type_name(ty, self.codes.is_some())
                )));
            }
        };
        check_xsd(&self.xsd, &text)?;
        Ok(text)
    }
}

fn json_type_name(ty: ScalarType, coded: bool) -> &'static str {
    match (ty, coded) {
        (_, true) => "code (a JSON string from the code table)",
        (ScalarType::String, _) => "string",
        (ScalarType::Integer, _) => "integer (a JSON number without fraction)",
        (ScalarType::Decimal, _) => "decimal (a JSON string such as \"5000000.00\")",
        (ScalarType::Boolean, _) => "boolean",
        (ScalarType::Date, _) => "date (a JSON string YYYY-MM-DD)",
        (ScalarType::Datetime, _) => "date-time (a JSON string YYYY-MM-DDTHH:mm:ss)",
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formats_round_trip() {
        let f = DateFormat::parse("YYYYMMDD").unwrap();
        let v = f.read("20240229").unwrap();
        let mut s = String::new();
        iso_date().write(v, &mut s);
        assert_eq!(s, "2024-02-29");
        assert!(f.read("20230229").is_none());
        assert!(f.read("2023022").is_none());
        assert!(DateFormat::parse("YYYYQ").is_none());
    }

    #[test]
    fn common_layouts_read_like_the_generic_reader() {
        let compact = DateFormat::parse("YYYYMMDD").unwrap();
        for (f, texts) in [
            (
                iso_date(),
                &[
                    "2024-02-29",
                    "2023-02-29",
                    "2024-13-01",
                    "2024-1-01",
                    "2024-01-01x",
                    "2024/01/01",
                    "２０２４-01-01",
                ][..],
            ),
            (
                iso_datetime(),
                &[
                    "2026-11-29T09:30:00",
                    "2026-11-29T24:00:00",
                    "2026-11-29T23:60:00",
                    "2026-11-29 09:30:00",
                    "2026-11-29T09:30",
                ][..],
            ),
            (
                &compact,
                &["20240229", "20230229", "2024022", "202402290", "2024-2-9"][..],
            ),
        ] {
            assert_ne!(f.layout, Layout::Other, "{f:?}");
            for t in texts {
                assert_eq!(f.read(t), f.read_parts(t.as_bytes()), "{f:?} {t}");
            }
        }
        assert_eq!(
            DateFormat::parse("YYYY-MM-DD").unwrap().layout,
            Layout::IsoDate
        );
        assert_eq!(
            DateFormat::parse("DD.MM.YYYY").unwrap().layout,
            Layout::Other
        );
    }

    #[test]
    fn decimal_facets() {
        let mut ty = SimpleType {
            base: Builtin::Decimal,
            collapse: true,
            enumeration: vec![],
            min_length: None,
            max_length: None,
            total_digits: Some(18),
            fraction_digits: Some(2),
        };
        assert!(check_xsd(&ty, "5000000.00").is_ok());
        assert!(check_xsd(&ty, "1.005").is_err());
        assert!(check_xsd(&ty, "1.").is_ok());
        assert!(check_xsd(&ty, "abc").is_err());
        ty.total_digits = Some(3);
        assert!(check_xsd(&ty, "1234").is_err());
    }
}
