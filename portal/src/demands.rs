//! 融资需求 and the 需求市场: the public explanation of the market; an enterprise's demands
//! (publish, change, withdraw, confirm the institution that took one, the products recommended
//! for it); an institution's market of anonymous open demands (抢单), the demands it holds and
//! its steps on them (return, disburse, delete). Every rule — who sees the enterprise, which
//! step a state allows, who wins a race — is the `market` service's; these pages show its
//! answers, keep what was typed when it refuses, and offer the steps the state suggests.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use market::matching::Match;
use market::{
    Choices, Demand, DemandEvent, DemandForm, DemandStatus, DemandView, MarketError, Member,
};
use orgs::{OrgKind, Page};
use platform::context::RequestContext;
use platform::http::problem::{ApiError, ErrorCode};
use platform::web::form::{self, FieldErrors, FormData};
use platform::web::page::{flash, see_other};
use platform::web::site::Flash;
use serde_json::{Value, json};

use crate::public::to_sign_in;
use crate::state::PortalState;
use crate::view::{self, ListQuery, Signed, Viewer, base, pager};

/// The enterprise's demands.
const MINE: &str = "/user/demands";
/// The institution's market.
const MARKET: &str = "/user/market";
/// The demands the institution holds.
const TAKEN: &str = "/user/market/mine";
/// The organisation's points ledger.
const POINTS: &str = "/user/points";

/// The templates of these pages, embedded.
pub const TEMPLATES: platform::web::templates::Sources = &[
    (
        "demands/public.html",
        include_str!("../templates/demands/public.html"),
    ),
    (
        "demands/mine.html",
        include_str!("../templates/demands/mine.html"),
    ),
    (
        "demands/fields.html",
        include_str!("../templates/demands/fields.html"),
    ),
    (
        "demands/new.html",
        include_str!("../templates/demands/new.html"),
    ),
    (
        "demands/detail.html",
        include_str!("../templates/demands/detail.html"),
    ),
    (
        "demands/market.html",
        include_str!("../templates/demands/market.html"),
    ),
    (
        "demands/taken.html",
        include_str!("../templates/demands/taken.html"),
    ),
    (
        "demands/handle.html",
        include_str!("../templates/demands/handle.html"),
    ),
    (
        "demands/rating.html",
        include_str!("../templates/demands/rating.html"),
    ),
    (
        "demands/points.html",
        include_str!("../templates/demands/points.html"),
    ),
];

/// The routes of these pages.
pub fn routes() -> axum::Router<PortalState> {
    axum::Router::new()
        .route("/demands", get(public))
        .route(MINE, get(mine))
        .route("/user/demands/new", get(new_form).post(create))
        .route("/user/demands/{id}", get(show))
        .route("/user/demands/{id}/{step}", post(step))
        .route(MARKET, get(market))
        .route(TAKEN, get(taken))
        .route("/user/market/{id}", get(handle))
        .route("/user/market/{id}/{step}", post(market_step))
        .route(POINTS, get(points))
}

/// The notices after a redirect (`?ok=`).
const NOTICES: &[(&str, &str, &str)] = &[
    (
        "created",
        "success",
        "融资需求已提交，平台审核通过后进入需求市场，由金融机构对接。",
    ),
    ("saved", "success", "已修改并重新提交平台审核。"),
    (
        "confirmed",
        "success",
        "已确认该机构。该机构现在可以看到贵企业的名称和联系方式，将与您联系。",
    ),
    ("withdrawn", "success", "已撤回该融资需求。"),
    (
        "taken",
        "success",
        "抢单成功。企业确认贵机构后，您将看到企业名称和联系方式。",
    ),
    (
        "returned",
        "success",
        "已退回该需求，它已重新进入需求市场。",
    ),
    ("disbursed", "success", "已登记放款。"),
    ("deleted", "success", "已删除该需求。"),
    ("rated", "success", "感谢您的评价，对方可以看到它。"),
    ("assigned", "success", "已分配经办人。"),
];

// ---- shared ---------------------------------------------------------------------------------

fn check(state: &PortalState, me: &Signed, f: &FormData) -> Result<(), ApiError> {
    form::check(&state.platform.keys, "user", &me.cookie, f)
}

async fn member(state: &PortalState, me: &Signed) -> Result<Member, ApiError> {
    Ok(state
        .market
        .member(me.account_id(), &me.session.account.display_name)
        .await?)
}

/// The member, refused (the error page) unless their organisation is of `kind`.
async fn member_of(state: &PortalState, me: &Signed, kind: OrgKind) -> Result<Member, ApiError> {
    let m = member(state, me).await?;
    if m.scope.kind() != kind {
        return Err(MarketError::Forbidden(if kind == OrgKind::Enterprise {
            "only enterprises' members publish financing demands"
        } else {
            "only financial institutions' staff use the demand market"
        })
        .into());
    }
    Ok(m)
}

/// The badge kind of a demand's status.
fn status_kind(s: DemandStatus) -> &'static str {
    match s {
        DemandStatus::Open | DemandStatus::Confirmed | DemandStatus::Disbursed => "ok",
        DemandStatus::Pending | DemandStatus::Taken => "warn",
        DemandStatus::Rejected => "bad",
        DemandStatus::Withdrawn | DemandStatus::Deleted => "muted",
    }
}

fn options(list: &[(String, String)]) -> Vec<Value> {
    list.iter()
        .map(|(c, l)| json!({ "value": c, "label": l }))
        .collect()
}

fn rate(bp: i64) -> String {
    format!("{}%", market::money::bp_to_percent(bp))
}

/// What every page shows of a demand, from what this viewer may see of it.
fn demand_json(v: &DemandView, choices: &Choices) -> Value {
    json!({
        "id": v.id,
        "status": v.status.as_str(),
        "status_label": v.status.label_zh(),
        "status_kind": status_kind(v.status),
        "amount": market::money::show_fen(v.amount_fen),
        "term": format!("{} 个月", v.term_months),
        "max_rate": rate(v.max_rate_bp),
        "guarantee": Choices::label(&choices.guarantee, &v.guarantee),
        "industry": Choices::label(&choices.industry, &v.industry),
        "region": Choices::label(&choices.region, &v.region),
        "purpose": v.purpose,
        "tags": v.tags,
        "reject_reason": v.reject_reason,
        "taker": v.taker_org_name,
        "taken_at": v.taken_at.map(view::time),
        "disbursed": v.disbursed_fen.map(market::money::show_fen),
        "disbursed_on": v.disbursed_on,
        "closed_reason": v.closed_reason,
        "handler": v.handler_name,
        "created_at": view::time(v.created_at),
        "opened_at": v.opened_at.map(view::time),
        "revision": v.revision,
        "enterprise": v.enterprise.as_ref().map(|e| json!({
            "name": e.name,
            "uscc_masked": e.uscc_masked,
            "contact_name": e.contact_name,
            "contact_phone": e.contact_phone,
        })),
    })
}

fn history(events: &[DemandEvent]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            json!({
                "at": view::time(e.at),
                "label": e.action_label,
                "detail": e.detail,
            })
        })
        .collect()
}

fn match_json(m: &Match) -> Value {
    json!({
        "score": m.score,
        "reasons": m.reasons,
        "recommended": m.recommended(),
    })
}

/// What was typed into a refused 评价 form.
#[derive(Default)]
struct RatingTyped {
    score: String,
    comment: String,
    errors: FieldErrors,
}

/// The ratings of an ended demand and this side's form (`rating` in `demands/rating.html`).
async fn rating_json(
    state: &PortalState,
    m: &Member,
    id: &str,
    status: DemandStatus,
    action: String,
    typed: &RatingTyped,
) -> Result<Value, ApiError> {
    let ended = market::ratings::ended(status);
    let given = if ended {
        state.market.ratings_of_demand(m, id).await?
    } else {
        Vec::new()
    };
    let my_side = if m.scope.kind() == OrgKind::Enterprise {
        "enterprise"
    } else {
        "institution"
    };
    let can = ended && !given.iter().any(|r| r.from_side == my_side);
    let shown: Vec<Value> = given
        .iter()
        .map(|r| {
            let score = usize::try_from(r.score.clamp(0, 5)).unwrap_or(0);
            json!({
                "side_label": if r.from_side == "enterprise" { "企业对机构的评价" } else { "机构对企业的评价" },
                "score": r.score,
                "stars": format!("{}{}", "★".repeat(score), "☆".repeat(5 - score)),
                "comment": r.comment,
                "held": r.comment_held,
                "at": view::time(r.created_at),
            })
        })
        .collect();
    let scores: Vec<Value> = market::ratings::SCORES
        .iter()
        .map(|(v, l)| json!({ "value": v, "label": l, "selected": typed.score == v.to_string() }))
        .collect();
    Ok(json!({
        "ended": ended,
        "can": can,
        "action": action,
        "prompt": if my_side == "enterprise" { "请对办理该需求的金融机构作出评价。" } else { "请对该企业作出评价。" },
        "given": shown,
        "scores": scores,
        "typed": { "score": typed.score, "comment": typed.comment },
        "errors": typed.errors.map(),
    }))
}

/// A refusal a form shows next to its fields (`Some(errors)`), or as a notice about the
/// demand's state (`Err(message)`); anything else is the error page.
enum Refusal {
    Fields(FieldErrors),
    Conflict(String),
}

fn refusal(e: MarketError) -> Result<Refusal, ApiError> {
    let fields = e.fields();
    if !fields.is_empty() {
        return Ok(Refusal::Fields(fields.into_iter().collect()));
    }
    match e {
        MarketError::State { .. } | MarketError::Taken | MarketError::NotFound(..) => {
            Ok(Refusal::Conflict(e.message_zh()))
        }
        other => Err(other.into()),
    }
}

// ---- public ---------------------------------------------------------------------------------

/// `GET /demands`: how the market works and its figures; no demand is shown to the public.
pub async fn public(
    State(state): State<PortalState>,
    viewer: Viewer,
) -> Result<Response, ApiError> {
    let figures = state.figures().await?;
    let kind = viewer
        .0
        .as_ref()
        .and_then(|s| s.membership.as_ref())
        .map(|m| m.org.kind);
    let b = base(&state, "融资需求", "/demands", &viewer);
    Ok(state.platform.web.page(
        "demands/public.html",
        &b,
        json!({
            "open_demands": figures.open_demands,
            "products": figures.products,
            "financing": market::money::show_fen(figures.financing_fen),
            "is_enterprise": kind == Some(OrgKind::Enterprise),
            "is_institution": kind == Some(OrgKind::Institution),
            "signed_in": viewer.0.is_some(),
        }),
    ))
}

// ---- the enterprise -------------------------------------------------------------------------

/// `GET /user/demands`: the enterprise's demands, latest change first.
pub async fn mine(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(MINE));
    };
    let m = member(&state, me).await?;
    let query = ListQuery::parse(q.as_deref());
    let paged = state
        .market
        .demands_of(&m, query.page(Page::DEFAULT_SIZE))
        .await?;
    let choices = state.market.choices().await?;
    let items: Vec<Value> = paged
        .items
        .iter()
        .map(|d| {
            json!({
                "href": format!("{MINE}/{}", d.id),
                "amount": market::money::show_fen(d.amount_fen),
                "term": format!("{} 个月", d.term_months),
                "industry": Choices::label(&choices.industry, &d.industry),
                "purpose": view::excerpt(&d.purpose, 40),
                "status_label": d.status.label_zh(),
                "status_kind": status_kind(d.status),
                "taker": d.taker_org_name,
                "updated_at": view::time(d.updated_at),
            })
        })
        .collect();
    let page = pager(&paged, MINE, &[]);
    let mut b = base(&state, "我的融资需求", "/user", &viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "demands/mine.html",
        &b,
        json!({ "items": items, "page": page }),
    ))
}

/// The context of the demand form (`demands/fields.html`).
fn form_json(choices: &Choices, form: &DemandForm, errors: &FieldErrors, action: String) -> Value {
    json!({
        "form": form,
        "errors": errors.map(),
        "form_action": action,
        "guarantees": options(&choices.guarantee),
        "industries": options(&choices.industry),
        "regions": options(&choices.region),
    })
}

fn typed(f: &FormData) -> DemandForm {
    DemandForm {
        amount: f.get("amount").to_owned(),
        term: f.get("term").to_owned(),
        max_rate: f.get("max_rate").to_owned(),
        guarantee: f.get("guarantee").to_owned(),
        industry: f.get("industry").to_owned(),
        region: f.get("region").to_owned(),
        purpose: f.get("purpose").to_owned(),
        tags: f.get("tags").to_owned(),
        contact_name: f.get("contact_name").to_owned(),
        contact_phone: f.get("contact_phone").to_owned(),
    }
}

async fn new_page(
    state: &PortalState,
    viewer: &Viewer,
    form: &DemandForm,
    errors: &FieldErrors,
    conflict: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let choices = state.market.choices().await?;
    let b = base(state, "发布融资需求", "/user", viewer);
    let mut ctx = form_json(&choices, form, errors, format!("{MINE}/new"));
    ctx["conflict"] = json!(conflict);
    Ok(state
        .platform
        .web
        .page_status(status, "demands/new.html", &b, ctx))
}

/// `GET /user/demands/new`: the form, with the organisation's contact filled in.
pub async fn new_form(
    State(state): State<PortalState>,
    viewer: Viewer,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{MINE}/new")));
    };
    let m = member_of(&state, me, OrgKind::Enterprise).await?;
    let org = state.orgs.get(m.scope.org_id()).await?;
    let form = DemandForm {
        contact_name: org.contact_name.unwrap_or_default(),
        contact_phone: org.contact_phone.unwrap_or_default(),
        ..DemandForm::default()
    };
    new_page(
        &state,
        &viewer,
        &form,
        &FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /user/demands/new`: publishes the demand (to the operators' review first).
pub async fn create(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{MINE}/new")));
    };
    check(&state, me, &f)?;
    let m = member_of(&state, me, OrgKind::Enterprise).await?;
    let form = typed(&f);
    match state.market.save_demand(&m, None, &form, &ctx).await {
        Ok(d) => Ok(see_other(&format!("{MINE}/{}?ok=created", d.id))),
        Err(e) => match refusal(e)? {
            Refusal::Fields(errors) => {
                new_page(
                    &state,
                    &viewer,
                    &form,
                    &errors,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Refusal::Conflict(c) => {
                new_page(
                    &state,
                    &viewer,
                    &form,
                    &FieldErrors::default(),
                    Some(c),
                    StatusCode::CONFLICT,
                )
                .await
            }
        },
    }
}

/// The steps the enterprise may take in a state: the core's rules (`DemandStatus`), which the
/// service enforces; here they only choose the buttons shown.
fn may_edit(s: DemandStatus) -> bool {
    s.editable()
}

fn may_withdraw(s: DemandStatus) -> bool {
    s.withdrawable()
}

/// What the detail page shows after a refused step.
#[derive(Default)]
struct Outcome {
    form: Option<DemandForm>,
    errors: FieldErrors,
    conflict: Option<String>,
    rating: RatingTyped,
}

async fn detail_page(
    state: &PortalState,
    viewer: &Viewer,
    m: &Member,
    id: &str,
    outcome: Outcome,
    status: StatusCode,
    query: &ListQuery,
) -> Result<Response, ApiError> {
    let (d, v): (Demand, DemandView) = state.market.demand_for(m, id).await?;
    let choices = state.market.choices().await?;
    let events = state.market.events(id).await?;
    let recommended: Vec<Value> = state
        .market
        .recommend(&d, 5)
        .await?
        .iter()
        .map(|(p, s)| {
            json!({
                "name": p.name,
                "org_name": p.org_name,
                "href": format!("/products/{}", p.id),
                "amount": format!(
                    "{} – {}",
                    market::money::show_fen(p.amount_min_fen),
                    market::money::show_fen(p.amount_max_fen)
                ),
                "rate": format!("{} – {}", rate(p.rate_min_bp), rate(p.rate_max_bp)),
                "term": format!("{} – {} 个月", p.term_min_months, p.term_max_months),
                "match": match_json(s),
            })
        })
        .collect();
    let editable = may_edit(d.status);
    let form = outcome.form.unwrap_or_else(|| DemandForm::of(&d));
    let mut ctx = form_json(
        &choices,
        &form,
        &outcome.errors,
        format!("{MINE}/{}/save", d.id),
    );
    ctx["demand"] = demand_json(&v, &choices);
    ctx["contact"] = json!({ "name": d.contact_name, "phone": d.contact_phone });
    ctx["held_words"] = json!(d.held_words);
    ctx["events"] = json!(history(&events));
    ctx["recommended"] = json!(recommended);
    ctx["editable"] = json!(editable);
    ctx["can_confirm"] = json!(d.status.confirmable());
    ctx["can_withdraw"] = json!(may_withdraw(d.status));
    ctx["conflict"] = json!(outcome.conflict);
    ctx["rating"] = rating_json(
        state,
        m,
        id,
        d.status,
        format!("{MINE}/{id}/rate"),
        &outcome.rating,
    )
    .await?;
    let mut b = base(state, "融资需求详情", "/user", viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state
        .platform
        .web
        .page_status(status, "demands/detail.html", &b, ctx))
}

/// `GET /user/demands/{id}`.
pub async fn show(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{MINE}/{id}")));
    };
    let m = member_of(&state, me, OrgKind::Enterprise).await?;
    detail_page(
        &state,
        &viewer,
        &m,
        &id,
        Outcome::default(),
        StatusCode::OK,
        &ListQuery::parse(q.as_deref()),
    )
    .await
}

/// `POST /user/demands/{id}/{step}`: confirm (the institution that took it), withdraw, save
/// (a change, sent to review again).
pub async fn step(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    Path((id, step)): Path<(String, String)>,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{MINE}/{id}")));
    };
    check(&state, me, &f)?;
    let m = member_of(&state, me, OrgKind::Enterprise).await?;
    let mut kept = None;
    let mut rating = RatingTyped::default();
    let result = match step.as_str() {
        "rate" => {
            rating.score = f.get("score").to_owned();
            rating.comment = f.get("comment").to_owned();
            state
                .market
                .rate(&m, &id, &rating.score, &rating.comment, &ctx)
                .await
                .map(|_| "rated")
        }
        "confirm" => state
            .market
            .confirm(&m, &id, &ctx)
            .await
            .map(|_| "confirmed"),
        "withdraw" => state
            .market
            .withdraw(&m, &id, &ctx)
            .await
            .map(|_| "withdrawn"),
        "save" => {
            let form = typed(&f);
            let revision = f.get("revision").parse().unwrap_or(0);
            let r = state
                .market
                .save_demand(&m, Some((&id, revision)), &form, &ctx)
                .await
                .map(|_| "saved");
            kept = Some(form);
            r
        }
        _ => return Err(ApiError::new(ErrorCode::NotFound, "no such step")),
    };
    match result {
        Ok(done) => Ok(see_other(&format!("{MINE}/{id}?ok={done}"))),
        Err(e) => {
            let rating_step = step == "rate";
            let (outcome, status) = match refusal(e)? {
                Refusal::Fields(errors) if rating_step => (
                    Outcome {
                        form: kept,
                        rating: RatingTyped { errors, ..rating },
                        ..Outcome::default()
                    },
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Refusal::Fields(errors) => (
                    Outcome {
                        form: kept,
                        errors,
                        conflict: None,
                        rating,
                    },
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Refusal::Conflict(c) => (
                    Outcome {
                        form: kept,
                        errors: FieldErrors::default(),
                        conflict: Some(c),
                        rating,
                    },
                    StatusCode::CONFLICT,
                ),
            };
            detail_page(
                &state,
                &viewer,
                &m,
                &id,
                outcome,
                status,
                &ListQuery::default(),
            )
            .await
        }
    }
}

// ---- the institution ------------------------------------------------------------------------

async fn market_page(
    state: &PortalState,
    viewer: &Viewer,
    m: &Member,
    query: &ListQuery,
    notice: Option<Flash>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let matching = query.get("match") == Some("1");
    let paged = state
        .market
        .market(m, matching, query.page(Page::DEFAULT_SIZE))
        .await?;
    let choices = state.market.choices().await?;
    let items: Vec<Value> = paged
        .items
        .iter()
        .map(|i| {
            let mut d = demand_json(&i.demand, &choices);
            d["href"] = json!(format!("{MARKET}/{}", i.demand.id));
            d["best"] = json!(i.best.as_ref().map(|(name, s)| {
                let mut b = match_json(s);
                b["name"] = json!(name);
                b
            }));
            d
        })
        .collect();
    let page = pager(
        &paged,
        MARKET,
        &[("match", if matching { "1" } else { "" })],
    );
    let mut b = base(state, "需求市场", "/user", viewer);
    b.flash = notice.or_else(|| flash(query.get("ok"), NOTICES));
    Ok(state.platform.web.page_status(
        status,
        "demands/market.html",
        &b,
        json!({
            "items": items,
            "page": page,
            "matching": matching,
            "empty": if matching {
                "暂无与贵机构已上架产品匹配的需求。可查看全部需求，或在「我的金融产品」中完善产品。"
            } else {
                "需求市场中暂无待对接的融资需求。"
            },
        }),
    ))
}

/// `GET /user/market?match=1&page=`: open demands, anonymous, each with the institution's best
/// product for it.
pub async fn market(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(MARKET));
    };
    let m = member_of(&state, me, OrgKind::Institution).await?;
    let query = ListQuery::parse(q.as_deref());
    // `?late=1`: this institution lost a race (抢单) for a demand just before.
    let notice = (query.get("late") == Some("1")).then(|| Flash {
        kind: "error",
        text: MarketError::Taken.message_zh(),
    });
    market_page(&state, &viewer, &m, &query, notice, StatusCode::OK).await
}

/// `GET /user/market/mine`: the demands the institution holds.
pub async fn taken(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(TAKEN));
    };
    let m = member_of(&state, me, OrgKind::Institution).await?;
    let query = ListQuery::parse(q.as_deref());
    let mine_only = query.get("mine") == Some("1");
    let paged = state
        .market
        .demands_taken(&m, mine_only, query.page(Page::DEFAULT_SIZE))
        .await?;
    let choices = state.market.choices().await?;
    let items: Vec<Value> = paged
        .items
        .iter()
        .map(|v| {
            let mut d = demand_json(v, &choices);
            d["href"] = json!(format!("{MARKET}/{}", v.id));
            d
        })
        .collect();
    let page = pager(&paged, TAKEN, &[("mine", if mine_only { "1" } else { "" })]);
    let mut b = base(&state, "我的抢单", "/user", &viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "demands/taken.html",
        &b,
        json!({ "items": items, "page": page, "mine_only": mine_only }),
    ))
}

/// What the institution typed into a refused form, and which form it was.
#[derive(Default)]
struct Typed {
    step: String,
    reason: String,
    amount: String,
    date: String,
    errors: FieldErrors,
    conflict: Option<String>,
    rating: RatingTyped,
}

async fn handle_page(
    state: &PortalState,
    viewer: &Viewer,
    m: &Member,
    id: &str,
    typed: Typed,
    status: StatusCode,
    query: &ListQuery,
) -> Result<Response, ApiError> {
    // Only the view: the institution never reads the stored demand's enterprise fields.
    let (_, v) = state.market.demand_for(m, id).await?;
    let choices = state.market.choices().await?;
    let events = state.market.events(id).await?;
    let held = v.can_handle();
    // The main account assigns a demand it holds to one of the institution's members.
    let assignees: Vec<Value> = if held && m.scope.is_main() {
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
    let rating = rating_json(
        state,
        m,
        id,
        v.status,
        format!("{MARKET}/{id}/rate"),
        &typed.rating,
    )
    .await?;
    let mut b = base(state, "需求详情", "/user", viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page_status(
        status,
        "demands/handle.html",
        &b,
        json!({
            "demand": demand_json(&v, &choices),
            "mine": v.taken_by_viewer,
            "events": history(&events),
            "can_take": v.status.takeable(),
            "can_return": held,
            "can_delete": held,
            "can_disburse": v.can_disburse(),
            "awaiting_confirmation": v.awaiting_confirmation(),
            "assignees": assignees,
            "failed": typed.step,
            "typed": {
                "reason": typed.reason,
                "amount": typed.amount,
                "date": typed.date,
            },
            "errors": typed.errors.map(),
            "conflict": typed.conflict,
            "rating": rating,
        }),
    ))
}

/// `GET /user/market/{id}`: the demand as the institution sees it.
pub async fn handle(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{MARKET}/{id}")));
    };
    let m = member_of(&state, me, OrgKind::Institution).await?;
    handle_page(
        &state,
        &viewer,
        &m,
        &id,
        Typed::default(),
        StatusCode::OK,
        &ListQuery::parse(q.as_deref()),
    )
    .await
}

/// `POST /user/market/{id}/{step}`: take (抢单), return, disburse, delete.
pub async fn market_step(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    Path((id, step)): Path<(String, String)>,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{MARKET}/{id}")));
    };
    check(&state, me, &f)?;
    let m = member_of(&state, me, OrgKind::Institution).await?;
    if step == "take" {
        return match state.market.take(&m, &id, &ctx).await {
            Ok(_) => Ok(see_other(&format!("{MARKET}/{id}?ok=taken"))),
            Err(MarketError::Taken) => Ok(see_other(&format!("{MARKET}?late=1"))),
            Err(e) => match refusal(e)? {
                Refusal::Conflict(c) => {
                    let notice = Flash {
                        kind: "error",
                        text: c,
                    };
                    market_page(
                        &state,
                        &viewer,
                        &m,
                        &ListQuery::default(),
                        Some(notice),
                        StatusCode::CONFLICT,
                    )
                    .await
                }
                Refusal::Fields(_) => Err(ApiError::new(
                    ErrorCode::ValidationFailed,
                    "taking a demand has no fields",
                )),
            },
        };
    }
    let reason = f.get("reason");
    let result = match step.as_str() {
        "return" => state
            .market
            .give_back(&m, &id, reason, &ctx)
            .await
            .map(|_| format!("{TAKEN}?ok=returned")),
        "disburse" => state
            .market
            .disburse(&m, &id, f.get("amount"), f.get("date"), &ctx)
            .await
            .map(|_| format!("{MARKET}/{id}?ok=disbursed")),
        "delete" => state
            .market
            .close(&m, &id, reason, &ctx)
            .await
            .map(|_| format!("{MARKET}/{id}?ok=deleted")),
        "rate" => state
            .market
            .rate(&m, &id, f.get("score"), f.get("comment"), &ctx)
            .await
            .map(|_| format!("{MARKET}/{id}?ok=rated")),
        "assign" => state
            .market
            .assign(&m, market::Assignable::Demand(&id), f.get("account"), &ctx)
            .await
            .map(|_| format!("{MARKET}/{id}?ok=assigned")),
        _ => return Err(ApiError::new(ErrorCode::NotFound, "no such step")),
    };
    match result {
        Ok(to) => Ok(see_other(&to)),
        Err(e) => {
            let mut typed = Typed {
                step: step.clone(),
                reason: reason.to_owned(),
                amount: f.get("amount").to_owned(),
                date: f.get("date").to_owned(),
                ..Typed::default()
            };
            if step == "rate" {
                typed.rating.score = f.get("score").to_owned();
                typed.rating.comment = f.get("comment").to_owned();
            }
            let status = match refusal(e)? {
                Refusal::Fields(errors) if step == "rate" => {
                    typed.rating.errors = errors;
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                Refusal::Fields(errors) => {
                    typed.errors = errors;
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                Refusal::Conflict(c) => {
                    typed.conflict = Some(c);
                    StatusCode::CONFLICT
                }
            };
            handle_page(
                &state,
                &viewer,
                &m,
                &id,
                typed,
                status,
                &ListQuery::default(),
            )
            .await
        }
    }
}

// ---- points ---------------------------------------------------------------------------------

/// What a ledger entry refers to, for people, and where it leads (for this organisation).
fn reference(r: &str, kind: OrgKind) -> (String, Option<String>) {
    match r.split_once(':') {
        Some(("demand", id)) => (
            "融资需求".to_owned(),
            Some(if kind == OrgKind::Enterprise {
                format!("{MINE}/{id}")
            } else {
                format!("{MARKET}/{id}")
            }),
        ),
        Some(("product", id)) => (
            "金融产品".to_owned(),
            (kind == OrgKind::Institution).then(|| format!("/user/products/{id}")),
        ),
        Some(("application", id)) => (
            "产品申请".to_owned(),
            Some(market::applications::application_link(id)),
        ),
        _ => (r.to_owned(), None),
    }
}

/// `GET /user/points?page=`: the organisation's balance and its ledger, newest first.
pub async fn points(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(POINTS));
    };
    let m = member(&state, me).await?;
    let query = ListQuery::parse(q.as_deref());
    let p = state
        .market
        .points(m.scope.org_id(), query.page(Page::DEFAULT_SIZE))
        .await?;
    let org = state.orgs.get(m.scope.org_id()).await?;
    let kind = m.scope.kind();
    let items: Vec<Value> = p
        .entries
        .items
        .iter()
        .map(|e| {
            let (label, href) = reference(&e.reference, kind);
            json!({
                "at": view::time(e.at),
                "label": e.reason_label,
                "delta": if e.delta > 0 { format!("+{}", e.delta) } else { e.delta.to_string() },
                "reference_label": label,
                "href": href,
            })
        })
        .collect();
    let page = pager(&p.entries, POINTS, &[]);
    let b = base(&state, "积分明细", "/user", &viewer);
    Ok(state.platform.web.page(
        "demands/points.html",
        &b,
        json!({
            "org_name": org.name,
            "balance": p.balance,
            "items": items,
            "page": page,
        }),
    ))
}
