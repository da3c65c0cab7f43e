//! 审计日志: the audit trail for audit administrators — search by time, event type, actor and
//! outcome, newest first, a page at a time (each page links to the older one); one record in
//! full; the chain verification, itself audited as `GET /api/admin/audit/verify` is
//! (`AuditLog::verify_by`); and the export of the same search through the JSON API. Nothing
//! here changes a record.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use platform::admin::Permission;
use platform::audit::{AuditFilter, AuditRecord, AuditRecordView, BreakKind};
use platform::clock::Millis;
use platform::context::RequestContext;
use platform::http::problem::{ApiError, ErrorCode};
use platform::web::form::{FieldErrors, FormData};

use super::frame::{ConsoleAdmin, base};
use crate::state::PortalState;
use crate::view::{self, ListQuery};

/// Records per page.
const PAGE_SIZE: u32 = 50;
const DAY_MS: i64 = 86_400_000;

fn outcome_label(o: &str) -> (&str, &'static str) {
    match o {
        "success" => ("成功", "ok"),
        "failure" => ("失败", "bad"),
        "denied" => ("拒绝", "warn"),
        other => (other, "muted"),
    }
}

fn actor_kind_label(k: &str) -> &str {
    match k {
        "anonymous" => "匿名",
        "account" => "用户",
        "admin" => "管理员",
        "token" => "访问令牌",
        "system" => "系统",
        "partner" => "合作系统",
        other => other,
    }
}

/// Event types (or prefixes) offered as suggestions in the search form.
const EVENT_SUGGESTIONS: &[&str] = &[
    "admin.*",
    "admin.login",
    "access.denied",
    "account.*",
    "session.revoked",
    "sso.*",
    "connector.*",
    "exchange.*",
    "org.*",
    "audit.*",
];

/// The first moment of a date (`2026-12-07`) in Beijing time.
fn beijing_midnight(date: &str) -> Option<i64> {
    let ok = date.len() == 10
        && date.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !ok {
        return None;
    }
    Millis::parse_rfc3339(&format!("{date}T00:00:00+08:00")).map(|m| m.0)
}

/// The search as typed, and the filter it makes.
#[derive(Default, serde::Serialize)]
struct Search {
    from: String,
    to: String,
    event: String,
    actor_name: String,
    actor: String,
    target: String,
    outcome: String,
}

impl Search {
    fn parse(q: &ListQuery) -> Search {
        let get = |k: &str| q.get(k).unwrap_or("").chars().take(200).collect::<String>();
        Search {
            from: get("from"),
            to: get("to"),
            event: get("event"),
            actor_name: get("actor_name"),
            actor: get("actor"),
            target: get("target"),
            outcome: get("outcome"),
        }
    }

    fn filter(&self, errors: &mut FieldErrors) -> AuditFilter {
        let opt = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
        let mut day = |field: &str, v: &str, plus: i64| {
            if v.is_empty() {
                return None;
            }
            let t = beijing_midnight(v).map(|t| t + plus);
            if t.is_none() {
                errors.add(field, "请按“年-月-日”填写日期，例如 2026-12-07");
            }
            t
        };
        let from = day("from", &self.from, 0);
        // The whole last day: up to the next midnight.
        let to = day("to", &self.to, DAY_MS);
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            errors.add("to", "结束日期不能早于开始日期");
        }
        let outcome = opt(&self.outcome);
        if let Some(o) = &outcome
            && !matches!(o.as_str(), "success" | "failure" | "denied")
        {
            errors.add("outcome", "请选择成功、失败或拒绝");
        }
        AuditFilter {
            from,
            to,
            actor_id: opt(&self.actor),
            actor_name: opt(&self.actor_name),
            event: opt(&self.event),
            outcome,
            target: opt(&self.target),
            ..AuditFilter::default()
        }
    }

    /// The query of this search, with `extra` pairs.
    fn query(&self, extra: &[(&str, &str)]) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("event", &self.event),
            ("actor_name", &self.actor_name),
            ("actor", &self.actor),
            ("target", &self.target),
            ("outcome", &self.outcome),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        q.finish()
    }

    /// The JSON API's export of the same search (times as RFC 3339).
    fn export_href(&self, filter: &AuditFilter) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(f) = filter.from {
            q.append_pair("from", &Millis(f).to_rfc3339());
        }
        if let Some(t) = filter.to {
            q.append_pair("to", &Millis(t).to_rfc3339());
        }
        for (k, v) in [
            ("event", &filter.event),
            ("actor_name", &filter.actor_name),
            ("actor", &filter.actor_id),
            ("target", &filter.target),
            ("outcome", &filter.outcome),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        let q = q.finish();
        if q.is_empty() {
            "/api/admin/audit/export".to_owned()
        } else {
            format!("/api/admin/audit/export?{q}")
        }
    }
}

fn row(r: &AuditRecord) -> serde_json::Value {
    let (outcome_label, outcome_kind) = outcome_label(&r.outcome);
    serde_json::json!({
        "seq": r.seq,
        "href": format!("/console/audit/{}", r.seq),
        "time": view::time(r.ts),
        "event": r.event,
        "actor_kind": actor_kind_label(&r.actor_kind),
        "actor_name": r.actor_name,
        "acting_for": r.acting_for,
        "target": r.target,
        "outcome_label": outcome_label,
        "outcome_kind": outcome_kind,
        "reason": r.reason,
        "source_ip": r.source_ip,
    })
}

/// `GET /console/audit?from=&to=&event=&actor_name=&actor=&target=&outcome=&before=`.
pub async fn list(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin.require(&state, Permission::AuditRead, &ctx).await?;
    let query = ListQuery::parse(q.as_deref());
    let search = Search::parse(&query);
    let mut errors = FieldErrors::default();
    let filter = search.filter(&mut errors);
    let before = query.get("before").and_then(|b| b.parse::<i64>().ok());
    // A search that cannot be read finds nothing rather than something else.
    let (status, items, older) = if errors.is_empty() {
        let page = state
            .platform
            .audit
            .page(&filter, before, PAGE_SIZE)
            .await?;
        let older = page.next_before.map(|b| {
            format!(
                "/console/audit?{}",
                search.query(&[("before", &b.to_string())])
            )
        });
        (
            StatusCode::OK,
            page.items.iter().map(row).collect::<Vec<_>>(),
            older,
        )
    } else {
        (StatusCode::BAD_REQUEST, Vec::new(), None)
    };
    let newest = before.map(|_| {
        let q = search.query(&[]);
        if q.is_empty() {
            "/console/audit".to_owned()
        } else {
            format!("/console/audit?{q}")
        }
    });
    let b = base(&state, "审计日志", "/console/audit", &admin);
    Ok(state.platform.web.page_status(
        status,
        "console/audit.html",
        &b,
        serde_json::json!({
            "items": items,
            "search": search,
            "errors": errors.map(),
            "outcomes": [
                { "value": "success", "label": "成功" },
                { "value": "failure", "label": "失败" },
                { "value": "denied", "label": "拒绝" },
            ],
            "events": EVENT_SUGGESTIONS,
            "older_href": older,
            "newest_href": newest,
            "export_href": admin.principal.role.can(Permission::AuditExport).then(|| search.export_href(&filter)),
            "page_size": PAGE_SIZE,
        }),
    ))
}

/// `GET /console/audit/{seq}`.
pub async fn detail(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(seq): Path<String>,
) -> Result<Response, ApiError> {
    admin.require(&state, Permission::AuditRead, &ctx).await?;
    let not_found = || ApiError::new(ErrorCode::NotFound, format!("no audit record {seq}"));
    let n: i64 = seq.parse().map_err(|_| not_found())?;
    let r = state
        .platform
        .audit
        .record(n)
        .await?
        .ok_or_else(not_found)?;
    let v = AuditRecordView::from(&r);
    let (outcome_label, outcome_kind) = outcome_label(&r.outcome);
    let details = v
        .details
        .as_ref()
        .map(|d| serde_json::to_string_pretty(d).unwrap_or_default());
    let b = base(&state, &format!("审计记录 {n}"), "/console/audit", &admin);
    Ok(state.platform.web.page(
        "console/audit_record.html",
        &b,
        serde_json::json!({
            "record": {
                "seq": v.seq,
                "time": view::time(r.ts),
                "time_utc": v.time,
                "event": v.event,
                "outcome_label": outcome_label,
                "outcome_kind": outcome_kind,
                "reason": v.reason,
                "actor_kind": actor_kind_label(&v.actor_kind),
                "actor_id": v.actor_id,
                "actor_name": v.actor_name,
                "acting_for": v.acting_for,
                "agent": v.agent,
                "target": v.target,
                "request_id": v.request_id,
                "source_ip": v.source_ip,
                "user_agent": v.user_agent,
                "details": details,
                "prev_hash": v.prev_hash,
                "hash": v.hash,
            },
            "newer_href": format!("/console/audit/{}", n + 1),
            "older_href": (n > 1).then(|| format!("/console/audit/{}", n - 1)),
        }),
    ))
}

fn break_label(k: &BreakKind) -> &'static str {
    match k {
        BreakKind::Modified => "记录内容与其封印不符（被修改或移动）",
        BreakKind::Missing => "此位置之前缺少记录",
        BreakKind::OutOfPlace => "有封印有效的记录出现在不应出现的位置（被插入或调换）",
        BreakKind::Truncated => "链尾的记录被删除",
        BreakKind::BeyondHead => "有记录位于已封印的链头之后（未经写入程序插入）",
        BreakKind::AnchorForged => "链头或归档锚点的封印不是用本平台的密钥生成的",
    }
}

/// `POST /console/audit/verify`: checks the chain now (and records that it was checked).
pub async fn verify(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::AuditRead, &ctx)
        .await?;
    let report = state
        .platform
        .audit
        .verify_by(admin.principal.actor(), &ctx)
        .await?;
    let b = base(&state, "审计日志完整性核验", "/console/audit", &admin);
    Ok(state.platform.web.page(
        "console/audit_verify.html",
        &b,
        serde_json::json!({
            "intact": report.intact,
            "records": report.records,
            "from_seq": report.from_seq,
            "head_seq": report.head_seq,
            "first_break": report.first_break.as_ref().map(|b| serde_json::json!({
                "seq": b.seq,
                "href": format!("/console/audit/{}", b.seq),
                "kind": break_label(&b.kind),
                "detail": b.detail,
            })),
            "checked_at": view::time(state.platform.clock.now().0),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_days_in_beijing_time() {
        // 2026-12-07 00:00 +08:00 is 2026-12-06 16:00 UTC.
        assert_eq!(
            beijing_midnight("2026-12-07").map(|m| Millis(m).to_rfc3339()),
            Some("2026-12-06T16:00:00.000Z".to_owned())
        );
        for bad in ["2026-13-01", "2026/12/07", "07-12-2026", "2026-12-7", ""] {
            assert_eq!(beijing_midnight(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_search_that_cannot_be_read_says_where() {
        let q = ListQuery::parse(Some("from=2026-12-08&to=2026-12-07&outcome=maybe"));
        let mut errors = FieldErrors::default();
        Search::parse(&q).filter(&mut errors);
        let m = errors.map();
        assert_eq!(m.get("to"), Some(&"结束日期不能早于开始日期"));
        assert_eq!(m.get("outcome"), Some(&"请选择成功、失败或拒绝"));
        let mut errors = FieldErrors::default();
        let f = Search::parse(&ListQuery::parse(Some("from=2026-12-07&to=2026-12-07")))
            .filter(&mut errors);
        assert!(errors.is_empty());
        assert_eq!(f.to.zip(f.from).map(|(t, f)| t - f), Some(DAY_MS));
    }
}
