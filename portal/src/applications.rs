//! 产品申请 and 站内消息: an enterprise applies online for a listed product (the form pre-filled
//! from its account and company), follows its applications and supplements what was asked;
//! an institution answers the applications it received (受理, 补充材料, 拒绝, 放款); each side
//! reads its in-site messages with an unread count. Every rule — which step a state allows,
//! which side takes it, who reads what — is the `market` service's; these pages show its
//! answers and keep what was typed when it refuses.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use market::applications::step_label;
use market::{
    Application, ApplicationForm, ApplicationStatus, MarketError, Member, Product, Step, StepForm,
};
use orgs::{OrgKind, Page};
use platform::context::RequestContext;
use platform::http::problem::{ApiError, ErrorCode};
use platform::web::form::{self, FieldErrors, FormData};
use platform::web::page::{flash, see_other};
use serde_json::{Value, json};

use crate::public::to_sign_in;
use crate::state::PortalState;
use crate::view::{self, ListQuery, Signed, Viewer, base, pager};

/// The organisation's applications.
const LIST: &str = "/user/applications";
/// The member's messages.
const MESSAGES: &str = "/user/messages";

/// The templates of these pages, embedded.
pub const TEMPLATES: platform::web::templates::Sources = &[
    (
        "applications/apply.html",
        include_str!("../templates/applications/apply.html"),
    ),
    (
        "applications/list.html",
        include_str!("../templates/applications/list.html"),
    ),
    (
        "applications/detail.html",
        include_str!("../templates/applications/detail.html"),
    ),
    (
        "applications/messages.html",
        include_str!("../templates/applications/messages.html"),
    ),
];

/// The routes of these pages.
pub fn routes() -> axum::Router<PortalState> {
    axum::Router::new()
        .route("/products/{id}/apply", get(apply_form).post(apply))
        .route(LIST, get(list))
        .route("/user/applications/{id}", get(show))
        .route("/user/applications/{id}/{step}", post(step))
        .route(MESSAGES, get(messages))
        .route("/user/messages/read", post(read_all))
        .route("/user/messages/{id}", get(open))
}

/// The notices after a redirect (`?ok=`).
const NOTICES: &[(&str, &str, &str)] = &[
    (
        "applied",
        "success",
        "申请已提交，金融机构将在线答复，进展会以站内消息通知您。",
    ),
    ("accept", "success", "已受理该申请，企业将收到通知。"),
    ("more", "success", "已通知企业补充材料。"),
    ("refuse", "success", "已拒绝该申请，企业将收到理由。"),
    ("disburse", "success", "已登记放款。"),
    (
        "supplement",
        "success",
        "已补充材料，申请已重新提交给金融机构。",
    ),
    ("withdraw", "success", "已撤回该申请。"),
    ("read", "success", "已将全部消息标为已读。"),
    ("assigned", "success", "已分配经办人。"),
];

/// The name of a step's text field in its form: each form on the page has its own, so that
/// every field has its own id and label.
fn text_field(step: Step) -> &'static str {
    match step {
        Step::Accept => "remark",
        Step::More => "missing",
        Step::Refuse => "reason",
        Step::Supplement => "supplement",
        Step::Disburse | Step::Withdraw => "text",
    }
}

fn check(state: &PortalState, me: &Signed, f: &FormData) -> Result<(), ApiError> {
    form::check(&state.platform.keys, "user", &me.cookie, f)
}

async fn member(state: &PortalState, me: &Signed) -> Result<Member, ApiError> {
    Ok(state
        .market
        .member(me.account_id(), &me.session.account.display_name)
        .await?)
}

fn status_kind(s: ApplicationStatus) -> &'static str {
    match s {
        ApplicationStatus::Accepted | ApplicationStatus::Disbursed => "ok",
        ApplicationStatus::Submitted | ApplicationStatus::MoreNeeded => "warn",
        ApplicationStatus::Refused => "bad",
        ApplicationStatus::Withdrawn => "muted",
    }
}

fn application_json(a: &Application) -> Value {
    json!({
        "id": a.id,
        "href": market::applications::application_link(&a.id),
        "product_name": a.product_name,
        "product_href": format!("/products/{}", a.product_id),
        "institution": a.inst_org_name,
        "enterprise": a.org_name,
        "contact_name": a.contact_name,
        "contact_phone": a.contact_phone,
        "amount": market::money::show_fen(a.amount_fen),
        "term": format!("{} 个月", a.term_months),
        "purpose": a.purpose,
        "note": a.note,
        "status": a.status.as_str(),
        "status_label": a.status.label_zh(),
        "status_kind": status_kind(a.status),
        "answer": a.answer,
        "disbursed": a.disbursed_fen.map(market::money::show_fen),
        "disbursed_on": a.disbursed_on,
        "handler": a.handler_name,
        "created_at": view::time(a.created_at),
        "updated_at": view::time(a.updated_at),
    })
}

fn product_json(p: &Product) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "org_name": p.org_name,
        "href": format!("/products/{}", p.id),
        "amount": format!("{} 至 {}", market::money::show_fen(p.amount_min_fen), market::money::show_fen(p.amount_max_fen)),
        "term": format!("{} 至 {} 个月", p.term_min_months, p.term_max_months),
    })
}

/// A refusal the form shows: field errors, or a message about the state; anything else is
/// the error page.
fn refusal(e: MarketError) -> Result<(FieldErrors, Option<String>), ApiError> {
    crate::editing::market_refusal(&e).ok_or_else(|| e.into())
}

// ---- applying ---------------------------------------------------------------------------------

fn typed(f: &FormData) -> ApplicationForm {
    ApplicationForm {
        amount: f.get("amount").to_owned(),
        term: f.get("term").to_owned(),
        purpose: f.get("purpose").to_owned(),
        contact_name: f.get("contact_name").to_owned(),
        contact_phone: f.get("contact_phone").to_owned(),
        note: f.get("note").to_owned(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply_page(
    state: &PortalState,
    viewer: &Viewer,
    p: &Product,
    org_name: &str,
    form: &ApplicationForm,
    errors: &FieldErrors,
    conflict: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let b = base(state, &format!("申请 · {}", p.name), "/products", viewer);
    Ok(state.platform.web.page_status(
        status,
        "applications/apply.html",
        &b,
        json!({
            "product": product_json(p),
            "enterprise": org_name,
            "form": form,
            "errors": errors.map(),
            "conflict": conflict,
            "action": format!("/products/{}/apply", p.id),
        }),
    ))
}

/// The member, if an enterprise's; otherwise the page that says who may apply.
async fn enterprise(state: &PortalState, me: &Signed) -> Result<Member, ApiError> {
    let m = member(state, me).await?;
    m.enterprise()?;
    Ok(m)
}

/// `GET /products/{id}/apply`: the application form, pre-filled from the account and company.
pub async fn apply_form(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("/products/{id}/apply")));
    };
    let p = state.market.public_product(&id).await?;
    let m = enterprise(&state, me).await?;
    let org = state.orgs.get(m.scope.org_id()).await?;
    let form = ApplicationForm {
        contact_name: org
            .contact_name
            .clone()
            .unwrap_or_else(|| me.session.account.display_name.clone()),
        contact_phone: org.contact_phone.clone().unwrap_or_default(),
        term: p.term_min_months.to_string(),
        ..ApplicationForm::default()
    };
    apply_page(
        &state,
        &viewer,
        &p,
        &org.name,
        &form,
        &FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /products/{id}/apply`.
pub async fn apply(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("/products/{id}/apply")));
    };
    check(&state, me, &f)?;
    let m = enterprise(&state, me).await?;
    let form = typed(&f);
    match state.market.apply(&m, &id, &form, &ctx).await {
        Ok(a) => Ok(see_other(&format!("{LIST}/{}?ok=applied", a.id))),
        Err(e) => {
            let p = state.market.public_product(&id).await?;
            let org = state.orgs.get(m.scope.org_id()).await?;
            let (errors, conflict) = refusal(e)?;
            let status = if conflict.is_some() {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            apply_page(
                &state, &viewer, &p, &org.name, &form, &errors, conflict, status,
            )
            .await
        }
    }
}

// ---- the lists and the detail ---------------------------------------------------------------

/// `GET /user/applications?status=&page=`: an enterprise's applications, an institution's
/// received ones.
pub async fn list(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(LIST));
    };
    let m = member(&state, me).await?;
    let query = ListQuery::parse(q.as_deref());
    let status = query.get("status").and_then(ApplicationStatus::parse);
    let institution = m.scope.kind() == OrgKind::Institution;
    let mine_only = institution && query.get("mine") == Some("1");
    let paged = state
        .market
        .applications(&m, status, mine_only, query.page(Page::DEFAULT_SIZE))
        .await?;
    let tabs: Vec<Value> = std::iter::once((None, "全部"))
        .chain(
            ApplicationStatus::ALL
                .iter()
                .map(|s| (Some(*s), s.label_zh())),
        )
        .map(|(s, label)| {
            json!({
                "label": label,
                "href": s.map_or_else(|| LIST.to_owned(), |s| format!("{LIST}?status={}", s.as_str())),
                "current": s == status && !mine_only,
            })
        })
        .chain(institution.then(|| {
            json!({ "label": "分配给我的", "href": format!("{LIST}?mine=1"), "current": mine_only })
        }))
        .collect();
    let keep = status.map(ApplicationStatus::as_str).unwrap_or("");
    let page = pager(
        &paged,
        LIST,
        &[("status", keep), ("mine", if mine_only { "1" } else { "" })],
    );
    let title = if institution {
        "收到的产品申请"
    } else {
        "我的产品申请"
    };
    let empty = match (institution, status.is_some()) {
        (_, true) => "没有该状态的申请。",
        (true, false) => "暂未收到产品申请。企业在“金融产品”中申请贵机构的产品后会显示在这里。",
        (false, false) => "您还没有申请过金融产品。可在“金融产品”栏目中挑选产品在线申请。",
    };
    let b = base(&state, title, "/user", &viewer);
    Ok(state.platform.web.page(
        "applications/list.html",
        &b,
        json!({
            "title": title,
            "institution": institution,
            "items": paged.items.iter().map(application_json).collect::<Vec<_>>(),
            "tabs": tabs,
            "page": page,
            "empty": empty,
        }),
    ))
}

/// What a refused step form shows: the step, what was typed, the errors or the conflict.
#[derive(Default)]
struct Typed {
    step: Option<Step>,
    form: StepForm,
    errors: FieldErrors,
    conflict: Option<String>,
}

async fn detail_page(
    state: &PortalState,
    viewer: &Viewer,
    m: &Member,
    id: &str,
    typed: Typed,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let a = state.market.application(m, id).await?;
    let events = state.market.application_events(m, id).await?;
    let institution = a.inst_org_id == m.scope.org_id();
    let none = FieldErrors::default();
    let steps: Vec<Value> = Step::ALL
        .iter()
        .filter(|s| s.by_institution() == institution && a.status.allows(**s))
        .map(|s| {
            let mine = typed.step == Some(*s);
            json!({
                "step": s.as_str(),
                "label": step_label(*s),
                "action": format!("{LIST}/{id}/{}", s.as_str()),
                "field": text_field(*s),
                "text": if mine { typed.form.text.clone() } else { String::new() },
                "amount": if mine { typed.form.amount.clone() } else { String::new() },
                "date": if mine { typed.form.date.clone() } else { String::new() },
                "errors": if mine { typed.errors.map() } else { none.map() },
            })
        })
        .collect();
    let in_progress = ApplicationStatus::IN_PROGRESS.contains(&a.status);
    let assignees: Vec<Value> = if institution && in_progress && m.scope.is_main() {
        state
            .market
            .assignees(m)
            .await?
            .into_iter()
            .map(|(value, label)| json!({ "value": value, "label": label }))
            .collect()
    } else {
        Vec::new()
    };
    let history: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "at": view::time(e.at),
                "label": e.action_label,
                "detail": e.detail,
            })
        })
        .collect();
    let mut b = base(
        state,
        &format!("产品申请 · {}", a.product_name),
        "/user",
        viewer,
    );
    b.flash = flash(notice, NOTICES);
    Ok(state.platform.web.page_status(
        status,
        "applications/detail.html",
        &b,
        json!({
            "application": application_json(&a),
            "institution": institution,
            "assignees": assignees,
            "steps": steps,
            "history": history,
            "conflict": typed.conflict,
        }),
    ))
}

/// `GET /user/applications/{id}`: either side's view, with the steps its state allows.
pub async fn show(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{LIST}/{id}")));
    };
    let m = member(&state, me).await?;
    let query = ListQuery::parse(q.as_deref());
    detail_page(
        &state,
        &viewer,
        &m,
        &id,
        Typed::default(),
        query.get("ok"),
        StatusCode::OK,
    )
    .await
}

/// `POST /user/applications/{id}/{step}`.
pub async fn step(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    Path((id, step)): Path<(String, String)>,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{LIST}/{id}")));
    };
    check(&state, me, &f)?;
    let m = member(&state, me).await?;
    if step == "assign" {
        return match state
            .market
            .assign(
                &m,
                market::Assignable::Application(&id),
                f.get("account"),
                &ctx,
            )
            .await
        {
            Ok(_) => Ok(see_other(&format!("{LIST}/{id}?ok=assigned"))),
            Err(e) => {
                let (errors, conflict) = refusal(e)?;
                let conflict =
                    conflict.or_else(|| errors.map().get("account").map(ToString::to_string));
                let typed = Typed {
                    conflict,
                    ..Typed::default()
                };
                detail_page(
                    &state,
                    &viewer,
                    &m,
                    &id,
                    typed,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
        };
    }
    let Some(step) = Step::parse(&step) else {
        return Err(ApiError::new(ErrorCode::NotFound, "no such step"));
    };
    let form = StepForm {
        text: f.get(text_field(step)).to_owned(),
        amount: f.get("amount").to_owned(),
        date: f.get("date").to_owned(),
        account: String::new(),
    };
    match state
        .market
        .application_step(&m, &id, step, &form, &ctx)
        .await
    {
        Ok(_) => Ok(see_other(&format!("{LIST}/{id}?ok={}", step.as_str()))),
        Err(e) => {
            let (errors, conflict) = refusal(e)?;
            let status = if conflict.is_some() {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let typed = Typed {
                step: Some(step),
                form,
                errors,
                conflict,
            };
            detail_page(&state, &viewer, &m, &id, typed, None, status).await
        }
    }
}

// ---- messages ---------------------------------------------------------------------------------

/// `GET /user/messages?unread=1&page=`: the member's messages, newest first.
pub async fn messages(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(MESSAGES));
    };
    let m = member(&state, me).await?;
    let query = ListQuery::parse(q.as_deref());
    let unread_only = query.get("unread") == Some("1");
    let inbox = state
        .market
        .inbox(&m, unread_only, query.page(Page::DEFAULT_SIZE))
        .await?;
    let items: Vec<Value> = inbox
        .messages
        .items
        .iter()
        .map(|x| {
            json!({
                "subject": x.subject,
                "body": x.body,
                "at": view::time(x.created_at),
                "read": x.read,
                "href": format!("{MESSAGES}/{}", x.id),
            })
        })
        .collect();
    let page = pager(
        &inbox.messages,
        MESSAGES,
        &[("unread", if unread_only { "1" } else { "" })],
    );
    let mut b = base(&state, "站内消息", "/user", &viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "applications/messages.html",
        &b,
        json!({
            "unread": inbox.unread,
            "unread_only": unread_only,
            "items": items,
            "page": page,
            "empty": if unread_only { "没有未读消息。" } else { "暂无消息。产品申请、融资需求办理中的每一步都会在这里通知您。" },
        }),
    ))
}

/// `GET /user/messages/{id}`: opens a message (marks it read) and goes to what it is about.
pub async fn open(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(MESSAGES));
    };
    let m = member(&state, me).await?;
    let msg = state.market.open_message(&m, &id).await?;
    Ok(see_other(msg.link.as_deref().unwrap_or(MESSAGES)))
}

/// `POST /user/messages/read`: marks every message read.
pub async fn read_all(
    State(state): State<PortalState>,
    viewer: Viewer,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(MESSAGES));
    };
    check(&state, me, &f)?;
    let m = member(&state, me).await?;
    state.market.mark_read(&m, None).await?;
    Ok(see_other(&format!("{MESSAGES}?ok=read")))
}
