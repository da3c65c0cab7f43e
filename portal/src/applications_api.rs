//! JSON endpoints of product applications, in-site messages and the feedback deadlines — the
//! same `market` functions the pages call (`applications.rs`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use market::{
    Application, ApplicationEvent, ApplicationForm, ApplicationStatus, Deadline, Inbox,
    InstitutionProfile, Member, Message, Step, StepForm,
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

/// Behind the cross-origin guard: members of organisations and operators.
pub fn protected_routes() -> OpenApiRouter<PortalState> {
    OpenApiRouter::new()
        .routes(routes!(apply))
        .routes(routes!(my_applications))
        .routes(routes!(my_application))
        .routes(routes!(application_step))
        .routes(routes!(my_messages))
        .routes(routes!(read_message))
        .routes(routes!(read_all))
        .routes(routes!(deadlines))
        .routes(routes!(set_deadline))
        .routes(routes!(run_reminders))
        .routes(routes!(my_institution, set_my_institution))
        .routes(routes!(held_ratings))
        .routes(routes!(review_rating))
}

async fn member(state: &PortalState, viewer: Viewer) -> Result<Member, ApiError> {
    let me = signed(viewer)?;
    Ok(state
        .market
        .member(me.account_id(), &me.session.account.display_name)
        .await?)
}

/// Applies for a listed product (an enterprise's member).
#[utoipa::path(post, path = "/api/products/{id}/applications", tag = "market",
    params(("id" = String, Path)), request_body = ApplicationForm,
    responses((status = 201, body = Application),
        (status = 403, description = "market.forbidden: not an enterprise's member", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "market.not_found: no such listed product", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "market.state_conflict: an application for it is in progress", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed (amount, term, purpose, contact_name, contact_phone, note) or content.sensitive_words", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn apply(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
    JsonBody(form): JsonBody<ApplicationForm>,
) -> Result<Response, ApiError> {
    let m = member(&state, viewer).await?;
    let a = state.market.apply(&m, &id, &form, &ctx).await?;
    Ok((StatusCode::CREATED, axum::Json(a)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationsQuery {
    /// `submitted`, `more_needed`, `accepted`, `refused`, `disbursed`, `withdrawn`.
    pub status: Option<String>,
    /// An institution's member: only those assigned to the member (经办人).
    pub mine: Option<bool>,
    pub page: Option<u32>,
    pub size: Option<u32>,
}

fn page(page: Option<u32>, size: Option<u32>) -> Page {
    Page::new(page.unwrap_or(1), size.unwrap_or(Page::DEFAULT_SIZE))
}

/// The organisation's applications: an enterprise's own, an institution's received.
#[utoipa::path(get, path = "/api/me/applications", tag = "market", params(ApplicationsQuery),
    responses((status = 200, body = Paged<Application>),
        (status = 400, description = "request.invalid_query (status)", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn my_applications(
    State(state): State<PortalState>,
    viewer: Viewer,
    QueryParams(q): QueryParams<ApplicationsQuery>,
) -> Result<axum::Json<Paged<Application>>, ApiError> {
    let m = member(&state, viewer).await?;
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ApplicationStatus::parse(s).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidQuery,
                "status: unknown application status",
            )
        })?),
    };
    Ok(axum::Json(
        state
            .market
            .applications(&m, status, q.mine.unwrap_or(false), page(q.page, q.size))
            .await?,
    ))
}

/// An application with its history.
#[derive(Serialize, ToSchema)]
pub struct ApplicationDetail {
    pub application: Application,
    pub history: Vec<ApplicationEvent>,
}

/// One of the organisation's applications (either side's), with its history.
#[utoipa::path(get, path = "/api/me/applications/{id}", tag = "market", params(("id" = String, Path)),
    responses((status = 200, body = ApplicationDetail), (status = 404, description = "market.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn my_application(
    State(state): State<PortalState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<ApplicationDetail>, ApiError> {
    let m = member(&state, viewer).await?;
    Ok(axum::Json(ApplicationDetail {
        application: state.market.application(&m, &id).await?,
        history: state.market.application_events(&m, &id).await?,
    }))
}

/// A step: the institution's `accept` (`text`: a remark), `more` (`text`: what is missing),
/// `refuse` (`text`: the reason), `disburse` (`amount` 万元, `date` YYYY-MM-DD); the
/// enterprise's `supplement` (`text`) and `withdraw` (`{}`); the institution's main account
/// `assign`s it to a member (`account`).
#[utoipa::path(post, path = "/api/me/applications/{id}/{step}", tag = "market",
    params(("id" = String, Path), ("step" = String, Path)), request_body = StepForm,
    responses((status = 200, body = Application),
        (status = 403, description = "market.forbidden: the other side's step", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "market.not_found", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "market.state_conflict", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed (text, amount, date)", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn application_step(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    PathParams((id, step)): PathParams<(String, String)>,
    JsonBody(form): JsonBody<StepForm>,
) -> Result<axum::Json<Application>, ApiError> {
    let m = member(&state, viewer).await?;
    if step == "assign" {
        state
            .market
            .assign(
                &m,
                market::Assignable::Application(&id),
                &form.account,
                &ctx,
            )
            .await?;
        return Ok(axum::Json(state.market.application(&m, &id).await?));
    }
    let step = Step::parse(&step).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "step: accept, more, refuse, disburse, supplement, withdraw or assign",
        )
    })?;
    Ok(axum::Json(
        state
            .market
            .application_step(&m, &id, step, &form, &ctx)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Only those the member has not opened.
    pub unread: Option<bool>,
    pub page: Option<u32>,
    pub size: Option<u32>,
}

/// The member's in-site messages, newest first, and the unread count.
#[utoipa::path(get, path = "/api/me/messages", tag = "market", params(MessagesQuery),
    responses((status = 200, body = Inbox)))]
pub async fn my_messages(
    State(state): State<PortalState>,
    viewer: Viewer,
    QueryParams(q): QueryParams<MessagesQuery>,
) -> Result<axum::Json<Inbox>, ApiError> {
    let m = member(&state, viewer).await?;
    Ok(axum::Json(
        state
            .market
            .inbox(&m, q.unread.unwrap_or(false), page(q.page, q.size))
            .await?,
    ))
}

/// Opens one message (marks it read for the member).
#[utoipa::path(post, path = "/api/me/messages/{id}/read", tag = "market", params(("id" = String, Path)),
    responses((status = 200, body = Message), (status = 404, description = "market.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn read_message(
    State(state): State<PortalState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Message>, ApiError> {
    let m = member(&state, viewer).await?;
    Ok(axum::Json(state.market.open_message(&m, &id).await?))
}

/// How many messages were marked read.
#[derive(Serialize, ToSchema)]
pub struct Marked {
    pub marked: u64,
}

/// Marks all the member's messages read.
#[utoipa::path(post, path = "/api/me/messages/read", tag = "market",
    responses((status = 200, body = Marked)))]
pub async fn read_all(
    State(state): State<PortalState>,
    viewer: Viewer,
) -> Result<axum::Json<Marked>, ApiError> {
    let m = member(&state, viewer).await?;
    Ok(axum::Json(Marked {
        marked: state.market.mark_read(&m, None).await?,
    }))
}

/// The feedback deadlines (时限规则).
#[utoipa::path(get, path = "/api/admin/market/deadlines", tag = "market",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<Deadline>)))]
pub async fn deadlines(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
) -> Result<axum::Json<Vec<Deadline>>, ApiError> {
    state
        .platform
        .admins
        .authorize(&p, platform::admin::Permission::MarketReview, &ctx)
        .await?;
    Ok(axum::Json(state.market.deadlines().await?))
}

/// A deadline's new number of hours (0: none).
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct DeadlineForm {
    #[schema(value_type = i64)]
    pub hours: serde_json::Value,
}

/// Changes a feedback deadline.
#[utoipa::path(put, path = "/api/admin/market/deadlines/{code}", tag = "market",
    security(("admin_session" = []), ("bearer" = [])), params(("code" = String, Path)), request_body = DeadlineForm,
    responses((status = 200, body = Deadline), (status = 404, description = "market.not_found", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed (hours)", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn set_deadline(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(code): PathParams<String>,
    JsonBody(form): JsonBody<DeadlineForm>,
) -> Result<axum::Json<Deadline>, ApiError> {
    let hours = match &form.hours {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    Ok(axum::Json(
        state.market.set_deadline(&p, &code, &hours, &ctx).await?,
    ))
}

/// How many reminders a run sent.
#[derive(Serialize, ToSchema)]
pub struct Reminded {
    pub sent: u64,
}

/// Runs the overdue-feedback reminders now (they also run every minute on every node).
#[utoipa::path(post, path = "/api/admin/market/reminders", tag = "market",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = Reminded)))]
pub async fn run_reminders(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
) -> Result<axum::Json<Reminded>, ApiError> {
    state
        .platform
        .admins
        .authorize(&p, platform::admin::Permission::MarketReview, &ctx)
        .await?;
    Ok(axum::Json(Reminded {
        sent: state.market.remind_overdue().await?,
    }))
}

/// The member's institution's marketplace profile (kind and logo).
#[utoipa::path(get, path = "/api/me/institution", tag = "market",
    responses((status = 200, body = InstitutionProfile), (status = 403, description = "market.forbidden: not an institution's member", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn my_institution(
    State(state): State<PortalState>,
    viewer: Viewer,
) -> Result<axum::Json<InstitutionProfile>, ApiError> {
    let m = member(&state, viewer).await?;
    m.institution()?;
    Ok(axum::Json(
        state.market.institution_profile(m.scope.org_id()).await?,
    ))
}

/// An institution's kind.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct KindForm {
    /// `bank`, `guarantee`, `microloan`, `insurance`, `securities`, `other`.
    pub kind: String,
}

/// The main account sets its institution's kind (the logo is uploaded on 机构中心).
#[utoipa::path(put, path = "/api/me/institution", tag = "market", request_body = KindForm,
    responses((status = 200, body = InstitutionProfile),
        (status = 403, description = "market.forbidden: not the main account of an institution", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed (kind)", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn set_my_institution(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    JsonBody(form): JsonBody<KindForm>,
) -> Result<axum::Json<InstitutionProfile>, ApiError> {
    let m = member(&state, viewer).await?;
    Ok(axum::Json(
        state
            .market
            .set_institution_kind(&m, &form.kind, &ctx)
            .await?,
    ))
}

/// Ratings whose comments wait for the operators (sensitive words, `content.sensitive_action =
/// "review"`), oldest first.
#[utoipa::path(get, path = "/api/admin/market/ratings", tag = "market",
    security(("admin_session" = []), ("bearer" = [])), params(ApplicationsQuery),
    responses((status = 200, body = Paged<market::HeldRating>)))]
pub async fn held_ratings(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    QueryParams(q): QueryParams<ApplicationsQuery>,
) -> Result<axum::Json<Paged<market::HeldRating>>, ApiError> {
    Ok(axum::Json(
        state
            .market
            .held_ratings(&p, page(q.page, q.size), &ctx)
            .await?,
    ))
}

/// An operator's decision on a held comment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentDecision {
    /// `publish` (shown from now on) or `remove` (the score stays, the comment goes).
    pub decision: String,
}

/// Publishes or removes a held rating comment.
#[utoipa::path(post, path = "/api/admin/market/ratings/{id}/review", tag = "market",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)), request_body = CommentDecision,
    responses((status = 204, description = "done"), (status = 404, description = "market.not_found: no such held comment", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed (decision)", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn review_rating(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<CommentDecision>,
) -> Result<Response, ApiError> {
    let publish = match body.decision.as_str() {
        "publish" => true,
        "remove" => false,
        _ => {
            return Err(
                ApiError::new(ErrorCode::ValidationFailed, "decision: publish or remove")
                    .field("decision", "请选择公开或删除。"),
            );
        }
    };
    state.market.review_rating(&p, &id, publish, &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
