//! Operations: liveness, readiness and metrics.

use axum::extract::State;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::metrics::PoolLabels;
use crate::http::problem::{ApiError, ErrorCode};
use crate::state::Platform;

pub fn routes() -> OpenApiRouter<Platform> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Status {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Status)))]
pub async fn healthz() -> axum::Json<Status> {
    axum::Json(Status { status: "ok" })
}

/// Readiness: 200 when the database is reachable and fully migrated, 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Status),
    (status = 503, description = "database unreachable or not migrated, or the partner-message writer stopped", body = crate::http::problem::ProblemDocument, content_type = "application/problem+json"),
))]
pub async fn readyz(State(state): State<Platform>) -> Result<axum::Json<Status>, ApiError> {
    if !state.db.is_ready().await {
        return Err(ApiError::new(
            ErrorCode::StoreUnavailable,
            "the database is unreachable or its migrations are not all applied",
        ));
    }
    if let Some(why) = state.readiness.iter().find_map(|r| r.not_ready()) {
        return Err(ApiError::new(ErrorCode::StoreUnavailable, why));
    }
    Ok(axum::Json(Status { status: "ready" }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<Platform>) -> impl IntoResponse {
    let m = &state.metrics;
    for (pool, size, idle) in state.db.pool_stats() {
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        m.db_connections
            .get_or_create(&PoolLabels {
                pool: pool.into(),
                state: "idle".into(),
            })
            .set(idle);
        m.db_connections
            .get_or_create(&PoolLabels {
                pool: pool.into(),
                state: "busy".into(),
            })
            .set(i64::from(size) - idle);
    }
    m.audit_chain_length.set(state.audit.head_seq());
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.render(),
    )
}
