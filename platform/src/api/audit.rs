//! The audit trail for audit administrators: query, statistics, export and verification.
//! Nothing here changes or removes a record.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::Permission;
use crate::audit::{AuditEvent, AuditFilter, AuditRecordView, AuditStat, Outcome, VerifyReport};
use crate::clock::Millis;
use crate::context::RequestContext;
use crate::http::auth::AdminAuth;
use crate::http::extract::QueryParams;
use crate::http::problem::{ApiError, ErrorCode, ProblemDocument};
use crate::state::Platform;

pub fn routes() -> OpenApiRouter<Platform> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(export))
        .routes(routes!(stats))
        .routes(routes!(verify))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Events before this time (RFC 3339).
    pub to: Option<String>,
    /// Actor id (account, administrator or token).
    pub actor: Option<String>,
    /// Actor name as recorded (an administrator's user name).
    pub actor_name: Option<String>,
    /// `anonymous`, `account`, `admin`, `token`, `system` or `partner`.
    pub actor_kind: Option<String>,
    /// Event type, or a prefix ending in `*` (`admin.*`).
    pub event: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    pub target: Option<String>,
    pub request_id: Option<String>,
    /// Page cursor: records older than this position (from `next_before`).
    pub before: Option<i64>,
    /// Records per page, 1–500 (default 50).
    pub limit: Option<u32>,
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, ApiError> {
        let time = |field: &'static str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
            v.as_deref()
                .map(|t| {
                    Millis::parse_rfc3339(t).map(|m| m.0).ok_or_else(|| {
                        ApiError::new(
                            ErrorCode::InvalidQuery,
                            format!(
                                "{field} must be an RFC 3339 time such as 2026-11-22T08:00:00+08:00"
                            ),
                        )
                        .field(field, "not an RFC 3339 time")
                    })
                })
                .transpose()
        };
        if let Some(o) = self.outcome.as_deref()
            && !matches!(o, "success" | "failure" | "denied")
        {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                "outcome must be success, failure or denied",
            )
            .field("outcome", "unknown outcome"));
        }
        Ok(AuditFilter {
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            actor_id: self.actor.clone(),
            actor_name: self.actor_name.clone(),
            actor_kind: self.actor_kind.clone(),
            event: self.event.clone(),
            outcome: self.outcome.clone(),
            target: self.target.clone(),
            request_id: self.request_id.clone(),
        })
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AuditPageView {
    /// Newest first.
    pub items: Vec<AuditRecordView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

/// Audit records matching the filters, newest first, a page at a time.
#[utoipa::path(get, path = "/api/admin/audit", tag = "audit",
    security(("admin_session" = []), ("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPageView),
        (status = 400, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<axum::Json<AuditPageView>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AuditRead, &ctx)
        .await?;
    let filter = q.filter()?;
    let page = state
        .audit
        .page(&filter, q.before, q.limit.unwrap_or(50))
        .await?;
    Ok(axum::Json(AuditPageView {
        items: page.items.iter().map(AuditRecordView::from).collect(),
        next_before: page.next_before,
    }))
}

/// Exports matching records, oldest first, as JSON Lines (`application/x-ndjson`). The export
/// itself is audited.
#[utoipa::path(get, path = "/api/admin/audit/export", tag = "audit",
    security(("admin_session" = []), ("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, content_type = "application/x-ndjson", body = AuditRecordView)))]
pub async fn export(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Response, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AuditExport, &ctx)
        .await?;
    let filter = q.filter()?;
    state
        .audit
        .append(
            AuditEvent::new("audit.exported", Outcome::Success)
                .actor(p.actor())
                .details(serde_json::json!({
                    "from": q.from, "to": q.to, "actor": q.actor, "actor_name": q.actor_name, "actor_kind": q.actor_kind,
                    "event": q.event, "outcome": q.outcome, "target": q.target,
                }))
                .context(&ctx),
        )
        .await?;
    let audit = state.audit.clone();
    // Pages of records become chunks of the body; a failure mid-way ends the stream with an
    // error, so the client sees a broken transfer rather than a silently short file.
    let stream = futures_util::stream::unfold(Some(0i64), move |after| {
        let audit = audit.clone();
        let filter = filter.clone();
        async move {
            let after = after?;
            match audit.export_page(&filter, after, 1_000).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = rows.last().map(|r| r.seq);
                    let mut chunk = Vec::with_capacity(rows.len() * 512);
                    for r in &rows {
                        if serde_json::to_writer(&mut chunk, &AuditRecordView::from(r)).is_ok() {
                            chunk.push(b'\n');
                        }
                    }
                    Some((Ok::<_, std::io::Error>(chunk), next))
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit export failed mid-way");
                    Some((Err(std::io::Error::other("audit export failed")), None))
                }
            }
        }
    });
    Ok((
        [
            (http::header::CONTENT_TYPE, "application/x-ndjson"),
            (
                http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.jsonl\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Counts by event type and outcome within the filters.
#[utoipa::path(get, path = "/api/admin/audit/stats", tag = "audit",
    security(("admin_session" = []), ("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = Vec<AuditStat>)))]
pub async fn stats(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<axum::Json<Vec<AuditStat>>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AuditRead, &ctx)
        .await?;
    Ok(axum::Json(state.audit.stats(&q.filter()?).await?))
}

/// Checks the integrity chain and names the first broken record, if any.
#[utoipa::path(get, path = "/api/admin/audit/verify", tag = "audit",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = VerifyReport)))]
pub async fn verify(
    State(state): State<Platform>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
) -> Result<axum::Json<VerifyReport>, ApiError> {
    state
        .admins
        .authorize(&p, Permission::AuditRead, &ctx)
        .await?;
    let report = state.audit.verify_by(p.actor(), &ctx).await?;
    Ok(axum::Json(report))
}
