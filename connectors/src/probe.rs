//! The health probe: one request to the platform's entry (or its health URL) through the hub's
//! outbound client, without retries, redirects or cookies. Any answer below 500 means the
//! platform is reachable — a login page's 302 or a 403 to robots is still a live platform.

use std::time::Duration;

use crate::status::Health;

/// Probes `url`; `now_ms` stamps the result.
pub async fn probe(client: &outbound::Client, url: &str, timeout: Duration, now_ms: i64) -> Health {
    match client.probe(url, timeout).await {
        Ok(p) => {
            let up = p.status < 500;
            Health {
                up,
                checked_at: now_ms,
                latency_ms: Some(i64::try_from(p.latency.as_millis()).unwrap_or(i64::MAX)),
                http_status: Some(p.status),
                error: (!up).then(|| format!("http_{}", p.status)),
            }
        }
        Err(e) => Health {
            up: false,
            checked_at: now_ms,
            latency_ms: None,
            http_status: None,
            error: Some(error_code(&e).to_owned()),
        },
    }
}

/// A short, stable name for why a probe failed (shown to administrators and in metrics).
fn error_code(e: &outbound::Error) -> &'static str {
    use outbound::Error as E;
    match e {
        E::Timeout { .. } => "timeout",
        E::Connect { .. } => "connect",
        E::Status { .. } => "http_error",
        E::ResponseTooLarge { .. } => "too_large",
        E::InvalidRequest { .. } => "invalid_url",
        E::Saturated { .. } => "saturated",
        E::CircuitOpen { .. } => "circuit_open",
        _ => "error",
    }
}
