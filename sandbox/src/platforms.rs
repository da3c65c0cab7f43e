//! The sandbox's external platforms: where `hub demo`'s connectors without a real public entry
//! lead. A platform's page says who arrived; for a signed hand-off it verifies the signature
//! exactly as docs/HANDOFF.md asks partners to (connector code, algorithm, time window, nonce
//! not seen before, HMAC-SM3 with the demo secret) and shows what it received — or why it
//! refused it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use guomi::Mac;
use http::StatusCode;

use crate::page::{self, escape};
use crate::state::{Sandbox, clock};

/// How long a nonce is remembered: twice the accepted window.
const NONCE_MEMORY: Duration = Duration::from_secs(2 * connectors::DEFAULT_WINDOW_SECS as u64);

/// Nonces remembered at most, so that a flood cannot grow memory without bound.
const NONCE_CAPACITY: usize = 100_000;

/// `GET /sandbox/platforms/{code}`.
pub(crate) async fn entry(
    State(sandbox): State<Arc<Sandbox>>,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let title = format!("模拟外部平台：{code}");
    if !pairs.iter().any(|(k, _)| k.starts_with("hub_")) {
        return page::html(
            StatusCode::OK,
            &title,
            "<p>您已从龙岩普惠金融平台跳转到本平台。本次跳转未携带任何身份信息（默认方式）。</p>",
        );
    }
    let Ok(mac) = guomi::HmacSm3::new(sandbox.config.handoff_secret.as_bytes()) else {
        return page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "沙箱平台的验签密钥不可用",
        );
    };
    let now = i64::try_from(clock::unix_millis() / 1000).unwrap_or(i64::MAX);
    let verified = connectors::verify(
        &pairs,
        &code,
        connectors::Scheme::HmacSm3,
        &|m: &[u8], s: &[u8]| mac.verify(&[m], s),
        now,
        connectors::DEFAULT_WINDOW_SECS,
    );
    let params = match verified {
        Ok(p) => p,
        Err(e) => {
            return page::html(
                StatusCode::UNAUTHORIZED,
                &title,
                &format!(
                    "<p>签名验证未通过，本平台拒绝了这次跳转：{}</p>",
                    escape(&e.to_string())
                ),
            );
        }
    };
    let nonce = params.get("hub_nonce").cloned().unwrap_or_default();
    if !remember(&sandbox, &nonce, clock::now()) {
        return page::html(
            StatusCode::UNAUTHORIZED,
            &title,
            "<p>该跳转链接已被使用过（nonce 重复），本平台拒绝了这次跳转。请从龙岩普惠金融平台重新进入。</p>",
        );
    }
    let mut rows = String::new();
    for (k, v) in &params {
        rows.push_str(&format!(
            "<li><code>{}</code>：{}</li>\n",
            escape(k),
            escape(v)
        ));
    }
    page::html(
        StatusCode::OK,
        &title,
        &format!(
            "<p>签名验证通过：用户由龙岩普惠金融平台带身份跳转而来（签名交接，见 docs/HANDOFF.md）。本平台收到：</p>\n<ul>\n{rows}</ul>"
        ),
    )
}

/// Remembers `nonce`; false if it was seen within [`NONCE_MEMORY`] (or the memory is full).
fn remember(sandbox: &Sandbox, nonce: &str, now: Instant) -> bool {
    let Ok(mut seen) = sandbox.handoff_nonces.lock() else {
        return false;
    };
    seen.retain(|_, at| now.duration_since(*at) < NONCE_MEMORY);
    if seen.len() >= NONCE_CAPACITY || seen.contains_key(nonce) {
        return false;
    }
    seen.insert(nonce.to_owned(), now);
    true
}
