//! 金融市场审核: the operators' queues of products and financing demands waiting for review,
//! each with its page and the approve / reject-with-reason forms. The rules (who may review,
//! in which state, the reason) are the `market` service's; these pages show its answers and
//! keep the reason typed when it refuses.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use market::money::{bp_to_percent, show_fen};
use market::{Choices, Decision, DemandStatus, MarketError};
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::problem::ApiError;
use platform::paging::{Page, Paged};
use platform::web::form::{FieldErrors, FormData};
use platform::web::page::{flash, see_other};

use super::frame::{ConsoleAdmin, base};
use crate::state::PortalState;
use crate::view::{self, ListQuery, Pager};

const SECTION: &str = "/console/market";

const NOTICES: &[(&str, &str, &str)] = &[
    ("approved", "success", "已审核通过，产品已上架。"),
    ("opened", "success", "已审核通过，需求已进入需求市场。"),
    ("rejected", "success", "已驳回，提交方将看到驳回理由。"),
    (
        "rule_saved",
        "success",
        "积分规则已保存，此后的积分按新分值计算。",
    ),
    ("comment_published", "success", "评价内容已公开。"),
    ("comment_removed", "success", "评价内容已删除，评分保留。"),
    (
        "deadline_saved",
        "success",
        "时限规则已保存，提醒任务下次运行时按新时限判断。",
    ),
];

/// Reviewers see these pages; anybody else gets the 403 page (and its record).
async fn gate(
    state: &PortalState,
    admin: &ConsoleAdmin,
    ctx: &RequestContext,
) -> Result<(), ApiError> {
    admin.require(state, Permission::MarketReview, ctx).await
}

/// The pager of one of two lists on a page: its page number is the query key `key`, the other
/// list's page (`other`) is kept.
fn pager_of<T>(paged: &Paged<T>, key: &str, other: (&str, u32)) -> Pager {
    let pages = paged.pages();
    let href = |n: u32| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if other.1 > 1 {
            q.append_pair(other.0, &other.1.to_string());
        }
        if n > 1 {
            q.append_pair(key, &n.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            SECTION.to_owned()
        } else {
            format!("{SECTION}?{q}")
        }
    };
    Pager {
        number: paged.page,
        pages,
        total: paged.total,
        prev_href: (paged.page > 1).then(|| href(paged.page - 1)),
        next_href: (paged.page < pages).then(|| href(paged.page + 1)),
    }
}

fn page_number(query: &ListQuery, key: &str) -> u32 {
    query
        .get(key)
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn demand_status_kind(s: DemandStatus) -> &'static str {
    match s {
        DemandStatus::Pending | DemandStatus::Taken => "warn",
        DemandStatus::Open | DemandStatus::Confirmed | DemandStatus::Disbursed => "ok",
        DemandStatus::Rejected | DemandStatus::Deleted => "bad",
        DemandStatus::Withdrawn => "muted",
    }
}

/// `GET /console/market?pp=&dp=`: the two review queues and the points rules.
pub async fn list(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    gate(&state, &admin, &ctx).await?;
    let query = ListQuery::parse(q.as_deref());
    list_page(&state, &admin, &ctx, &query, None, StatusCode::OK).await
}

/// A refused change of a points rule or a deadline: which table, its code, what was typed,
/// the message.
struct RuleRefusal {
    table: &'static str,
    code: String,
    typed: String,
    message: String,
}

async fn list_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    ctx: &RequestContext,
    query: &ListQuery,
    refused: Option<RuleRefusal>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (pp, dp) = (page_number(query, "pp"), page_number(query, "dp"));
    let products = state
        .market
        .pending_products(&admin.principal, Page::new(pp, Page::DEFAULT_SIZE), ctx)
        .await?;
    let demands = state
        .market
        .pending_demands(&admin.principal, Page::new(dp, Page::DEFAULT_SIZE), ctx)
        .await?;
    let choices = state.market.choices().await?;
    let product_items: Vec<serde_json::Value> = products
        .items
        .iter()
        .map(|p| {
            serde_json::json!({
                "href": format!("{SECTION}/products/{}", p.id),
                "name": p.name,
                "org_name": p.org_name,
                "institution_kind_label": market::label(market::INSTITUTION_KINDS, &p.institution_kind),
                "amount": crate::products::amount_range(p),
                "held": !p.held_words.is_empty(),
                "updated_at": view::time(p.updated_at),
            })
        })
        .collect();
    let demand_items: Vec<serde_json::Value> = demands
        .items
        .iter()
        .map(|d| {
            serde_json::json!({
                "href": format!("{SECTION}/demands/{}", d.id),
                "org_name": d.org_name,
                "amount": show_fen(d.amount_fen),
                "term": format!("{} 个月", d.term_months),
                "max_rate": format!("{}%", bp_to_percent(d.max_rate_bp)),
                "guarantee": Choices::label(&choices.guarantee, &d.guarantee),
                "held": !d.held_words.is_empty(),
                "updated_at": view::time(d.updated_at),
            })
        })
        .collect();
    // One row of a settings table (points rules, deadlines): its value as stored, or as typed
    // with the refusal beside it.
    let row = |table: &str, code: &str, label: &str, value: i64, updated_at: Option<i64>| {
        let mine = refused
            .as_ref()
            .filter(|x| x.table == table && x.code == code);
        serde_json::json!({
            "code": code,
            "label": label,
            "value": mine.map_or_else(|| value.to_string(), |x| x.typed.clone()),
            "error": mine.map(|x| x.message.clone()),
            "updated_at": updated_at.map(view::time),
        })
    };
    let rules: Vec<serde_json::Value> = state
        .market
        .points_rules()
        .await?
        .iter()
        .map(|r| row("points", &r.code, &r.label_zh, r.points, r.updated_at))
        .collect();
    let deadlines: Vec<serde_json::Value> = state
        .market
        .deadlines()
        .await?
        .iter()
        .map(|d| row("deadline", &d.code, &d.label_zh, d.hours, d.updated_at))
        .collect();
    let held: Vec<serde_json::Value> = state
        .market
        .held_ratings(&admin.principal, Page::new(1, Page::MAX_SIZE), ctx)
        .await?
        .items
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "side": if r.from_side == "enterprise" { "企业对机构" } else { "机构对企业" },
                "score": r.score,
                "comment": r.comment,
                "words": r.held_words.join("、"),
                "at": view::time(r.created_at),
            })
        })
        .collect();
    let mut b = base(state, "金融市场审核", SECTION, admin);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page_status(
        status,
        "console/market.html",
        &b,
        serde_json::json!({
            "products": product_items,
            "products_page": pager_of(&products, "pp", ("dp", demands.page)),
            "demands": demand_items,
            "demands_page": pager_of(&demands, "dp", ("pp", products.page)),
            "products_empty": "没有待审核的金融产品。",
            "demands_empty": "没有待审核的融资需求。",
            "rules": rules,
            "deadlines": deadlines,
            "held_ratings": held,
        }),
    ))
}

/// `POST /console/market/rules`: changes how many points one rule gives (`code`, `points`).
pub async fn set_rule(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    let result = state
        .market
        .set_rule(&admin.principal, f.get("code"), f.get("points"), &ctx)
        .await
        .map(drop);
    setting_saved(
        &state,
        &admin,
        &ctx,
        &f,
        result,
        "points",
        "points",
        "rule_saved",
    )
    .await
}

/// `POST /console/market/deadlines`: changes a feedback deadline (`code`, `hours`).
pub async fn set_deadline(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    let result = state
        .market
        .set_deadline(&admin.principal, f.get("code"), f.get("hours"), &ctx)
        .await
        .map(drop);
    setting_saved(
        &state,
        &admin,
        &ctx,
        &f,
        result,
        "deadline",
        "hours",
        "deadline_saved",
    )
    .await
}

/// After a change of one row of a settings table (`table`: `points` or `deadline`, its value
/// in the form's `field`): back to the list, or the list with the row's refusal beside it.
#[allow(clippy::too_many_arguments)]
async fn setting_saved(
    state: &PortalState,
    admin: &ConsoleAdmin,
    ctx: &RequestContext,
    f: &FormData,
    result: Result<(), MarketError>,
    table: &'static str,
    field: &str,
    saved: &str,
) -> Result<Response, ApiError> {
    let Err(e) = result else {
        let anchor = if table == "points" {
            "points-rules"
        } else {
            "deadlines"
        };
        return Ok(see_other(&format!("{SECTION}?ok={saved}#{anchor}")));
    };
    let Some((status, errors, _)) = refusal(&e) else {
        return Err(e.into());
    };
    let message = errors
        .map()
        .get(field)
        .map(ToString::to_string)
        .unwrap_or_else(|| e.message_zh());
    let refused = RuleRefusal {
        table,
        code: f.get("code").to_owned(),
        typed: f.get(field).to_owned(),
        message,
    };
    list_page(
        state,
        admin,
        ctx,
        &ListQuery::default(),
        Some(refused),
        status,
    )
    .await
}

/// The review form's decision; an unknown one is a field error.
fn decision_of(f: &FormData) -> Result<Decision, MarketError> {
    match f.get("decision") {
        "approve" => Ok(Decision::Approve),
        "reject" => Ok(Decision::Reject {
            reason: f.get("reason").to_owned(),
        }),
        _ => Err(MarketError::field(
            "decision",
            "请选择审核结果：通过或驳回。",
        )),
    }
}

/// What a refused review shows: the field errors (422) or the message about the whole record
/// (409); `None` for anything else.
fn refusal(e: &MarketError) -> Option<(StatusCode, FieldErrors, Option<String>)> {
    let (errors, conflict) = crate::editing::market_refusal(e)?;
    let status = if conflict.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Some((status, errors, conflict))
}

/// The review page shown again after a refused decision, with the reason as typed; other
/// errors are the error page's.
fn refused_review(e: MarketError, f: &FormData) -> Result<Shown<'_>, ApiError> {
    let Some((status, errors, conflict)) = refusal(&e) else {
        return Err(e.into());
    };
    Ok(Shown {
        status,
        reason: f.get("reason"),
        errors,
        conflict,
        ok: None,
    })
}

/// What a page shows after a review, or the same page with the refusal.
struct Shown<'a> {
    status: StatusCode,
    reason: &'a str,
    errors: FieldErrors,
    conflict: Option<String>,
    ok: Option<&'a str>,
}

impl<'a> Shown<'a> {
    fn fresh(query: &'a ListQuery) -> Shown<'a> {
        Shown {
            status: StatusCode::OK,
            reason: "",
            errors: FieldErrors::default(),
            conflict: None,
            ok: query.get("ok"),
        }
    }
}

async fn product_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    ctx: &RequestContext,
    id: &str,
    shown: Shown<'_>,
) -> Result<Response, ApiError> {
    let p = state
        .market
        .product_for_review(&admin.principal, id, ctx)
        .await?;
    let choices = state.market.choices().await?;
    let mut b = base(state, &p.name, SECTION, admin);
    b.flash = flash(shown.ok, NOTICES);
    Ok(state.platform.web.page_status(
        shown.status,
        "console/market_product.html",
        &b,
        serde_json::json!({
            "product": crate::products::product_view(&p, &choices),
            "public_href": p.status.listed().then(|| format!("/products/{}", p.id)),
            "can_review": p.status.reviewable(),
            "reason": shown.reason,
            "errors": shown.errors.map(),
            "conflict": shown.conflict,
        }),
    ))
}

/// `GET /console/market/products/{id}`.
pub async fn product(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    gate(&state, &admin, &ctx).await?;
    let query = ListQuery::parse(q.as_deref());
    product_page(&state, &admin, &ctx, &id, Shown::fresh(&query)).await
}

/// `POST /console/market/products/{id}/review`: `decision=approve|reject`, `reason`.
pub async fn review_product(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    let outcome = match decision_of(&f) {
        Ok(d) => {
            let approve = matches!(d, Decision::Approve);
            state
                .market
                .review_product(&admin.principal, &id, d, &ctx)
                .await
                .map(|_| approve)
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(approve) => Ok(see_other(&format!(
            "{SECTION}/products/{id}?ok={}",
            if approve { "approved" } else { "rejected" }
        ))),
        Err(e) => product_page(&state, &admin, &ctx, &id, refused_review(e, &f)?).await,
    }
}

async fn demand_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    ctx: &RequestContext,
    id: &str,
    shown: Shown<'_>,
) -> Result<Response, ApiError> {
    let (d, v) = state
        .market
        .demand_for_review(&admin.principal, id, ctx)
        .await?;
    let events = state.market.events(id).await?;
    let choices = state.market.choices().await?;
    let mut b = base(state, "融资需求审核", SECTION, admin);
    b.flash = flash(shown.ok, NOTICES);
    Ok(state.platform.web.page_status(
        shown.status,
        "console/market_demand.html",
        &b,
        serde_json::json!({
            "demand": {
                "id": d.id,
                "status_label": d.status.label_zh(),
                "status_kind": demand_status_kind(d.status),
                "amount": show_fen(d.amount_fen),
                "term": format!("{} 个月", d.term_months),
                "max_rate": format!("{}%", bp_to_percent(d.max_rate_bp)),
                "guarantee": Choices::label(&choices.guarantee, &d.guarantee),
                "industry": Choices::label(&choices.industry, &d.industry),
                "region": Choices::label(&choices.region, &d.region),
                "purpose": d.purpose,
                "tags": d.tags.join("、"),
                "reject_reason": d.reject_reason,
                "held_words": d.held_words,
                "taker_org_name": d.taker_org_name,
                "created_at": view::time(d.created_at),
                "updated_at": view::time(d.updated_at),
            },
            "enterprise": v.enterprise.map(|e| serde_json::json!({
                "name": e.name,
                "uscc_masked": e.uscc_masked,
                "contact_name": e.contact_name,
                "contact_phone": platform::identity::mask_mobile(&e.contact_phone),
                "href": format!("/console/organisations/{}", e.org_id),
            })),
            "events": events.iter().map(|e| serde_json::json!({
                "at": view::time(e.at),
                "label": e.action_label,
                "detail": e.detail,
            })).collect::<Vec<_>>(),
            "can_review": d.status.reviewable(),
            "can_see_org": admin.principal.role.can(Permission::OrganisationsManage),
            "reason": shown.reason,
            "errors": shown.errors.map(),
            "conflict": shown.conflict,
        }),
    ))
}

/// `GET /console/market/demands/{id}`: operators see the enterprise behind the demand.
pub async fn demand(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    gate(&state, &admin, &ctx).await?;
    let query = ListQuery::parse(q.as_deref());
    demand_page(&state, &admin, &ctx, &id, Shown::fresh(&query)).await
}

/// `POST /console/market/demands/{id}/review`: `decision=approve|reject`, `reason`.
pub async fn review_demand(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    let outcome = match decision_of(&f) {
        Ok(d) => {
            let approve = matches!(d, Decision::Approve);
            state
                .market
                .review_demand(&admin.principal, &id, d, &ctx)
                .await
                .map(|_| approve)
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(approve) => Ok(see_other(&format!(
            "{SECTION}/demands/{id}?ok={}",
            if approve { "opened" } else { "rejected" }
        ))),
        Err(e) => demand_page(&state, &admin, &ctx, &id, refused_review(e, &f)?).await,
    }
}

/// `POST /console/market/ratings/{id}`: publishes (`decision=publish`) or removes a held
/// rating comment.
pub async fn review_rating(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    let publish = f.get("decision") == "publish";
    state
        .market
        .review_rating(&admin.principal, &id, publish, &ctx)
        .await?;
    Ok(see_other(&format!(
        "{SECTION}?ok={}#held-ratings",
        if publish {
            "comment_published"
        } else {
            "comment_removed"
        }
    )))
}
