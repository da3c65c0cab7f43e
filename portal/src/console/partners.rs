//! 合作系统: the partner systems that exchange messages with the hub — their settings as
//! [`exchange::partners::PartnerView`] shows them to the JSON API (never a credential), their
//! latest messages, and enabling or disabling a partner added through the API, saved through
//! `Exchange::update_partner` as `PATCH /api/admin/partners/{id}` is. Partners of the
//! configuration file are changed in the file.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use exchange::config::{PartnerSettings, Source};
use exchange::message::MessageQuery;
use exchange::partners::PartnerView;
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::problem::{ApiError, ErrorCode};
use platform::web::form::FormData;
use platform::web::page::{flash, see_other};

use super::frame::{ConsoleAdmin, base};
use crate::state::PortalState;
use crate::view::{self, ListQuery, pager};

const NOTICES: &[(&str, &str, &str)] = &[
    (
        "disabled",
        "success",
        "已停用该合作系统，它发来的报文将被拒绝。",
    ),
    ("enabled", "success", "已重新启用该合作系统。"),
];

/// How many of a partner's latest messages its page shows.
const LATEST: u32 = 10;

fn auth_label(kind: &str) -> &str {
    match kind {
        "hmac-sha256" => "网关签名（HMAC-SHA256）",
        "token" => "访问令牌",
        "sm2" => "SM2 签名",
        "gateway-token" => "网关令牌",
        "none" => "无",
        other => other,
    }
}

fn row(v: &PartnerView) -> serde_json::Value {
    serde_json::json!({
        "id": v.id,
        "href": format!("/console/partners/{}", v.id),
        "display_name": v.display_name,
        "source_label": if v.source == "file" { "配置文件" } else { "管理接口" },
        "enabled": v.enabled,
        "status_label": if v.enabled { "启用" } else { "已停用" },
        "status_kind": if v.enabled { "ok" } else { "muted" },
        "auth_label": auth_label(&v.auth),
        "message_types": v.message_types,
        "deliver_to": v.deliver_to,
        "outbound": v.outbound.as_ref().map(|o| serde_json::json!({
            "url": o.url,
            "message_types": o.message_types,
            "auth_label": auth_label(&o.auth),
        })),
        "payload_sm4": v.payload_sm4,
        "payload_signature": v.payload_signature,
        "client_certificates": v.client_certificates,
    })
}

fn views(state: &PortalState) -> Vec<PartnerView> {
    state
        .exchange
        .partners()
        .iter()
        .map(|(p, source)| PartnerView::of(p, *source))
        .collect()
}

/// `GET /console/partners?page=`.
pub async fn list(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::PartnersManage, &ctx)
        .await?;
    let query = ListQuery::parse(q.as_deref());
    let all = views(&state);
    let paged = view::page_of(all, query.page(orgs::Page::DEFAULT_SIZE));
    let items: Vec<serde_json::Value> = paged.items.iter().map(row).collect();
    let b = base(&state, "合作系统", "/console/partners", &admin);
    Ok(state.platform.web.page(
        "console/partners.html",
        &b,
        serde_json::json!({
            "items": items,
            "page": pager(&paged, "/console/partners", &[]),
        }),
    ))
}

fn partner_not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::PartnerNotFound, format!("no partner {id}"))
}

fn message_status(s: &str) -> (&str, &'static str) {
    match s {
        "accepted" => ("已接收", "muted"),
        "delivered" => ("已投递", "ok"),
        "failed" => ("投递失败", "bad"),
        "rejected" => ("已拒绝", "bad"),
        other => (other, "muted"),
    }
}

/// `GET /console/partners/{id}`.
pub async fn detail(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::PartnersManage, &ctx)
        .await?;
    let (p, source) = state
        .exchange
        .partners()
        .into_iter()
        .find(|(p, _)| p.id == id)
        .ok_or_else(|| partner_not_found(&id))?;
    let v = PartnerView::of(&p, source);
    // The message log is its own permission; system administrators hold both.
    let messages = if admin.principal.role.can(Permission::MessagesRead) {
        let latest = state
            .exchange
            .list(&MessageQuery {
                partner: Some(id.clone()),
                limit: LATEST,
                ..MessageQuery::default()
            })
            .await?;
        Some(
            latest
                .iter()
                .map(|m| {
                    let (label, kind) = message_status(&m.status);
                    serde_json::json!({
                        "id": m.id,
                        "direction": if m.direction == "inbound" { "接收" } else { "发送" },
                        "message_type": m.message_type,
                        "message_id": m.message_id,
                        "status_label": label,
                        "status_kind": kind,
                        "error_code": m.error_code,
                        "received_at": view::time_text(&m.received_at),
                    })
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let mut b = base(&state, &v.display_name, "/console/partners", &admin);
    b.flash = flash(ListQuery::parse(q.as_deref()).get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "console/partner.html",
        &b,
        serde_json::json!({
            "partner": row(&v),
            "editable": source == Source::Store,
            "messages": messages,
            "latest": LATEST,
        }),
    ))
}

/// `POST /console/partners/{id}/status`: `action=disable|enable`, for partners added through
/// the API.
pub async fn set_status(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::PartnersManage, &ctx)
        .await?;
    let enable = match f.get("action") {
        "enable" => true,
        "disable" => false,
        _ => {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                "action must be enable or disable",
            )
            .field("action", "must be `enable` or `disable`"));
        }
    };
    let change = PartnerSettings {
        enabled: Some(enable),
        ..PartnerSettings::default()
    };
    state
        .exchange
        .update_partner(&id, change, admin.principal.actor(), &ctx)
        .await?;
    Ok(see_other(&format!(
        "/console/partners/{id}?ok={}",
        if enable { "enabled" } else { "disabled" }
    )))
}
