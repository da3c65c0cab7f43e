//! 管理员与角色: the administrators, a page at a time; creating one (the issued password and
//! TOTP secret are on the answer to the POST, once — never in a URL or a log); changing an
//! administrator's name, role or status; lifting a lockout, issuing new credentials, ending
//! the console sessions; and the read-only table of roles and their permissions. Every change
//! is the `Admins` service's, as the JSON API's, audited there.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use platform::admin::{
    AdminError, AdminPatch, AdminView, IssuedCredentials, Permission, Role, Who,
};
use platform::context::RequestContext;
use platform::http::problem::ApiError;
use platform::web::form::{FieldErrors, FormData};
use platform::web::page::{flash, see_other};

use super::frame::{ConsoleAdmin, base};
use crate::state::PortalState;
use crate::view::{self, ListQuery, pager};

const NOTICES: &[(&str, &str, &str)] = &[
    ("saved", "success", "已保存。"),
    ("unlocked", "success", "已解除锁定。"),
    (
        "sessions_ended",
        "success",
        "已结束该管理员的全部控制台会话。",
    ),
];

fn role_options() -> Vec<serde_json::Value> {
    Role::ALL
        .iter()
        .filter(|r| r.for_people())
        .map(|r| serde_json::json!({ "value": r.as_str(), "label": r.label_zh() }))
        .collect()
}

fn status_options() -> serde_json::Value {
    serde_json::json!([
        { "value": "active", "label": "启用" },
        { "value": "disabled", "label": "停用" },
    ])
}

fn status_badge(v: &AdminView) -> (&'static str, &'static str) {
    if v.status != "active" {
        ("已停用", "muted")
    } else if v.locked_until.is_some() {
        ("已锁定", "bad")
    } else if v.must_change_password {
        ("待修改初始密码", "warn")
    } else {
        ("启用", "ok")
    }
}

fn row(v: &AdminView) -> serde_json::Value {
    let (status_label, status_kind) = status_badge(v);
    serde_json::json!({
        "id": v.id,
        "href": format!("/console/admins/{}", v.id),
        "username": v.username,
        "display_name": v.display_name,
        "role": v.role.as_str(),
        "role_label": v.role.label_zh(),
        "status": v.status,
        "status_label": status_label,
        "status_kind": status_kind,
        "locked_until": v.locked_until.as_deref().map(view::time_text),
        "must_change_password": v.must_change_password,
        "last_login_at": v.last_login_at.as_deref().map(view::time_text),
        "created_at": view::time_text(&v.created_at),
    })
}

/// What an administrator's refusal says next to the field, in Chinese (each field has one
/// rule in the `Admins` service).
fn field_message(field: &str) -> &'static str {
    match field {
        "username" => {
            "用户名须为 3 到 32 个字符：以小写字母开头，只能包含小写字母、数字和“.”“_”“-”"
        }
        "display_name" => "请填写姓名，至多 64 个字，不能包含控制字符",
        "role" => "请选择系统管理员、安全管理员或审计管理员",
        "status" => "请选择启用或停用",
        _ => "填写的内容不正确",
    }
}

/// An `Admins` refusal as what the form shows: a field's error, or one about the whole form.
fn refusal(e: AdminError, errors: &mut FieldErrors) -> Result<Option<&'static str>, ApiError> {
    match e {
        AdminError::Invalid { field, .. } => {
            errors.add(field, field_message(field));
            Ok(None)
        }
        AdminError::UsernameTaken(_) => {
            errors.add("username", "该用户名已被占用，请换一个");
            Ok(None)
        }
        AdminError::SelfModification => Ok(Some(
            "不能修改自己的角色或状态，也不能为自己重置凭据；请由另一名安全管理员操作。",
        )),
        AdminError::LastSecurityAdmin => Ok(Some(
            "这样会使平台没有启用的安全管理员；请先任命另一名安全管理员。",
        )),
        e => Err(e.into()),
    }
}

/// `GET /console/admins?page=`.
pub async fn list(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::AdminsManage, &ctx)
        .await?;
    let query = ListQuery::parse(q.as_deref());
    let paged = state
        .platform
        .admins
        .page(query.page(orgs::Page::DEFAULT_SIZE))
        .await?;
    let items: Vec<serde_json::Value> = paged.items.iter().map(row).collect();
    let b = base(&state, "管理员与角色", "/console/admins", &admin);
    Ok(state.platform.web.page(
        "console/admins.html",
        &b,
        serde_json::json!({
            "items": items,
            "page": pager(&paged, "/console/admins", &[]),
        }),
    ))
}

/// `GET /console/admins/roles`: 角色与权限.
pub async fn roles(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::AdminsManage, &ctx)
        .await?;
    let roles: Vec<serde_json::Value> = Role::ALL
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.as_str(),
                "label": r.label_zh(),
                "for_people": r.for_people(),
                "permissions": r.permissions().iter().map(|p| p.label_zh()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let matrix: Vec<serde_json::Value> = Permission::ALL
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.as_str(),
                "label": p.label_zh(),
                "roles": Role::ALL.iter().map(|r| r.can(*p)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let b = base(&state, "角色与权限", "/console/admins", &admin);
    Ok(state.platform.web.page(
        "console/roles.html",
        &b,
        serde_json::json!({ "roles": roles, "matrix": matrix }),
    ))
}

#[derive(Default, serde::Serialize)]
struct NewForm {
    username: String,
    display_name: String,
    role: String,
}

fn new_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    status: StatusCode,
    form: &NewForm,
    errors: &FieldErrors,
) -> Response {
    let b = base(state, "新建管理员", "/console/admins", admin);
    state.platform.web.page_status(
        status,
        "console/admin_new.html",
        &b,
        serde_json::json!({
            "form": form,
            "errors": errors.map(),
            "roles": role_options(),
        }),
    )
}

/// `GET /console/admins/new`.
pub async fn new_form(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::AdminsManage, &ctx)
        .await?;
    Ok(new_page(
        &state,
        &admin,
        StatusCode::OK,
        &NewForm::default(),
        &FieldErrors::default(),
    ))
}

/// The issued credentials, on the answer to the POST that issued them: shown this once.
fn issued_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    issued: &IssuedCredentials,
    reset: bool,
) -> Response {
    let b = base(state, "管理员凭据", "/console/admins", admin);
    state.platform.web.page(
        "console/admin_issued.html",
        &b,
        serde_json::json!({
            "issued_admin": row(&issued.admin),
            "password": issued.password,
            "totp_secret": issued.totp_secret,
            "totp_uri": issued.totp_uri,
            "reset": reset,
        }),
    )
}

/// `POST /console/admins`: `username`, `display_name`, `role`.
pub async fn create(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::AdminsManage, &ctx)
        .await?;
    let form = NewForm {
        username: f.get("username").to_owned(),
        display_name: f.get("display_name").to_owned(),
        role: f.get("role").to_owned(),
    };
    let mut errors = FieldErrors::default();
    match form.role.parse::<Role>() {
        Err(_) => errors.add("role", field_message("role")),
        Ok(role) => {
            match state
                .platform
                .admins
                .create(
                    Some(&admin.principal),
                    &form.username,
                    &form.display_name,
                    role,
                    &ctx,
                )
                .await
            {
                Ok(issued) => return Ok(issued_page(&state, &admin, &issued, false)),
                Err(e) => {
                    if let Some(message) = refusal(e, &mut errors)? {
                        errors.add("username", message);
                    }
                }
            }
        }
    }
    Ok(new_page(
        &state,
        &admin,
        StatusCode::UNPROCESSABLE_ENTITY,
        &form,
        &errors,
    ))
}

#[derive(serde::Serialize)]
struct EditForm {
    display_name: String,
    role: String,
    status: String,
}

impl EditForm {
    /// The form as the administrator is stored.
    fn stored(v: &AdminView) -> EditForm {
        EditForm {
            display_name: v.display_name.clone(),
            role: v.role.as_str().to_owned(),
            status: v.status.clone(),
        }
    }
}

type Refused = super::frame::Refused<EditForm, &'static str>;

async fn detail_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    id: &str,
    query: &ListQuery,
    refused: Option<Refused>,
) -> Result<Response, ApiError> {
    let v = state.platform.admins.get(id).await?;
    let is_self = admin.principal.admin_id() == Some(v.id.as_str());
    let (status, form, errors, problem) = Refused::shown(refused, || EditForm::stored(&v));
    let mut b = base(state, &v.username, "/console/admins", admin);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page_status(
        status,
        "console/admin.html",
        &b,
        serde_json::json!({
            "admin_view": row(&v),
            "is_self": is_self,
            "form": form,
            "errors": errors.map(),
            "problem": problem,
            "roles": role_options(),
            "statuses": status_options(),
            "can_sessions": admin.principal.role.can(Permission::SessionsManage),
        }),
    ))
}

/// `GET /console/admins/{id}`.
pub async fn detail(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::AdminsManage, &ctx)
        .await?;
    detail_page(&state, &admin, &id, &ListQuery::parse(q.as_deref()), None).await
}

/// `POST /console/admins/{id}`: `display_name`, `role`, `status`.
pub async fn update(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::AdminsManage, &ctx)
        .await?;
    let form = EditForm {
        display_name: f.get("display_name").to_owned(),
        role: f.get("role").to_owned(),
        status: f.get("status").to_owned(),
    };
    let mut errors = FieldErrors::default();
    let role = form.role.parse::<Role>();
    if role.is_err() {
        errors.add("role", field_message("role"));
    }
    let mut problem = None;
    if let Ok(role) = role {
        let patch = AdminPatch {
            display_name: Some(form.display_name.clone()),
            role: Some(role),
            status: Some(form.status.clone()),
        };
        match state
            .platform
            .admins
            .update(&admin.principal, &id, patch, &ctx)
            .await
        {
            Ok(_) => return Ok(see_other(&format!("/console/admins/{id}?ok=saved"))),
            Err(e) => problem = refusal(e, &mut errors)?,
        }
    }
    let refused = Refused {
        form,
        errors,
        conflict: problem,
    };
    detail_page(&state, &admin, &id, &ListQuery::default(), Some(refused)).await
}

/// `POST /console/admins/{id}/unlock`.
pub async fn unlock(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::AdminsManage, &ctx)
        .await?;
    state
        .platform
        .admins
        .unlock(Some(&admin.principal), &id, &ctx)
        .await?;
    Ok(see_other(&format!("/console/admins/{id}?ok=unlocked")))
}

/// `POST /console/admins/{id}/reset`: a new password and TOTP secret, shown once.
pub async fn reset(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::AdminsManage, &ctx)
        .await?;
    match state
        .platform
        .admins
        .reset_credentials(Some(&admin.principal), &id, &ctx)
        .await
    {
        Ok(issued) => Ok(issued_page(&state, &admin, &issued, true)),
        Err(e) => {
            let mut errors = FieldErrors::default();
            let problem = refusal(e, &mut errors)?;
            let v = state.platform.admins.get(&id).await?;
            let refused = Refused {
                form: EditForm::stored(&v),
                errors,
                conflict: problem,
            };
            detail_page(&state, &admin, &id, &ListQuery::default(), Some(refused)).await
        }
    }
}

/// `POST /console/admins/{id}/sessions/end`: ends the administrator's console sessions.
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
    state
        .platform
        .admins
        .revoke_sessions(&admin.principal, &id, &ctx)
        .await?;
    // Ending one's own sessions ends this one too: the next page is the sign-in.
    if matches!(&admin.principal.who, Who::Session { admin_id, .. } if *admin_id == id) {
        return Ok(see_other("/console/login"));
    }
    Ok(see_other(&format!(
        "/console/admins/{id}?ok=sessions_ended"
    )))
}
