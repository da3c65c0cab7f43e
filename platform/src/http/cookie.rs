//! Reading cookies from a request.

/// The raw value of a cookie in the request, if present.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_a_cookie_among_several() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "a=1; __Host-hub_admin=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(super::cookie(&h, "__Host-hub_admin"), Some("xyz"));
        assert_eq!(super::cookie(&h, "c"), None);
    }
}
