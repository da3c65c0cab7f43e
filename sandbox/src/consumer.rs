//! The sandbox's internal consumer of partner messages: where `hub demo` delivers the messages
//! its demo partner sends. It honours `Idempotency-Key` the way docs/EXCHANGE.md asks consumers
//! to — each key is applied once, a repeated delivery is answered without applying it again —
//! and shows what it has applied.
//!
//! Beside it, the demo bank's inbox (`/sandbox/consumer/partner-inbox`): where the hub sends the
//! demo bank messages as XML, checked like a partner would — the gateway HMAC-SHA256 signature
//! over the body (`DEMO_OUTBOUND_KEY`/`DEMO_OUTBOUND_SECRET`, ±90 s), once per idempotency key.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};

use crate::page::{self, escape};

/// Where the consumer lives.
pub const CONSUMER_BASE: &str = "/sandbox/consumer";

/// Messages kept at most (the oldest are forgotten first).
const CAPACITY: usize = 1_000;

#[derive(Default)]
struct Applied {
    /// Idempotency key → (partner, message type, message id).
    by_key: BTreeMap<String, (String, String, String)>,
    order: Vec<String>,
    total: u64,
    repeats: u64,
    /// The demo bank's inbox: (idempotency key, message type, message id, bytes), newest last.
    inbox: Vec<(String, String, String, usize)>,
    /// Requests the inbox refused (bad or missing signature).
    inbox_refused: u64,
}

type Shared = Arc<Mutex<Applied>>;

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(128)
        .collect()
}

/// `POST /sandbox/consumer/messages`: applies a delivered message once per idempotency key.
async fn receive(State(applied): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let key = header(&headers, "idempotency-key");
    if key.is_empty() {
        return page::error(StatusCode::BAD_REQUEST, "缺少 Idempotency-Key");
    }
    if serde_json::from_slice::<serde_json::Value>(&body).is_err() {
        return page::error(StatusCode::BAD_REQUEST, "报文不是 JSON");
    }
    let mut a = applied.lock().unwrap_or_else(PoisonError::into_inner);
    let first = !a.by_key.contains_key(&key);
    if first {
        a.by_key.insert(
            key.clone(),
            (
                header(&headers, "x-partner"),
                header(&headers, "x-message-type"),
                header(&headers, "x-message-id"),
            ),
        );
        a.order.push(key);
        a.total += 1;
        if a.order.len() > CAPACITY {
            let oldest = a.order.remove(0);
            a.by_key.remove(&oldest);
        }
    } else {
        a.repeats += 1;
    }
    page::json(&serde_json::json!({ "applied": first }))
}

/// Whether `headers` carry a valid gateway signature by the demo hub over `body` sent to `path`.
fn signed_by_the_hub(headers: &HeaderMap, path: &str, body: &[u8]) -> bool {
    use hmac::{KeyInit, Mac};
    use sha2::Digest;
    let date = header(headers, "x-date");
    let fresh = date.parse::<u64>().is_ok_and(|d| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|n| n.as_secs())
            .unwrap_or_default();
        now.abs_diff(d) <= 90
    });
    if !fresh || header(headers, "x-access-key") != crate::DEMO_OUTBOUND_KEY {
        return false;
    }
    let text = format!(
        "POST\n{path}\n\n{}\n{date}\n{}",
        crate::DEMO_OUTBOUND_KEY,
        hex::encode(sha2::Sha256::digest(body))
    );
    let Ok(mut mac) =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(crate::DEMO_OUTBOUND_SECRET.as_bytes())
    else {
        return false;
    };
    mac.update(text.as_bytes());
    hex::decode(header(headers, "x-signature")).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
}

/// `POST /sandbox/consumer/partner-inbox`: the demo bank receives a message from the hub.
async fn inbox(State(applied): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let key = header(&headers, "idempotency-key");
    let mut a = applied.lock().unwrap_or_else(PoisonError::into_inner);
    if !signed_by_the_hub(&headers, &format!("{CONSUMER_BASE}/partner-inbox"), &body) {
        a.inbox_refused += 1;
        return page::error(StatusCode::UNAUTHORIZED, "签名验证未通过");
    }
    if key.is_empty() {
        return page::error(StatusCode::BAD_REQUEST, "缺少 Idempotency-Key");
    }
    if !a.inbox.iter().any(|(k, ..)| *k == key) {
        let entry = (
            key,
            header(&headers, "x-message-type"),
            header(&headers, "x-message-id"),
            body.len(),
        );
        a.inbox.push(entry);
        if a.inbox.len() > CAPACITY {
            a.inbox.remove(0);
        }
    }
    let mut res = Response::new(axum::body::Body::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Ack><Status>0</Status></Ack>",
    ));
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    res
}

/// `GET /sandbox/consumer/`: what has been applied.
async fn overview(State(applied): State<Shared>) -> Response {
    let a = applied.lock().unwrap_or_else(PoisonError::into_inner);
    let mut rows = String::new();
    for key in a.order.iter().rev().take(50) {
        if let Some((partner, kind, id)) = a.by_key.get(key) {
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
                escape(partner),
                escape(kind),
                escape(id),
                escape(key)
            ));
        }
    }
    let mut inbox = String::new();
    for (key, kind, id, size) in a.inbox.iter().rev().take(50) {
        inbox.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{size}</td><td><code>{}</code></td></tr>\n",
            escape(kind),
            escape(id),
            escape(key)
        ));
    }
    page::html(
        StatusCode::OK,
        "模拟内部业务系统（报文接收方）",
        &format!(
            "<p>已处理报文 {} 条；重复投递 {} 次（按 Idempotency-Key 去重，未重复处理）。以下为最近 50 条。</p>\n<table><tr><th>合作方</th><th>报文类型</th><th>报文编号</th><th>幂等键</th></tr>\n{rows}</table>\n<h2>示例银行收到的平台报文（XML，已验签）</h2>\n<p>共 {} 条；验签未通过 {} 次。</p>\n<table><tr><th>报文类型</th><th>报文编号</th><th>字节数</th><th>幂等键</th></tr>\n{inbox}</table>",
            a.total,
            a.repeats,
            a.inbox.len(),
            a.inbox_refused
        ),
    )
}

pub(crate) fn router() -> Router {
    Router::new()
        .route(&format!("{CONSUMER_BASE}/"), get(overview))
        .route(&format!("{CONSUMER_BASE}/messages"), post(receive))
        .route(&format!("{CONSUMER_BASE}/partner-inbox"), post(inbox))
        .with_state(Shared::default())
}
