//! 用户账号: the accounts of people and companies, a page at a time; finding one by certificate
//! number or credit code (a POST: the number never appears in a URL, and the result page's
//! address carries only the account id); an account with its masked number, identities and
//! sessions; enabling, disabling and ending sessions through `platform::account_admin`, as the
//! JSON endpoints do.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use platform::account_admin;
use platform::accounts::{AccountFilter, AccountStatus, AccountView};
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::problem::{ApiError, ErrorCode};
use platform::identity::{CertType, Certificate, Uscc};
use platform::web::form::{FieldErrors, FormData};
use platform::web::page::{flash, see_other};

use super::frame::{ConsoleAdmin, base};
use crate::state::PortalState;
use crate::view::{self, ListQuery, pager};

const NOTICES: &[(&str, &str, &str)] = &[
    (
        "disabled",
        "success",
        "已停用该账号，其全部会话已结束，不能再登录。",
    ),
    ("enabled", "success", "已重新启用该账号。"),
    ("session_ended", "success", "已结束该会话。"),
    ("sessions_ended", "success", "已结束该账号的全部会话。"),
];

fn kind_label(kind: &str) -> &str {
    match kind {
        "personal" => "个人",
        "legal_person" => "法人",
        other => other,
    }
}

fn status_badge(status: &str) -> (&'static str, &'static str) {
    match AccountStatus::parse(status) {
        Some(AccountStatus::Active) => (AccountStatus::Active.label_zh(), "ok"),
        Some(AccountStatus::Disabled) => (AccountStatus::Disabled.label_zh(), "muted"),
        None => ("未知", "warn"),
    }
}

fn row(a: &AccountView) -> serde_json::Value {
    let (status_label, status_kind) = status_badge(&a.status);
    serde_json::json!({
        "href": format!("/console/accounts/{}", a.id),
        "display_name": a.display_name,
        "kind_label": kind_label(&a.kind),
        "id_masked": a.id_masked,
        "status_label": status_label,
        "status_kind": status_kind,
        "providers": a.identities.iter().map(|i| i.provider.clone()).collect::<Vec<_>>(),
        "created_at": view::time_text(&a.created_at),
        "last_login_at": a.last_login_at.as_deref().map(view::time_text),
    })
}

/// What the search form was given, kept to show it again.
#[derive(Default, serde::Serialize)]
struct Search {
    number_type: String,
    number: String,
}

async fn list_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    query: &ListQuery,
    status: StatusCode,
    search: &Search,
    search_errors: &FieldErrors,
    not_found: bool,
) -> Result<Response, ApiError> {
    let kind = query
        .get("kind")
        .filter(|k| matches!(*k, "personal" | "legal_person"));
    let account_status = query.get("status").and_then(AccountStatus::parse);
    let filter = AccountFilter {
        key_index: None,
        kind: kind.map(str::to_owned),
        status: account_status,
    };
    let paged = state
        .platform
        .accounts
        .list(&filter, query.page(orgs::Page::DEFAULT_SIZE))
        .await?;
    let kind_text = kind.unwrap_or("");
    let status_text = account_status.map_or("", AccountStatus::as_str);
    let page = pager(
        &paged,
        "/console/accounts",
        &[("kind", kind_text), ("status", status_text)],
    );
    let items: Vec<serde_json::Value> = paged.items.iter().map(row).collect();
    let mut b = base(state, "用户账号", "/console/accounts", admin);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page_status(
        status,
        "console/accounts.html",
        &b,
        serde_json::json!({
            "items": items,
            "page": page,
            "filter": { "kind": kind_text, "status": status_text },
            "kinds": [
                { "value": "personal", "label": "个人" },
                { "value": "legal_person", "label": "法人" },
            ],
            "statuses": AccountStatus::ALL.iter().map(|s| serde_json::json!({ "value": s.as_str(), "label": s.label_zh() })).collect::<Vec<_>>(),
            "search": search,
            "number_types": [
                { "value": "111", "label": "居民身份证" },
                { "value": "uscc", "label": "统一社会信用代码" },
            ],
            "errors": search_errors.map(),
            "not_found": not_found,
        }),
    ))
}

/// `GET /console/accounts?kind=&status=&page=`.
pub async fn list(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::AccountsManage, &ctx)
        .await?;
    list_page(
        &state,
        &admin,
        &ListQuery::parse(q.as_deref()),
        StatusCode::OK,
        &Search {
            number_type: "111".to_owned(),
            number: String::new(),
        },
        &FieldErrors::default(),
        false,
    )
    .await
}

/// `POST /console/accounts/search`: `number_type` (`111` or `uscc`) and `number`. Found: 303
/// to the account's page; otherwise the list again with the search as typed.
pub async fn search(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::AccountsManage, &ctx)
        .await?;
    let search = Search {
        number_type: f.get("number_type").to_owned(),
        number: f.get("number").to_owned(),
    };
    let accounts = &state.platform.accounts;
    let index = if search.number.is_empty() {
        Err("请填写证件号码或统一社会信用代码")
    } else if search.number_type == "uscc" {
        Uscc::parse(&search.number)
            .map(|u| accounts.uscc_index(&u))
            .map_err(|e| e.label_zh())
    } else {
        Certificate::new(CertType::ResidentId, &search.number)
            .map(|c| accounts.certificate_index(&c))
            .map_err(|e| e.label_zh())
    };
    let (status, errors, not_found) = match index {
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("number", message);
            (StatusCode::UNPROCESSABLE_ENTITY, errors, false)
        }
        Ok(index) => {
            let filter = AccountFilter {
                key_index: Some(index),
                ..AccountFilter::default()
            };
            let found = accounts.list(&filter, orgs::Page::new(1, 1)).await?;
            if let Some(a) = found.items.first() {
                return Ok(see_other(&format!("/console/accounts/{}", a.id)));
            }
            (StatusCode::OK, FieldErrors::default(), true)
        }
    };
    list_page(
        &state,
        &admin,
        &ListQuery::default(),
        status,
        &search,
        &errors,
        not_found,
    )
    .await
}

/// `GET /console/accounts/{id}`.
pub async fn detail(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::AccountsManage, &ctx)
        .await?;
    let a = state.platform.accounts.view(&id).await?;
    // Sessions are their own permission; security administrators hold both.
    let can_sessions = admin.principal.role.can(Permission::SessionsManage);
    let sessions = if can_sessions {
        state
            .platform
            .sessions
            .list_for_account(&id)
            .await?
            .into_iter()
            .map(|s| {
                serde_json::json!({
                    "handle": s.handle,
                    "provider": s.provider,
                    "agent": s.agent,
                    "created_at": view::time_text(&s.created_at),
                    "last_seen_at": view::time_text(&s.last_seen_at),
                    "expires_at": view::time_text(&s.expires_at),
                    "source_ip": s.source_ip,
                    "user_agent": s.user_agent,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let (status_label, status_kind) = status_badge(&a.status);
    let identities: Vec<serde_json::Value> = a
        .identities
        .iter()
        .map(|i| {
            serde_json::json!({
                "provider": i.provider,
                "subject": i.subject,
                "linked_at": view::time_text(&i.linked_at),
            })
        })
        .collect();
    let mut b = base(&state, &a.display_name, "/console/accounts", &admin);
    b.flash = flash(ListQuery::parse(q.as_deref()).get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "console/account.html",
        &b,
        serde_json::json!({
            "account": {
                "id": a.id,
                "display_name": a.display_name,
                "kind_label": kind_label(&a.kind),
                "id_masked": a.id_masked,
                "status": a.status,
                "status_label": status_label,
                "status_kind": status_kind,
                "created_at": view::time_text(&a.created_at),
                "last_login_at": a.last_login_at.as_deref().map(view::time_text),
            },
            "identities": identities,
            "can_sessions": can_sessions,
            "sessions": sessions,
            "audit_href": if admin.principal.role.can(Permission::AuditRead) {
                Some(format!("/console/audit?target=account:{}", a.id))
            } else {
                None
            },
        }),
    ))
}

/// `POST /console/accounts/{id}/status`: `action=disable|enable`.
pub async fn set_status(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::AccountsManage, &ctx)
        .await?;
    let status = match f.get("action") {
        "disable" => AccountStatus::Disabled,
        "enable" => AccountStatus::Active,
        _ => {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                "action must be enable or disable",
            )
            .field("action", "must be `enable` or `disable`"));
        }
    };
    account_admin::set_status(&state.platform, &admin.principal, &id, status, &ctx).await?;
    Ok(see_other(&format!(
        "/console/accounts/{id}?ok={}",
        if status == AccountStatus::Disabled {
            "disabled"
        } else {
            "enabled"
        }
    )))
}

/// `POST /console/accounts/{id}/sessions/end`: `handle` of one session, or none for all.
pub async fn end_sessions(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::SessionsManage, &ctx)
        .await?;
    let notice = match f.opt("handle") {
        Some(handle) => {
            account_admin::end_session(
                &state.platform,
                admin.principal.actor(),
                &id,
                &handle,
                &ctx,
            )
            .await?;
            "session_ended"
        }
        None => {
            account_admin::end_sessions(&state.platform, &admin.principal, &id, &ctx).await?;
            "sessions_ended"
        }
    };
    Ok(see_other(&format!("/console/accounts/{id}?ok={notice}")))
}
