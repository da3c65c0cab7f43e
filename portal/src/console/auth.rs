//! The console's sign-in (password and TOTP code), sign-out and the change of an issued
//! password.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use platform::admin::{AdminError, Who};
use platform::context::RequestContext;
use platform::http::problem::{ApiError, ErrorCode};
use platform::web::form::{FieldErrors, FormData};
use platform::web::page::see_other;

use super::frame::{ConsoleAdmin, base, console_target};
use crate::state::PortalState;
use crate::view::ListQuery;

fn login_page(
    state: &PortalState,
    status: StatusCode,
    username: &str,
    return_to: &str,
    error: Option<&str>,
) -> Response {
    let b = state.platform.web.base("管理员登录", "console", Vec::new());
    state.platform.web.page_status(
        status,
        "console/login.html",
        &b,
        serde_json::json!({
            "form": { "username": username },
            "return_to": return_to,
            "error": error,
        }),
    )
}

/// `GET /console/login`.
pub async fn login_form(State(state): State<PortalState>, RawQuery(q): RawQuery) -> Response {
    let query = ListQuery::parse(q.as_deref());
    let target = console_target(query.get("return_to"));
    login_page(&state, StatusCode::OK, "", &target, None)
}

/// What a failed sign-in tells the person, without saying which factor was wrong.
fn login_failure(e: &ApiError) -> Option<String> {
    Some(match e.code {
        ErrorCode::CredentialsInvalid => "用户名、密码或动态口令不正确，请重新输入。".to_owned(),
        ErrorCode::AccountLocked => format!(
            "账号因多次登录失败已被锁定，请{}后再试，或联系安全管理员解锁。",
            match e.retry_after {
                Some(s) if s >= 60 => format!(" {} 分钟", s.div_ceil(60)),
                Some(s) => format!(" {s} 秒"),
                None => "稍后".to_owned(),
            }
        ),
        ErrorCode::AccountDisabled => "该管理员账号已停用，请联系安全管理员。".to_owned(),
        ErrorCode::RateLimited => "登录尝试过于频繁，请稍后再试。".to_owned(),
        _ => return None,
    })
}

/// `POST /console/login`: password and TOTP code. The form is protected by the cross-origin
/// check (there is no session yet to bind a token to).
pub async fn login(
    State(state): State<PortalState>,
    ctx: RequestContext,
    f: FormData,
) -> Result<Response, ApiError> {
    let username = f.get("username");
    let target = console_target(f.opt("return_to").as_deref());
    let mut missing = Vec::new();
    for (field, label) in [
        ("username", "用户名"),
        ("password", "密码"),
        ("totp", "动态口令"),
    ] {
        if f.get(field).is_empty() {
            missing.push(label);
        }
    }
    if !missing.is_empty() {
        let error = format!("请填写{}。", missing.join("、"));
        return Ok(login_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            username,
            &target,
            Some(&error),
        ));
    }
    match platform::api::admin::sign_in(
        &state.platform,
        username,
        f.get("password"),
        f.get("totp"),
        &ctx,
    )
    .await
    {
        Ok(session) => {
            let to = if session.admin.must_change_password {
                "/console/password".to_owned()
            } else {
                target
            };
            let mut res = see_other(&to);
            res.headers_mut().insert(
                header::SET_COOKIE,
                platform::api::admin::session_cookie(session.cookie_value.expose()),
            );
            Ok(res)
        }
        Err(e) => match login_failure(&e) {
            Some(message) => Ok(login_page(
                &state,
                e.code.status(),
                username,
                &target,
                Some(&message),
            )),
            None => Err(e),
        },
    }
}

/// `POST /console/logout`.
pub async fn logout(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    state
        .platform
        .admins
        .logout(&admin.principal, &admin.cookie, &ctx)
        .await?;
    let mut res = see_other("/console/login");
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(platform::api::admin::CLEAR_SESSION_COOKIE),
    );
    Ok(res)
}

fn password_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    status: StatusCode,
    errors: &FieldErrors,
) -> Response {
    let b = base(state, "修改密码", "", admin);
    let must = matches!(
        admin.principal.who,
        Who::Session {
            must_change_password: true,
            ..
        }
    );
    state.platform.web.page_status(
        status,
        "console/password.html",
        &b,
        serde_json::json!({ "errors": errors.map(), "must_change": must }),
    )
}

/// `GET /console/password`.
pub async fn password_form(State(state): State<PortalState>, admin: ConsoleAdmin) -> Response {
    password_page(&state, &admin, StatusCode::OK, &FieldErrors::default())
}

/// `POST /console/password`: the current password and the new one twice.
pub async fn password(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    let mut errors = FieldErrors::default();
    if f.get("current_password").is_empty() {
        errors.add("current_password", "请输入当前密码");
    }
    if f.get("new_password").is_empty() {
        errors.add("new_password", "请输入新密码");
    } else if f.get("new_password") != f.get("confirm_password") {
        errors.add("confirm_password", "两次输入的新密码不一致");
    }
    if errors.is_empty() {
        match state
            .platform
            .admins
            .change_password(
                &admin.principal,
                f.get("current_password"),
                f.get("new_password"),
                &ctx,
            )
            .await
        {
            Ok(()) => return Ok(see_other("/console?ok=password_changed")),
            Err(AdminError::Invalid { field, message }) => {
                errors.add(field, password_message(field, &message));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(password_page(
        &state,
        &admin,
        StatusCode::UNPROCESSABLE_ENTITY,
        &errors,
    ))
}

/// The password rule a refusal names, in Chinese (the core's messages are the JSON API's).
fn password_message(field: &str, message: &str) -> &'static str {
    if field == "current_password" {
        return "当前密码不正确";
    }
    if message.contains("at least") && message.contains("characters") {
        "新密码至少需要 12 个字符"
    } else if message.contains("at most") {
        "新密码过长"
    } else if message.contains("three of") {
        "新密码需包含小写字母、大写字母、数字、符号中的至少三类"
    } else if message.contains("user name") {
        "新密码不能包含用户名"
    } else if message.contains("differ") {
        "新密码不能与当前密码相同"
    } else {
        "新密码不符合密码规则：至少 12 个字符，包含小写字母、大写字母、数字、符号中的至少三类"
    }
}
