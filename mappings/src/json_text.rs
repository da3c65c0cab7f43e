//! JSON given as text: parse errors with serde_json's line and column, and the line and column of
//! the value a validation error's JSON path names, found in the text only when an error is
//! reported (the value is validated as parsed, without positions).

use serde_json::Value;

use crate::error::{Error, Location};
use crate::input::line_col;

/// Parses JSON text; a syntax error is `mapping.json_malformed` with its line and column.
pub(crate) fn parse(json: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(json).map_err(|e| {
        let (line, column) = (e.line() as u64, e.column() as u64);
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        let detail = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        Error::JsonMalformed {
            // serde_json counts columns from 0 at the start of a line that holds nothing yet.
            at: Location::at((line.max(1), column.max(1)), ""),
            detail,
        }
    })
}

/// `e` with the line and column of its JSON path in `json` (the text `e`'s value was parsed
/// from): the value at the path; for an unknown key, the key; for a missing field, the object
/// that lacks it.
#[cold]
pub(crate) fn locate(json: &[u8], mut e: Error) -> Error {
    let unknown = matches!(e, Error::Unknown { .. });
    let Some(l) = e.location_mut() else {
        return e;
    };
    if l.line.is_some() || !l.path.starts_with('$') {
        return e;
    }
    if let Some(found) = find(json, &l.path) {
        let at = match (unknown, found.key) {
            (true, Some(k)) => k,
            _ => found.value,
        };
        let (line, column) = line_col(json, at);
        l.line = Some(line);
        l.column = Some(column);
    }
    e
}

/// What a JSON path leads to in the text.
struct Found {
    /// Offset of the value at the path (of the deepest value on the way, when the path goes
    /// further than the document).
    value: usize,
    /// Offset of the key (its opening quote) whose value `value` is, when the whole path was
    /// found and ends with a key.
    key: Option<usize>,
}

/// Follows a JSON path (`$.a.b[2].c`, keys as written by the validator) through valid JSON
/// text. A key holding `.` or `[` is matched as written; of several keys that fit, the longest
/// wins, and of repeated keys the last (the one the parsed value holds).
fn find(json: &[u8], path: &str) -> Option<Found> {
    let mut rest = path.strip_prefix('$')?;
    let mut i = ws(json, 0);
    let mut key = None;
    loop {
        if rest.is_empty() {
            return Some(Found { value: i, key });
        }
        let step = match (json.get(i), rest.as_bytes()[0]) {
            (Some(b'{'), b'.') => member(json, i, &rest[1..]),
            (Some(b'['), b'[') => element(json, i, &rest[1..]),
            _ => None,
        };
        match step {
            Some((k, v, r)) => {
                key = k;
                i = v;
                rest = r;
            }
            None => {
                return Some(Found {
                    value: i,
                    key: None,
                });
            }
        }
    }
}

/// In the object at `i`, the member whose key begins `path`: (key offset, value offset, the
/// rest of the path).
fn member<'p>(json: &[u8], i: usize, path: &'p str) -> Option<(Option<usize>, usize, &'p str)> {
    let mut best: Option<(usize, usize, usize)> = None;
    let mut j = ws(json, i + 1);
    if json.get(j) == Some(&b'}') {
        return None;
    }
    loop {
        let key_at = j;
        let key_end = string_end(json, j)?;
        let key: String = serde_json::from_slice(&json[key_at..key_end]).ok()?;
        j = ws(json, key_end);
        if json.get(j) != Some(&b':') {
            return None;
        }
        let value_at = ws(json, j + 1);
        let fits = path
            .strip_prefix(key.as_str())
            .is_some_and(|r| r.is_empty() || r.starts_with('.') || r.starts_with('['));
        if fits && best.is_none_or(|(len, _, _)| key.len() >= len) {
            best = Some((key.len(), key_at, value_at));
        }
        j = ws(json, value_end(json, value_at)?);
        match json.get(j) {
            Some(b',') => j = ws(json, j + 1),
            _ => break,
        }
    }
    let (len, key_at, value_at) = best?;
    Some((Some(key_at), value_at, &path[len..]))
}

/// In the array at `i`, the element `path` starts with (`2]…`).
fn element<'p>(json: &[u8], i: usize, path: &'p str) -> Option<(Option<usize>, usize, &'p str)> {
    let close = path.find(']')?;
    let n: usize = path[..close].parse().ok()?;
    let mut j = ws(json, i + 1);
    if json.get(j) == Some(&b']') {
        return None;
    }
    for _ in 0..n {
        j = ws(json, value_end(json, j)?);
        if json.get(j) != Some(&b',') {
            return None;
        }
        j = ws(json, j + 1);
    }
    Some((None, j, &path[close + 1..]))
}

fn ws(json: &[u8], mut i: usize) -> usize {
    while json
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        i += 1;
    }
    i
}

/// The end of the string starting at `i` (after its closing quote).
fn string_end(json: &[u8], i: usize) -> Option<usize> {
    if json.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match json.get(j)? {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
}

/// The end of the value starting at `i`.
fn value_end(json: &[u8], i: usize) -> Option<usize> {
    match json.get(i)? {
        b'"' => string_end(json, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match json.get(j)? {
                    b'"' => {
                        j = string_end(json, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while json
                .get(j)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
            {
                j += 1;
            }
            Some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(json: &str, path: &str) -> (usize, Option<usize>) {
        let f = find(json.as_bytes(), path).unwrap();
        (f.value, f.key)
    }

    #[test]
    fn finds_values_keys_and_the_deepest_value_on_the_way() {
        let j =
            r#" {"a": {"b": [1, {"c": "x\"y"}, [2]]}, "d.e": true, "d": {"e": 0}, "a": {"b": 5}}"#;
        // The last of repeated keys is the one the parsed value holds.
        assert_eq!(
            at(j, "$.a.b"),
            (j.rfind('5').unwrap(), Some(j.rfind("\"b\"").unwrap()))
        );
        let j2 = r#"{"a": {"b": [1, {"c": "x\"y"}, [2]]}}"#;
        assert_eq!(at(j2, "$.a.b[1].c").0, j2.find("\"x").unwrap());
        assert_eq!(at(j2, "$.a.b[2][0]"), (j2.find('2').unwrap(), None));
        // Beyond the document: the deepest value found.
        assert_eq!(at(j2, "$.a.b[1].zz"), (j2.find("{\"c").unwrap(), None));
        assert_eq!(at(j2, "$.a.b[9]"), (j2.find('[').unwrap(), None));
        // The longest key that fits.
        assert_eq!(at(j, "$.d.e").0, j.find("true").unwrap());
        assert_eq!(at(" [] ", "$").0, 1);
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let e = parse(b"{\"a\": 1,\n \"b\": x}").unwrap_err();
        assert_eq!(e.code(), "mapping.json_malformed");
        assert_eq!((e.line(), e.column()), (Some(2), Some(7)));
        assert_eq!(
            e.to_string(),
            "malformed JSON: expected value (line 2, column 7)"
        );
        let e = parse(b"").unwrap_err();
        assert_eq!((e.line(), e.column()), (Some(1), Some(1)));
    }
}
