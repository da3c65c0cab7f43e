//! The sandbox's internal consumer of partner messages: where `hub demo` delivers the messages
//! its demo partner sends. It honours `Idempotency-Key` the way docs/EXCHANGE.md asks consumers
//! to — each key is applied once, a repeated delivery is answered without applying it again —
//! and shows what it has applied.

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
    page::html(
        StatusCode::OK,
        "模拟内部业务系统（报文接收方）",
        &format!(
            "<p>已处理报文 {} 条；重复投递 {} 次（按 Idempotency-Key 去重，未重复处理）。以下为最近 50 条。</p>\n<table><tr><th>合作方</th><th>报文类型</th><th>报文编号</th><th>幂等键</th></tr>\n{rows}</table>",
            a.total, a.repeats
        ),
    )
}

pub(crate) fn router() -> Router {
    Router::new()
        .route(&format!("{CONSUMER_BASE}/"), get(overview))
        .route(&format!("{CONSUMER_BASE}/messages"), post(receive))
        .with_state(Shared::default())
}
