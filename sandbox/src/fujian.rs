//! The provincial platform's browser pages and back channel (PROTOCOLS.md §1).
//!
//! A sign-in (the form, or `persona=` on `goLogin.do` for tests) opens a sandbox session (a
//! cookie on `/sandbox/fujian/`) and sends the browser back with a trust ticket; a later silent
//! check (`checkLoginStatus.do`) finds the session and issues a new ticket. Faults chosen at
//! sign-in ride with that sign-in's ticket only.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};

use crate::fault::Fault;
use crate::page::{self, Refusal, escape, masked};
use crate::personas::{self, PERSONAS, Persona};
use crate::query;
use crate::state::{FUJIAN_BASE, FUJIAN_SESSION_COOKIE, SESSION_TTL, Sandbox, clock};
use crate::store::TOKEN_BYTES;

const TITLE_LOGIN: &str = "福建省统一身份认证平台（沙箱）";

fn query_params(raw: Option<String>) -> HashMap<String, String> {
    query::params(raw.unwrap_or_default().as_bytes())
}

/// The refusal of a request without this platform's caller code.
fn check_caller(sandbox: &Sandbox, params: &HashMap<String, String>) -> Result<(), Refusal> {
    let code = query::get(params, "callerCode").unwrap_or_default();
    if sandbox.fujian.caller_code_matches(code) {
        Ok(())
    } else {
        tracing::info!("fujian: page refused: wrong caller code");
        Err(Refusal::bad_request(
            "调用方编码（callerCode）无效，请确认应用已在统一身份认证平台登记。",
        ))
    }
}

/// `fault=`: absent, or one of the exchange faults.
fn parse_fault(params: &HashMap<String, String>) -> Result<Option<Fault>, Refusal> {
    match query::get(params, "fault") {
        None => Ok(None),
        Some(v) => match Fault::parse(v).filter(|f| f.is_exchange_fault()) {
            Some(f) => Ok(Some(f)),
            None => Err(Refusal::bad_request(format!(
                "未知的故障类型：{v}。可选：expired-ticket、fail-103、fail-033、slow。"
            ))),
        },
    }
}

fn session_cookie(id: &str) -> String {
    format!(
        "{FUJIAN_SESSION_COOKIE}={id}; Path=/sandbox/fujian/; Max-Age={}; HttpOnly; SameSite=Lax",
        SESSION_TTL.as_secs()
    )
}

fn cleared_cookie() -> String {
    format!("{FUJIAN_SESSION_COOKIE}=; Path=/sandbox/fujian/; Max-Age=0; HttpOnly; SameSite=Lax")
}

fn session_persona(sandbox: &Sandbox, headers: &HeaderMap) -> Option<&'static Persona> {
    let id = query::cookie(headers, FUJIAN_SESSION_COOKIE)?;
    sandbox
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id, clock::now())
}

fn unavailable() -> Refusal {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "沙箱暂时无法签发票据，请稍后重试。",
    )
}

/// `GET …/checkLoginStatus.do?checkbackurl=CB&callerCode=CODE`: back to `CB` with a ticket and
/// `loginflag=true` when the browser has a session, with `loginflag=false` alone otherwise.
pub(crate) async fn check_login_status(
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let params = query_params(raw);
    check_caller(&sandbox, &params)?;
    let callback = query::get(&params, "checkbackurl")
        .ok_or_else(|| Refusal::bad_request("缺少回调地址（checkbackurl）。"))?;
    let fault = parse_fault(&params)?;
    let location = match session_persona(&sandbox, &headers) {
        Some(persona) => {
            let ticket = sandbox
                .fujian
                .issue_ticket(persona, fault, clock::now())
                .map_err(|_| unavailable())?;
            query::append(callback, &[("trustticket", &ticket), ("loginflag", "true")])
        }
        None => query::append(callback, &[("loginflag", "false")]),
    };
    Ok(page::redirect(&location, None))
}

/// Signs `persona_id` in: a new session and a ticket, back to `returnurl`.
fn sign_in(sandbox: &Sandbox, params: &HashMap<String, String>) -> Result<Response, Refusal> {
    let returnurl = query::get(params, "returnurl")
        .ok_or_else(|| Refusal::bad_request("缺少回调地址（returnurl）。"))?;
    let persona_id = query::get(params, "persona").unwrap_or_default();
    let persona = personas::persona(persona_id).ok_or_else(|| {
        Refusal::bad_request(format!(
            "未知的测试身份：{persona_id}。可选：personal-1、personal-2、personal-3、legal-1。"
        ))
    })?;
    let fault = parse_fault(params)?;
    let now = clock::now();
    let session = sandbox
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(persona, SESSION_TTL, now, TOKEN_BYTES)
        .map_err(|_| unavailable())?;
    let ticket = sandbox
        .fujian
        .issue_ticket(persona, fault, now)
        .map_err(|_| unavailable())?;
    tracing::info!(persona = persona.id, "fujian: signed in");
    Ok(page::redirect(
        &query::append(
            returnurl,
            &[("trustticket", &ticket), ("loginflag", "true")],
        ),
        Some(&session_cookie(&session)),
    ))
}

/// `GET …/goLogin.do?returnurl=CB&callerCode=CODE`: the login page, or with `persona=ID` (and
/// `fault=F`) an immediate sign-in for tests.
pub(crate) async fn go_login(
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Refusal> {
    let params = query_params(raw);
    check_caller(&sandbox, &params)?;
    if params.contains_key("persona") {
        return sign_in(&sandbox, &params);
    }
    let returnurl = query::get(&params, "returnurl")
        .ok_or_else(|| Refusal::bad_request("缺少回调地址（returnurl）。"))?;
    Ok(page::html(
        StatusCode::OK,
        TITLE_LOGIN,
        &login_form(returnurl),
    ))
}

fn login_form(returnurl: &str) -> String {
    let mut personas = String::new();
    for (i, p) in PERSONAS.iter().enumerate() {
        let checked = if i == 0 { " checked" } else { "" };
        personas.push_str(&format!(
            "<p><label><input type=\"radio\" name=\"persona\" value=\"{}\"{checked}> {}\
             ——账号 {}，证件号 {}</label></p>\n",
            escape(p.id),
            escape(p.label),
            escape(p.account),
            escape(&masked(p.cert_no)),
        ));
    }
    let mut faults = String::from("<option value=\"\" selected>无（正常登录）</option>\n");
    for f in Fault::EXCHANGE {
        faults.push_str(&format!(
            "<option value=\"{}\">{}（{}）</option>\n",
            escape(f.as_str()),
            escape(f.label()),
            escape(f.as_str()),
        ));
    }
    format!(
        "<p>请选择一个测试身份登录。登录后将带着信任票据（trustticket）返回接入应用。</p>\n\
         <form method=\"post\" action=\"{FUJIAN_BASE}/UnifiedController/doLogin\">\n\
         <input type=\"hidden\" name=\"returnurl\" value=\"{}\">\n\
         <fieldset><legend>测试身份</legend>\n{personas}</fieldset>\n\
         <p><label>故障注入（测试用）：<select name=\"fault\">\n{faults}</select></label></p>\n\
         <p><button type=\"submit\">登录</button></p>\n</form>\n\
         <p>返回地址：<code>{}</code></p>",
        escape(returnurl),
        escape(returnurl),
    )
}

/// `POST …/doLogin` (form `persona`, `returnurl`, optional `fault`): as the `goLogin.do`
/// shortcut.
pub(crate) async fn do_login(
    State(sandbox): State<Arc<Sandbox>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    sign_in(&sandbox, &query::params(&body))
}

/// `GET …/goUserCenter.do?uitype=5&callerCode=CODE&returnurl=CB`: ends the session, back to
/// `CB`. Other user-centre views do not exist in the sandbox.
pub(crate) async fn go_user_center(
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let params = query_params(raw);
    check_caller(&sandbox, &params)?;
    if query::get(&params, "uitype") != Some("5") {
        return Err(Refusal::bad_request(
            "沙箱的用户中心只支持退出登录（uitype=5）。",
        ));
    }
    if let Some(id) = query::cookie(&headers, FUJIAN_SESSION_COOKIE) {
        sandbox
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
    tracing::info!("fujian: signed out");
    Ok(match query::get(&params, "returnurl") {
        Some(cb) => page::redirect(cb, Some(&cleared_cookie())),
        None => {
            let mut res = page::html(
                StatusCode::OK,
                "已退出登录（沙箱）",
                "<p>您已退出统一身份认证平台沙箱。</p>",
            );
            if let Ok(v) = http::HeaderValue::from_str(&cleared_cookie()) {
                res.headers_mut().insert(http::header::SET_COOKIE, v);
            }
            res
        }
    })
}

/// `GET …/goRegist.do`: registration is not simulated.
pub(crate) async fn go_regist(RawQuery(raw): RawQuery) -> Response {
    let params = query_params(raw);
    let back = query::get(&params, "returnurl")
        .filter(|u| {
            u.starts_with("https://")
                || u.starts_with("http://")
                || (u.starts_with('/') && !u.starts_with("//"))
        })
        .map(|u| format!("<p><a href=\"{}\">返回</a></p>", escape(u)))
        .unwrap_or_default();
    page::html(
        StatusCode::OK,
        "用户注册（沙箱）",
        &format!("<p>沙箱环境不提供用户注册。请使用登录页列出的测试身份登录。</p>\n{back}"),
    )
}

/// `POST …/AppSerController/invokeservice.do`: services 103 and 033.
pub(crate) async fn invoke_service(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let answer = sandbox.fujian.invoke(&body, clock::now());
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    page::json(&answer.body(&clock::btime()))
}
