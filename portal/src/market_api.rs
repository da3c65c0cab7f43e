//! The marketplace's JSON endpoints — the same `market` functions the pages call: the public
//! product list and product; an institution's products and the 需求市场 (anonymous demands,
//! 抢单, return, disbursement, deletion); an enterprise's demands, their recommended products
//! and the confirmation of the institution that took one; the operators' review.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use market::{
    Decision, DemandForm, DemandView, Market, MarketItem, Member, Points, Product, ProductFilter,
    ProductForm, ProductSort, Rating, money,
};
use platform::context::RequestContext;
use platform::http::auth::AdminAuth;
use platform::http::extract::{JsonBody, PathParams, QueryParams};
use platform::http::problem::{ApiError, ErrorCode, ProblemDocument};
use platform::paging::{Page, Paged};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::PortalState;
use crate::view::{Viewer, signed};

/// What anyone may read.
pub fn public_routes() -> OpenApiRouter<PortalState> {
    OpenApiRouter::new()
        .routes(routes!(products))
        .routes(routes!(product))
}

/// What members of organisations and operators do (behind the cross-origin guard).
pub fn protected_routes() -> OpenApiRouter<PortalState> {
    OpenApiRouter::new()
        .routes(routes!(my_products, create_product))
        .routes(routes!(product_step))
        .routes(routes!(my_demands, create_demand))
        .routes(routes!(my_demand))
        .routes(routes!(confirm_demand))
        .routes(routes!(market_list))
        .routes(routes!(market_demand))
        .routes(routes!(take))
        .routes(routes!(handle))
        .routes(routes!(review_product))
        .routes(routes!(review_demand))
        .routes(routes!(rate_as_enterprise))
        .routes(routes!(rate_as_institution))
        .routes(routes!(my_points))
}

async fn member(state: &PortalState, viewer: Viewer) -> Result<Member, ApiError> {
    let me = signed(viewer)?;
    Ok(state
        .market
        .member(me.account_id(), &me.session.account.display_name)
        .await?)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// `bank`, `guarantee`, `microloan`, `insurance`, `securities`, `other`.
    pub institution_kind: Option<String>,
    /// `debt` or `equity`.
    pub kind: Option<String>,
    /// A dictionary code of `guarantee_method` (`credit`, `mortgage` …).
    pub guarantee: Option<String>,
    /// `online`, `offline` (products offering both match either).
    pub loan_method: Option<String>,
    /// The amount wanted, 万元.
    pub amount: Option<String>,
    /// The highest annual rate accepted, %.
    pub rate: Option<String>,
    /// The term wanted, months.
    pub term: Option<i64>,
    pub q: Option<String>,
    /// `newest` (default), `rate`, `amount`, `term`.
    pub sort: Option<String>,
    pub page: Option<u32>,
    pub size: Option<u32>,
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Listed products, filtered.
#[utoipa::path(get, path = "/api/products", tag = "market", params(ProductQuery),
    responses((status = 200, body = Paged<Product>), (status = 400, description = "request.invalid_query (amount, rate)", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn products(
    State(state): State<PortalState>,
    QueryParams(q): QueryParams<ProductQuery>,
) -> Result<axum::Json<Paged<Product>>, ApiError> {
    let bad =
        |field: &str, e: String| ApiError::new(ErrorCode::InvalidQuery, format!("{field}: {e}"));
    let filter = ProductFilter {
        institution_kind: nonempty(q.institution_kind),
        kind: nonempty(q.kind),
        guarantee: nonempty(q.guarantee),
        loan_method: nonempty(q.loan_method),
        amount_fen: nonempty(q.amount)
            .map(|a| money::wan_to_fen(&a).map_err(|e| bad("amount", e)))
            .transpose()?,
        max_rate_bp: nonempty(q.rate)
            .map(|r| money::percent_to_bp(&r).map_err(|e| bad("rate", e)))
            .transpose()?,
        term_months: q.term,
        org_id: None,
        q: nonempty(q.q),
        sort: ProductSort::parse(q.sort.as_deref().unwrap_or("")),
    };
    let page = Page::new(q.page.unwrap_or(1), q.size.unwrap_or(Page::DEFAULT_SIZE));
    Ok(axum::Json(
        state.market.search_products(&filter, page).await?,
    ))
}

/// A listed product.
#[utoipa::path(get, path = "/api/products/{id}", tag = "market", params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, description = "market.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn product(
    State(state): State<PortalState>,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Product>, ApiError> {
    Ok(axum::Json(state.market.public_product(&id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub size: Option<u32>,
    /// The market: only demands one of the institution's products fits (`true`).
    pub matching: Option<bool>,
}

impl PageQuery {
    fn page(&self) -> Page {
        Page::new(
            self.page.unwrap_or(1),
            self.size.unwrap_or(Page::DEFAULT_SIZE),
        )
    }
}

/// The institution's own products, every status.
#[utoipa::path(get, path = "/api/me/products", tag = "market", params(PageQuery),
    responses((status = 200, body = Paged<Product>), (status = 403, description = "market.forbidden: not an institution's member", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn my_products(
    State(state): State<PortalState>,
    viewer: Viewer,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<axum::Json<Paged<Product>>, ApiError> {
    let m = member(&state, viewer).await?;
    Ok(axum::Json(state.market.products_of(&m, q.page()).await?))
}

/// A new product, saved as a draft (submit it for review with `…/submit`).
#[utoipa::path(post, path = "/api/me/products", tag = "market", request_body = ProductForm,
    responses((status = 201, body = Product), (status = 422, description = "validation.failed, with the fields", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn create_product(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    JsonBody(form): JsonBody<ProductForm>,
) -> Result<Response, ApiError> {
    let m = member(&state, viewer).await?;
    let p = state.market.save_product(&m, None, &form, &ctx).await?;
    Ok((StatusCode::CREATED, axum::Json(p)).into_response())
}

/// `submit` (for review), `unlist` (下架) or `delete` one of the institution's products.
#[utoipa::path(post, path = "/api/me/products/{id}/{step}", tag = "market",
    params(("id" = String, Path), ("step" = String, Path)),
    responses((status = 200, body = Product), (status = 204, description = "deleted"), (status = 409, description = "market.state_conflict", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn product_step(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    PathParams((id, step)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let m = member(&state, viewer).await?;
    let p = match step.as_str() {
        "submit" => state.market.submit_product(&m, &id, &ctx).await?,
        "unlist" => state.market.unlist_product(&m, &id, &ctx).await?,
        "delete" => {
            state.market.delete_product(&m, &id, &ctx).await?;
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "step: submit, unlist or delete",
            ));
        }
    };
    Ok(axum::Json(p).into_response())
}

/// A demand with what the enterprise sees about it.
#[derive(Serialize, ToSchema)]
pub struct MyDemand {
    pub demand: DemandView,
    pub history: Vec<market::DemandEvent>,
    /// The best listed products for it, best first, each with its score and reasons.
    pub recommended: Vec<Recommended>,
}

#[derive(Serialize, ToSchema)]
pub struct Recommended {
    pub product: Product,
    pub score: u32,
    pub reasons: Vec<String>,
}

/// The enterprise's demands.
#[utoipa::path(get, path = "/api/me/demands", tag = "market", params(PageQuery),
    responses((status = 200, body = Paged<DemandView>), (status = 403, description = "market.forbidden: not an enterprise's member", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn my_demands(
    State(state): State<PortalState>,
    viewer: Viewer,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<axum::Json<Paged<DemandView>>, ApiError> {
    let m = member(&state, viewer).await?;
    let paged = state.market.demands_of(&m, q.page()).await?;
    let mut items = Vec::with_capacity(paged.items.len());
    for d in &paged.items {
        items.push(state.market.demand_for(&m, &d.id).await?.1);
    }
    Ok(axum::Json(Paged {
        items,
        total: paged.total,
        page: paged.page,
        size: paged.size,
    }))
}

/// Publishes a demand: it goes to the operators' review, then into the market.
#[utoipa::path(post, path = "/api/me/demands", tag = "market", request_body = DemandForm,
    responses((status = 201, body = DemandView), (status = 422, description = "validation.failed or content.sensitive_words, with the fields", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn create_demand(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    JsonBody(form): JsonBody<DemandForm>,
) -> Result<Response, ApiError> {
    let m = member(&state, viewer).await?;
    let d = state.market.save_demand(&m, None, &form, &ctx).await?;
    let (_, v) = state.market.demand_for(&m, &d.id).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn my_demand_of(market: &Market, m: &Member, id: &str) -> Result<MyDemand, ApiError> {
    let (d, v) = market.demand_for(m, id).await?;
    let recommended = market
        .recommend(&d, 5)
        .await?
        .into_iter()
        .map(|(product, s)| Recommended {
            product,
            score: s.score,
            reasons: s.reasons,
        })
        .collect();
    Ok(MyDemand {
        demand: v,
        history: market.events(id).await?,
        recommended,
    })
}

/// One of the enterprise's demands, its history and its recommended products.
#[utoipa::path(get, path = "/api/me/demands/{id}", tag = "market", params(("id" = String, Path)),
    responses((status = 200, body = MyDemand), (status = 404, description = "market.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn my_demand(
    State(state): State<PortalState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<MyDemand>, ApiError> {
    let m = member(&state, viewer).await?;
    m.enterprise()?;
    Ok(axum::Json(my_demand_of(&state.market, &m, &id).await?))
}

/// The enterprise confirms the institution that took its demand (which then sees the
/// enterprise).
#[utoipa::path(post, path = "/api/me/demands/{id}/confirm", tag = "market", params(("id" = String, Path)),
    responses((status = 200, body = DemandView), (status = 409, description = "market.state_conflict", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn confirm_demand(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<DemandView>, ApiError> {
    let m = member(&state, viewer).await?;
    state.market.confirm(&m, &id, &ctx).await?;
    Ok(axum::Json(state.market.demand_for(&m, &id).await?.1))
}

/// The 需求市场 of an institution: open demands without the enterprise's identity, each with
/// the institution's best product for it.
#[utoipa::path(get, path = "/api/market/demands", tag = "market", params(PageQuery),
    responses((status = 200, body = Paged<MarketItem>), (status = 403, description = "market.forbidden: not an institution's member", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn market_list(
    State(state): State<PortalState>,
    viewer: Viewer,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<axum::Json<Paged<MarketItem>>, ApiError> {
    let m = member(&state, viewer).await?;
    Ok(axum::Json(
        state
            .market
            .market(&m, q.matching.unwrap_or(false), q.page())
            .await?,
    ))
}

/// A demand as the institution sees it (anonymous unless it is the confirmed winner).
#[utoipa::path(get, path = "/api/market/demands/{id}", tag = "market", params(("id" = String, Path)),
    responses((status = 200, body = DemandView), (status = 404, description = "market.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn market_demand(
    State(state): State<PortalState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<DemandView>, ApiError> {
    let m = member(&state, viewer).await?;
    m.institution()?;
    Ok(axum::Json(state.market.demand_for(&m, &id).await?.1))
}

/// 抢单: of institutions taking the same demand at once, exactly one gets 200; the others get
/// 409 `market.already_taken`.
#[utoipa::path(post, path = "/api/market/demands/{id}/take", tag = "market", params(("id" = String, Path)),
    responses((status = 200, body = DemandView), (status = 409, description = "market.already_taken", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn take(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<DemandView>, ApiError> {
    let m = member(&state, viewer).await?;
    state.market.take(&m, &id, &ctx).await?;
    Ok(axum::Json(state.market.demand_for(&m, &id).await?.1))
}

/// What the institution holding a demand does with it.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct Handling {
    /// `return` and `delete`.
    pub reason: String,
    /// `disburse`: 万元.
    pub amount: String,
    /// `disburse`: `YYYY-MM-DD`.
    pub date: String,
    /// `assign` (the main account): the member's account id.
    pub account: String,
}

/// `return` (退回 to the market), `disburse` (放款) or `delete` a demand the institution holds;
/// `assign` it to one of the institution's members (the main account).
#[utoipa::path(post, path = "/api/market/demands/{id}/{step}", tag = "market",
    params(("id" = String, Path), ("step" = String, Path)), request_body = Handling,
    responses((status = 200, body = DemandView), (status = 409, description = "market.state_conflict", body = ProblemDocument, content_type = "application/problem+json"), (status = 422, description = "validation.failed (reason, amount, date)", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn handle(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    PathParams((id, step)): PathParams<(String, String)>,
    JsonBody(h): JsonBody<Handling>,
) -> Result<axum::Json<DemandView>, ApiError> {
    let m = member(&state, viewer).await?;
    match step.as_str() {
        "return" => state.market.give_back(&m, &id, &h.reason, &ctx).await?,
        "disburse" => {
            state
                .market
                .disburse(&m, &id, &h.amount, &h.date, &ctx)
                .await?
        }
        "delete" => state.market.close(&m, &id, &h.reason, &ctx).await?,
        "assign" => {
            state
                .market
                .assign(&m, market::Assignable::Demand(&id), &h.account, &ctx)
                .await?;
            return Ok(axum::Json(state.market.demand_for(&m, &id).await?.1));
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "step: return, disburse, delete or assign",
            ));
        }
    };
    Ok(axum::Json(state.market.demand_for(&m, &id).await?.1))
}

/// An operator's decision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketDecision {
    /// `approve` or `reject`.
    pub decision: String,
    /// Required when rejecting.
    #[serde(default)]
    pub reason: String,
}

impl MarketDecision {
    fn into_decision(self) -> Result<Decision, ApiError> {
        match self.decision.as_str() {
            "approve" => Ok(Decision::Approve),
            "reject" => Ok(Decision::Reject {
                reason: self.reason,
            }),
            _ => Err(
                ApiError::new(ErrorCode::ValidationFailed, "decision: approve or reject")
                    .field("decision", "请选择通过或驳回。"),
            ),
        }
    }
}

/// The operators approve (list) or reject a pending product.
#[utoipa::path(post, path = "/api/admin/market/products/{id}/review", tag = "market",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)), request_body = MarketDecision,
    responses((status = 200, body = Product), (status = 409, description = "market.state_conflict", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn review_product(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<MarketDecision>,
) -> Result<axum::Json<Product>, ApiError> {
    let decision = body.into_decision()?;
    Ok(axum::Json(
        state.market.review_product(&p, &id, decision, &ctx).await?,
    ))
}

/// The operators approve a pending demand into the market, or reject it.
#[utoipa::path(post, path = "/api/admin/market/demands/{id}/review", tag = "market",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)), request_body = MarketDecision,
    responses((status = 200, body = DemandView), (status = 409, description = "market.state_conflict", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn review_demand(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<MarketDecision>,
) -> Result<axum::Json<DemandView>, ApiError> {
    let decision = body.into_decision()?;
    state.market.review_demand(&p, &id, decision, &ctx).await?;
    Ok(axum::Json(
        state.market.demand_for_review(&p, &id, &ctx).await?.1,
    ))
}

/// A rating of the other side of an ended demand.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct RatingForm {
    /// 1 to 5 (a number or its text).
    #[schema(value_type = i64)]
    pub score: serde_json::Value,
    /// Up to 500 characters; may be empty.
    pub comment: String,
}

impl RatingForm {
    fn score(&self) -> String {
        match &self.score {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => String::new(),
        }
    }
}

async fn rate(
    state: &PortalState,
    viewer: Viewer,
    id: &str,
    form: &RatingForm,
    kind: orgs::OrgKind,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let m = member(state, viewer).await?;
    if m.scope.kind() != kind {
        return Err(ApiError::new(
            ErrorCode::MarketForbidden,
            "enterprises rate here under /api/me/demands, institutions under /api/market/demands",
        ));
    }
    let r = state
        .market
        .rate(&m, id, &form.score(), &form.comment, ctx)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(r)).into_response())
}

/// The enterprise rates the institution that handled its ended demand (disbursed, or deleted
/// by that institution), once.
#[utoipa::path(post, path = "/api/me/demands/{id}/rate", tag = "market", params(("id" = String, Path)), request_body = RatingForm,
    responses((status = 201, body = Rating), (status = 404, description = "market.not_found", body = ProblemDocument, content_type = "application/problem+json"), (status = 409, description = "market.state_conflict: not ended, or rated already", body = ProblemDocument, content_type = "application/problem+json"), (status = 422, description = "validation.failed (score, comment) or content.sensitive_words", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn rate_as_enterprise(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
    JsonBody(form): JsonBody<RatingForm>,
) -> Result<Response, ApiError> {
    rate(&state, viewer, &id, &form, orgs::OrgKind::Enterprise, &ctx).await
}

/// The institution rates the enterprise of an ended demand it held, once.
#[utoipa::path(post, path = "/api/market/demands/{id}/rate", tag = "market", params(("id" = String, Path)), request_body = RatingForm,
    responses((status = 201, body = Rating), (status = 404, description = "market.not_found", body = ProblemDocument, content_type = "application/problem+json"), (status = 409, description = "market.state_conflict: not ended, or rated already", body = ProblemDocument, content_type = "application/problem+json"), (status = 422, description = "validation.failed (score, comment) or content.sensitive_words", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn rate_as_institution(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
    JsonBody(form): JsonBody<RatingForm>,
) -> Result<Response, ApiError> {
    rate(&state, viewer, &id, &form, orgs::OrgKind::Institution, &ctx).await
}

/// The member's organisation's points: the balance (the ledger's sum) and a page of the
/// ledger, newest first.
#[utoipa::path(get, path = "/api/me/points", tag = "market", params(PageQuery),
    responses((status = 200, body = Points), (status = 403, description = "org.forbidden: no organisation", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn my_points(
    State(state): State<PortalState>,
    viewer: Viewer,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<axum::Json<Points>, ApiError> {
    let m = member(&state, viewer).await?;
    Ok(axum::Json(
        state.market.points(m.scope.org_id(), q.page()).await?,
    ))
}
