//! Where users may be sent after signing in: local paths of the hub, or origins the operator
//! allowlisted. Everything else is refused, so that the hub cannot be used as an open redirect.

use url::Url;

/// `target` as a safe redirect, or `None`. Local paths must start with a single `/`; absolute
/// URLs must be http(s), carry no user info and belong to an allowed origin
/// (`https://www.longyan.gov.cn`, compared after parsing, ports included).
pub fn safe_target(target: &str, allowed_origins: &[String]) -> Option<String> {
    if target.is_empty() || target.len() > 2048 {
        return None;
    }
    // Browsers drop tabs and newlines inside URLs and treat `\` as `/`: any of them could turn
    // `/\evil.example` or `/<TAB>/evil.example` into another host.
    if target
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    if target.starts_with('/') {
        return (!target.starts_with("//")).then(|| target.to_owned());
    }
    let url = Url::parse(target).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    allowed_origins
        .iter()
        .filter_map(|a| Url::parse(a).ok())
        .any(|a| a.origin().ascii_serialization() == origin)
        .then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_allowed_origins_only() {
        let allowed = vec!["https://www.longyan.gov.cn".to_owned()];
        assert_eq!(
            safe_target("/policies?id=1#x", &allowed).as_deref(),
            Some("/policies?id=1#x")
        );
        assert_eq!(safe_target("/", &allowed).as_deref(), Some("/"));
        assert_eq!(
            safe_target("https://www.longyan.gov.cn/svc", &allowed).as_deref(),
            Some("https://www.longyan.gov.cn/svc")
        );
        for bad in [
            "",
            "//evil.example/",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            " /x",
            "https:evil.example",
            "https://evil.example/",
            "https://www.longyan.gov.cn.evil.example/",
            "https://www.longyan.gov.cn@evil.example/",
            "https://user@www.longyan.gov.cn/",
            "http://www.longyan.gov.cn/",
            "https://www.longyan.gov.cn:8443/",
            "javascript:alert(1)",
            "data:text/html,x",
            "policies",
        ] {
            assert_eq!(safe_target(bad, &allowed), None, "{bad:?} was allowed");
        }
    }
}
