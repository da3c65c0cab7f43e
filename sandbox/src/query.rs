//! Reading query strings, forms and cookies leniently (a malformed request gets a page from the
//! simulator, never a framework rejection), and writing query strings strictly: every character
//! but the RFC 3986 unreserved ones is percent-encoded, so that decoders which treat `+` as a
//! space and decoders which do not read the same values.

use std::collections::HashMap;

use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything except `A-Z a-z 0-9 - . _ ~`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The parameters of a query string or form body; the first occurrence of a name wins.
pub(crate) fn params(raw: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// A non-empty parameter.
pub(crate) fn get<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// One percent-encoded query component.
pub(crate) fn encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// `k1=v1&k2=v2…`, encoded.
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `url` with `pairs` appended to its query (`?` or `&` as needed), before any fragment. The
/// existing URL is kept byte for byte: the hub's state parameter must come back unchanged.
pub(crate) fn append(url: &str, pairs: &[(&str, &str)]) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let mut out = base.to_owned();
    if !pairs.is_empty() {
        if !base.contains('?') {
            out.push('?');
        } else if !base.ends_with('?') && !base.ends_with('&') {
            out.push('&');
        }
        out.push_str(&query_string(pairs));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The value of the cookie `name` from the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_decode_and_first_wins() {
        let p = params(b"a=1&b=%E5%BC%A0+%2B&a=2&c");
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "张 +");
        assert_eq!(p["c"], "");
        assert_eq!(get(&p, "c"), None);
        assert_eq!(get(&p, "a"), Some("1"));
    }

    #[test]
    fn encode_keeps_only_unreserved() {
        assert_eq!(encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(encode("/p?x=1&y=2 +"), "%2Fp%3Fx%3D1%26y%3D2%20%2B");
        assert_eq!(encode("张"), "%E5%BC%A0");
        assert_eq!(encode("ab+/="), "ab%2B%2F%3D");
    }

    #[test]
    fn append_handles_existing_queries_and_fragments() {
        let t = [("trustticket", "T"), ("loginflag", "true")];
        assert_eq!(
            append("http://h/cb", &t),
            "http://h/cb?trustticket=T&loginflag=true"
        );
        assert_eq!(
            append("http://h/cb?state=a%2Bb", &t),
            "http://h/cb?state=a%2Bb&trustticket=T&loginflag=true"
        );
        assert_eq!(
            append("http://h/cb?", &t[1..]),
            "http://h/cb?loginflag=true"
        );
        assert_eq!(
            append("http://h/cb?s=1#frag", &t[1..]),
            "http://h/cb?s=1&loginflag=true#frag"
        );
    }

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.append(http::header::COOKIE, "a=1; SID=abc".parse().unwrap());
        h.append(http::header::COOKIE, "b=2".parse().unwrap());
        assert_eq!(cookie(&h, "SID").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
