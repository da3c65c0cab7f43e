//! 外部平台: the connectors with their status and health, a connector's settings as a form, its
//! version history with the one-step rollback, and a probe on demand. A change is saved through
//! [`connectors::Connectors::patch`], the function `PATCH /api/admin/connectors/{code}` calls:
//! the same rules, version check and audit record (`connector.updated`).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use connectors::registry::{ConnectorError, Entry, VersionView};
use connectors::{ConnectorPatch, Handoff, OpenMode, Status};
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::problem::ApiError;
use platform::web::form::{FieldErrors, FormData};
use platform::web::page::{flash, see_other};

use super::frame::{ConsoleAdmin, base};
use crate::state::PortalState;
use crate::view::{self, ListQuery, pager};

const NOTICES: &[(&str, &str, &str)] = &[
    ("saved", "success", "已保存，生成了新的版本。"),
    ("unchanged", "info", "没有修改任何内容，版本未变。"),
    (
        "rolled_back",
        "success",
        "已撤销最近一次修改，恢复为之前的设置（作为新的版本记录）。",
    ),
    ("probed", "success", "已完成检测，结果见“健康状况”。"),
    (
        "removed",
        "success",
        "该外部平台最近一次修改是重新新建，撤销后已再次删除。",
    ),
];

/// The status as administrators are told it (users are told less: `Status::label_zh`).
fn status_label(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Available => ("正常", "ok"),
        Status::Unknown => ("尚未检测", "muted"),
        Status::Unreachable => ("无法访问", "bad"),
        Status::Disabled => ("已停用", "muted"),
        Status::Unconfigured => ("待配置", "warn"),
        Status::Blocked => ("主机不在允许名单", "bad"),
    }
}

fn health(e: &Entry) -> serde_json::Value {
    match &e.health {
        None => serde_json::json!({
            "label": "尚未检测",
            "kind": "muted",
            "checked_at": null,
            "latency_ms": null,
            "http_status": null,
            "error": null,
        }),
        Some(h) => serde_json::json!({
            "label": if h.up { "可访问" } else { "无法访问" },
            "kind": if h.up { "ok" } else { "bad" },
            "checked_at": view::time(h.checked_at),
            "latency_ms": h.latency_ms,
            "http_status": h.http_status,
            "error": h.error,
        }),
    }
}

fn row(state: &PortalState, e: &Entry) -> serde_json::Value {
    let d = &e.definition;
    let (status_label, status_kind) = status_label(e.status(state.connectors.config()));
    serde_json::json!({
        "code": d.code,
        "href": format!("/console/connectors/{}", d.code),
        "name": d.name,
        "category": d.category,
        "position": d.position,
        "status_label": status_label,
        "status_kind": status_kind,
        "health": health(e),
        "version": e.version,
        "updated_at": view::time(e.updated_at.0),
    })
}

/// `GET /console/connectors?page=`.
pub async fn list(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::ConnectorsManage, &ctx)
        .await?;
    let query = ListQuery::parse(q.as_deref());
    let snapshot = state.connectors.snapshot();
    let paged = view::page_of(
        snapshot.entries.clone(),
        query.page(orgs::Page::DEFAULT_SIZE),
    );
    let items: Vec<serde_json::Value> = paged.items.iter().map(|e| row(&state, e)).collect();
    let mut b = base(&state, "外部平台", "/console/connectors", &admin);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "console/connectors.html",
        &b,
        serde_json::json!({
            "items": items,
            "page": pager(&paged, "/console/connectors", &[]),
            "allowed_hosts": state.connectors.config().allowlist.patterns(),
        }),
    ))
}

/// The form's values: the stored ones, or what was typed.
#[derive(serde::Serialize)]
struct ConnectorForm {
    version: String,
    name: String,
    operator: String,
    category: String,
    description: String,
    url: String,
    health_url: String,
    notice: String,
    position: String,
    open_mode: String,
    enabled: bool,
    sign_in_required: bool,
    allow_http: bool,
}

impl ConnectorForm {
    fn stored(e: &Entry) -> ConnectorForm {
        let d = &e.definition;
        ConnectorForm {
            version: e.version.to_string(),
            name: d.name.clone(),
            operator: d.operator.clone(),
            category: d.category.clone(),
            description: d.description.clone(),
            url: d.url.clone().unwrap_or_default(),
            health_url: d.health_url.clone().unwrap_or_default(),
            notice: d.notice.clone().unwrap_or_default(),
            position: d.position.to_string(),
            open_mode: d.open_mode.as_str().to_owned(),
            enabled: d.enabled,
            sign_in_required: d.sign_in_required,
            allow_http: d.allow_http,
        }
    }

    fn typed(f: &FormData) -> ConnectorForm {
        ConnectorForm {
            version: f.get("version").to_owned(),
            name: f.get("name").to_owned(),
            operator: f.get("operator").to_owned(),
            category: f.get("category").to_owned(),
            description: f.get("description").to_owned(),
            url: f.get("url").to_owned(),
            health_url: f.get("health_url").to_owned(),
            notice: f.get("notice").to_owned(),
            position: f.get("position").to_owned(),
            open_mode: f.get("open_mode").to_owned(),
            enabled: f.has("enabled"),
            sign_in_required: f.has("sign_in_required"),
            allow_http: f.has("allow_http"),
        }
    }

    /// The change the form asks for: every field of the form, an empty link or notice
    /// clearing it. `None` for the position when it is not a whole number.
    fn patch(&self) -> (ConnectorPatch, Option<&'static str>) {
        let optional = |v: &str| Some(Some(v.to_owned()).filter(|v| !v.is_empty()));
        let (position, position_error) = match self.position.parse::<i32>() {
            Ok(p) => (Some(p), None),
            Err(_) if self.position.is_empty() => (None, Some("请填写排序（整数，越小越靠前）")),
            Err(_) => (None, Some("排序须为整数，例如 10 或 -5")),
        };
        (
            ConnectorPatch {
                version: self.version.parse().ok(),
                name: Some(self.name.clone()),
                operator: Some(self.operator.clone()),
                category: Some(self.category.clone()),
                description: Some(self.description.clone()),
                url: optional(&self.url),
                enabled: Some(self.enabled),
                position,
                open_mode: Some(self.open_mode.clone()),
                sign_in_required: Some(self.sign_in_required),
                allow_http: Some(self.allow_http),
                health_url: optional(&self.health_url),
                notice: optional(&self.notice),
                handoff: None,
            },
            position_error,
        )
    }
}

fn action_label(action: &str) -> &str {
    match action {
        "seeded" => "初始导入",
        "created" => "新建",
        "updated" => "修改",
        "deleted" => "删除",
        "rolled_back" => "撤销修改",
        other => other,
    }
}

/// The definition's fields in Chinese, for the history's "what changed".
const FIELD_LABELS: &[(&str, &str)] = &[
    ("name", "名称"),
    ("operator", "运营单位"),
    ("category", "分类"),
    ("description", "简介"),
    ("url", "链接"),
    ("enabled", "启用"),
    ("position", "排序"),
    ("open_mode", "打开方式"),
    ("sign_in_required", "需先登录"),
    ("allow_http", "允许 http"),
    ("health_url", "检测地址"),
    ("notice", "提示"),
    ("handoff", "身份传递"),
];

/// The fields that differ between a version and the one before it.
fn changed_fields(after: &VersionView, before: Option<&VersionView>) -> Vec<&'static str> {
    let (Some(a), Some(b)) = (
        after.definition.as_ref(),
        before.and_then(|b| b.definition.as_ref()),
    ) else {
        return Vec::new();
    };
    FIELD_LABELS
        .iter()
        .filter(|(k, _)| a.get(k) != b.get(k))
        .map(|(_, label)| *label)
        .collect()
}

fn changed_by(by: Option<&str>) -> String {
    match by {
        None | Some("system") => "系统".to_owned(),
        Some(b) => b.to_owned(),
    }
}

type Refused = super::frame::Refused<ConnectorForm, String>;

async fn detail_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    code: &str,
    query: &ListQuery,
    refused: Option<Refused>,
) -> Result<Response, ApiError> {
    let snapshot = state.connectors.snapshot();
    let e: Arc<Entry> = snapshot
        .get(code)
        .cloned()
        .ok_or_else(|| ConnectorError::NotFound(code.to_owned()))?;
    let d = &e.definition;
    // One page of history, and the version just older than it, to say what each changed.
    let page = query.page(10);
    let history = state.connectors.version_page(code, page).await?;
    let next_older = state
        .connectors
        .version_page(code, orgs::Page::new(page.number * page.size + 1, 1))
        .await
        .ok()
        .and_then(|p| p.items.into_iter().next());
    let versions: Vec<serde_json::Value> = history
        .items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let before = history.items.get(i + 1).or(next_older.as_ref());
            serde_json::json!({
                "version": v.version,
                "action": action_label(&v.action),
                "changed": changed_fields(v, before),
                "changed_at": view::time_text(&v.changed_at),
                "changed_by": changed_by(v.changed_by.as_deref()),
                "current": v.version == e.version,
            })
        })
        .collect();
    let (status_label, status_kind) = status_label(e.status(state.connectors.config()));
    let handoff = match &d.handoff {
        Handoff::None => serde_json::json!({ "mode": "不传递用户身份" }),
        Handoff::Signed { scheme, params } => serde_json::json!({
            "mode": "签名跳转",
            "scheme": scheme.algorithm(),
            "params": params.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            "key": if e.key_unusable { "已设置但无法使用" } else if e.key.is_some() { "已设置" } else { "未设置" },
        }),
    };
    // 409 when someone else changed it meanwhile, else 422.
    let (status, form, errors, conflict) = Refused::shown(refused, || ConnectorForm::stored(&e));
    let mut b = base(state, &d.name, "/console/connectors", admin);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page_status(
        status,
        "console/connector.html",
        &b,
        serde_json::json!({
            "connector": {
                "code": d.code,
                "name": d.name,
                "status_label": status_label,
                "status_kind": status_kind,
                "health": health(&e),
                "version": e.version,
                "created_at": view::time(e.created_at.0),
                "updated_at": view::time(e.updated_at.0),
                "updated_by": changed_by(e.updated_by.as_deref()),
                "handoff": handoff,
                "can_probe": d.probe_url().is_some(),
                "jump_href": format!("/go/{}", d.code),
            },
            "form": form,
            "open_modes": [
                { "value": OpenMode::NewTab.as_str(), "label": "新窗口打开" },
                { "value": OpenMode::SameTab.as_str(), "label": "当前窗口打开" },
            ],
            "errors": errors.map(),
            "conflict": conflict,
            "versions": versions,
            "versions_page": pager(&history, &format!("/console/connectors/{code}"), &[]),
            "can_roll_back": history.total > 1,
        }),
    ))
}

/// `GET /console/connectors/{code}`.
pub async fn detail(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(code): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::ConnectorsManage, &ctx)
        .await?;
    detail_page(&state, &admin, &code, &ListQuery::parse(q.as_deref()), None).await
}

/// `POST /console/connectors/{code}`: the settings form.
pub async fn save(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(code): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::ConnectorsManage, &ctx)
        .await?;
    let typed = ConnectorForm::typed(&f);
    let (patch, position_error) = typed.patch();
    let mut errors = FieldErrors::default();
    if let Some(message) = position_error {
        // Nothing is saved; the other fields' problems are shown at the same time.
        errors.add("position", message);
        for fe in state.connectors.check_patch(&code, patch).await? {
            errors.add(&fe.field, fe.message_zh);
        }
        return again(&state, &admin, &code, typed, errors, None).await;
    }
    let before = typed.version.clone();
    match state
        .connectors
        .patch(&code, patch, admin.principal.actor(), &ctx)
        .await
    {
        Ok(changed) => {
            let notice = if changed.entry.version.to_string() == before {
                "unchanged"
            } else {
                "saved"
            };
            Ok(see_other(&format!(
                "/console/connectors/{code}?ok={notice}"
            )))
        }
        Err(ConnectorError::Invalid(fields)) => {
            for fe in fields {
                errors.add(&fe.field, fe.message_zh);
            }
            again(&state, &admin, &code, typed, errors, None).await
        }
        Err(ConnectorError::VersionConflict { current, .. }) => {
            let conflict = format!(
                "保存前该外部平台已被修改（现为第 {current} 版），本次修改未保存。请重新打开本页面查看最新设置后再修改。"
            );
            again(&state, &admin, &code, typed, errors, Some(conflict)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The form again with what was typed and what is wrong with it.
async fn again(
    state: &PortalState,
    admin: &ConsoleAdmin,
    code: &str,
    form: ConnectorForm,
    errors: FieldErrors,
    conflict: Option<String>,
) -> Result<Response, ApiError> {
    let refused = Refused {
        form,
        errors,
        conflict,
    };
    detail_page(state, admin, code, &ListQuery::default(), Some(refused)).await
}

/// `POST /console/connectors/{code}/rollback`: undoes the last change.
pub async fn rollback(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(code): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::ConnectorsManage, &ctx)
        .await?;
    match state
        .connectors
        .rollback(&code, admin.principal.actor(), &ctx)
        .await?
    {
        Some(_) => Ok(see_other(&format!(
            "/console/connectors/{code}?ok=rolled_back"
        ))),
        None => Ok(see_other("/console/connectors?ok=removed")),
    }
}

/// `POST /console/connectors/{code}/probe`: probes the platform now.
pub async fn probe(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(code): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::ConnectorsManage, &ctx)
        .await?;
    state
        .connectors
        .probe_one(&state.platform.outbound, &code)
        .await?;
    Ok(see_other(&format!("/console/connectors/{code}?ok=probed")))
}
