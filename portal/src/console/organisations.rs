//! 机构审核: the operators' list of organisations, a registration's review (approve, or reject
//! with a reason the organisation is shown), and disabling or enabling an approved one. The
//! rules — only pending ones are reviewed, a reason is required to reject — are the `orgs`
//! crate's; these pages only show its answers.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use orgs::{OrgError, OrgFilter, OrgKind, OrgStatus, Organisation, Page};
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::problem::ApiError;
use platform::web::form::{FieldErrors, FormData};
use platform::web::page::{flash, see_other};

use super::frame::{ConsoleAdmin, base};
use crate::api::ReviewDecision;
use crate::state::PortalState;
use crate::view::{self, ListQuery, pager};

const NOTICES: &[(&str, &str, &str)] = &[
    ("approved", "success", "已通过该机构的登记。"),
    (
        "rejected",
        "success",
        "已驳回该机构的登记，驳回理由已告知对方。",
    ),
    (
        "disabled",
        "success",
        "已停用该机构，其账号不能再以机构身份办理业务。",
    ),
    ("enabled", "success", "已重新启用该机构。"),
];

fn row(o: &Organisation) -> serde_json::Value {
    serde_json::json!({
        "id": o.id,
        "href": format!("/console/organisations/{}", o.id),
        "name": o.name,
        "kind_label": o.kind.label_zh(),
        "uscc_masked": o.uscc_masked,
        "status_label": o.status.label_zh(),
        "status_kind": view::org_status_kind(o.status),
        "created_at": view::time(o.created_at),
    })
}

fn options<T: Copy>(
    all: &[T],
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<serde_json::Value> {
    all.iter()
        .map(|v| serde_json::json!({ "value": value(*v), "label": label(*v) }))
        .collect()
}

/// `GET /console/organisations?status=&kind=&q=&page=`: pending ones first by default.
pub async fn list(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::OrganisationsManage, &ctx)
        .await?;
    let query = ListQuery::parse(q.as_deref());
    // No `status` in the query means the review queue; `status=all` means every status.
    let status_text = query.get("status").unwrap_or("pending");
    let filter = OrgFilter {
        status: OrgStatus::parse(status_text),
        kind: query.get("kind").and_then(OrgKind::parse),
        q: query.get("q").map(|s| s.chars().take(100).collect()),
    };
    let paged = state
        .orgs
        .list(filter.clone(), query.page(Page::DEFAULT_SIZE))
        .await?;
    let kind_text = filter.kind.map_or("", OrgKind::as_str);
    let q_text = filter.q.clone().unwrap_or_default();
    let page = pager(
        &paged,
        "/console/organisations",
        &[("status", status_text), ("kind", kind_text), ("q", &q_text)],
    );
    let items: Vec<serde_json::Value> = paged.items.iter().map(row).collect();
    let b = base(&state, "机构审核", "/console/organisations", &admin);
    Ok(state.platform.web.page(
        "console/organisations.html",
        &b,
        serde_json::json!({
            "items": items,
            "page": page,
            "filter": { "status": status_text, "kind": kind_text, "q": q_text },
            "statuses": options(&OrgStatus::ALL, OrgStatus::as_str, OrgStatus::label_zh),
            "kinds": options(&OrgKind::ALL, OrgKind::as_str, OrgKind::label_zh),
            "empty": if status_text == "pending" {
                "没有待审核的机构登记。"
            } else {
                "没有符合条件的机构。"
            },
        }),
    ))
}

async fn detail_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    id: &str,
    query: &ListQuery,
    status: StatusCode,
    reason: &str,
    errors: &FieldErrors,
) -> Result<Response, ApiError> {
    let o = state.orgs.get(id).await?;
    let mut b = base(state, &o.name, "/console/organisations", admin);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page_status(
        status,
        "console/organisation.html",
        &b,
        serde_json::json!({
            "org": {
                "id": o.id,
                "name": o.name,
                "kind_label": o.kind.label_zh(),
                "uscc_masked": o.uscc_masked,
                "contact_name": o.contact_name,
                "contact_phone": o.contact_phone.as_deref().map(platform::identity::mask_mobile),
                "introduction": o.introduction,
                "status": o.status.as_str(),
                "status_label": o.status.label_zh(),
                "status_kind": view::org_status_kind(o.status),
                "reject_reason": o.reject_reason,
                "created_at": view::time(o.created_at),
                "reviewed_at": o.reviewed_at.map(view::time),
                "reviewed_by": o.reviewed_by,
            },
            "can_review": o.status == OrgStatus::Pending,
            "can_disable": o.status == OrgStatus::Approved,
            "can_enable": o.status == OrgStatus::Disabled,
            "reason": reason,
            "errors": errors.map(),
        }),
    ))
}

/// `GET /console/organisations/{id}`.
pub async fn detail(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::OrganisationsManage, &ctx)
        .await?;
    detail_page(
        &state,
        &admin,
        &id,
        &ListQuery::parse(q.as_deref()),
        StatusCode::OK,
        "",
        &FieldErrors::default(),
    )
    .await
}

/// `POST /console/organisations/{id}/review`: `decision=approve|reject`, `reason`.
pub async fn review(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    let decided = ReviewDecision {
        decision: f.get("decision").to_owned(),
        reason: f.opt("reason"),
    }
    .into_decision();
    let outcome = match decided {
        Ok(decision) => {
            let approve = decision == orgs::Decision::Approve;
            state
                .orgs
                .review(&admin.principal, &id, decision, &ctx)
                .await
                .map(|_| approve)
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(true) => Ok(see_other(&format!(
            "/console/organisations/{id}?ok=approved"
        ))),
        Ok(false) => Ok(see_other(&format!(
            "/console/organisations/{id}?ok=rejected"
        ))),
        Err(OrgError::Invalid(fields)) => {
            let mut errors = FieldErrors::default();
            for (field, message) in fields {
                errors.add(&field, message);
            }
            detail_page(
                &state,
                &admin,
                &id,
                &ListQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                f.get("reason"),
                &errors,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/organisations/{id}/status`: `action=disable|enable`.
pub async fn set_status(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    let disable = f.get("action") == "disable";
    state
        .orgs
        .set_disabled(&admin.principal, &id, disable, &ctx)
        .await?;
    Ok(see_other(&format!(
        "/console/organisations/{id}?ok={}",
        if disable { "disabled" } else { "enabled" }
    )))
}
