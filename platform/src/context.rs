//! What the hub knows about the request an action came from: its id, the client's address
//! (after trusted proxies) and user agent. Audit records and logs carry it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::request::Parts;

#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub request_id: Option<String>,
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// For work that no HTTP request started (command line, background jobs).
    pub fn system() -> Self {
        RequestContext::default()
    }
}

/// The SHA-256 of the leaf certificate a client presented (and the CAs verified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientCert(pub [u8; 32]);

/// The client certificate of the request's connection, if any: an extension of every request
/// served over TLS (absent over plain HTTP).
pub type PeerCertificate = Option<ClientCert>;

/// The longest user agent kept; the rest is cut so that a client cannot bloat the audit log.
const MAX_USER_AGENT: usize = 256;

impl RequestContext {
    /// The context of a request, from its parts.
    pub fn from_parts(parts: &Parts, trusted_proxies: &[ipnet::IpNet]) -> RequestContext {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let client_ip = peer.map(|p| client_ip(p, &parts.headers, trusted_proxies));
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| truncate(ua, MAX_USER_AGENT));
        let request_id = parts
            .headers
            .get(crate::http::request_id::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        RequestContext {
            request_id,
            client_ip,
            user_agent,
        }
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// rightmost `X-Forwarded-For` hop that is not itself a trusted proxy. The leftmost entries are
/// whatever the client wrote and are never believed.
pub fn client_ip(peer: IpAddr, headers: &http::HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.9, 10.0.0.7".parse().unwrap(),
        );
        // From the proxy: the rightmost untrusted hop, not the spoofable first entry.
        assert_eq!(
            client_ip("10.0.0.1".parse().unwrap(), &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // Directly from a client: the header is ignored.
        assert_eq!(
            client_ip("198.51.100.4".parse().unwrap(), &h, &trusted),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        // Proxy without the header: the proxy.
        assert_eq!(
            client_ip(
                "10.0.0.1".parse().unwrap(),
                &http::HeaderMap::new(),
                &trusted
            ),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn long_user_agents_are_cut_on_a_character_boundary() {
        let ua = "浏".repeat(100);
        let t = truncate(&ua, 256);
        assert!(t.len() <= 256 && ua.starts_with(&t));
    }
}
