//! The content's JSON endpoints: published articles, one article, the full-text search and
//! (for administrators with `stats.read`) the traffic report — the same `cms` functions the
//! pages call.

use axum::extract::State;
use cms::search::{Found, SearchQuery};
use cms::stats::{Period, Report};
use cms::{Article, ArticleFilter, Page, Paged, Status, StoredFile, Summary};
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::auth::AdminAuth;
use platform::http::extract::{PathParams, QueryParams};
use platform::http::problem::{ApiError, ErrorCode, ProblemDocument};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::PortalState;
use crate::view::day_start;

/// The endpoints anyone may call.
pub fn public_routes() -> OpenApiRouter<PortalState> {
    OpenApiRouter::new()
        .routes(routes!(articles))
        .routes(routes!(article))
        .routes(routes!(search))
}

/// The endpoints of administrators.
pub fn admin_routes() -> OpenApiRouter<PortalState> {
    OpenApiRouter::new().routes(routes!(stats))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    /// A column or section id (`policy`, `policy-longyan`, `education`, `news`, `notice` …).
    pub column: Option<String>,
    pub tag: Option<String>,
    /// Published on or after this day (`yyyy-mm-dd`, Beijing time).
    pub from: Option<String>,
    /// Published on or before this day.
    pub to: Option<String>,
    pub page: Option<u32>,
    pub size: Option<u32>,
}

fn days(from: Option<&str>, to: Option<&str>) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let parse = |field: &str, v: Option<&str>| match v {
        None => Ok(None),
        Some(t) => day_start(t).map(Some).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidQuery,
                format!("{field}: expected yyyy-mm-dd"),
            )
        }),
    };
    Ok((
        parse("from", from)?,
        parse("to", to)?.map(|ms| ms + 86_400_000),
    ))
}

/// Published articles, newest first.
#[utoipa::path(get, path = "/api/articles", tag = "content",
    params(ArticleQuery),
    responses((status = 200, body = Paged<Summary>), (status = 400, description = "request.invalid_query", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn articles(
    State(state): State<PortalState>,
    QueryParams(q): QueryParams<ArticleQuery>,
) -> Result<axum::Json<Paged<Summary>>, ApiError> {
    let (from, until) = days(q.from.as_deref(), q.to.as_deref())?;
    let page = Page::new(q.page.unwrap_or(1), q.size.unwrap_or(Page::DEFAULT_SIZE));
    Ok(axum::Json(
        state
            .cms
            .list(
                &ArticleFilter {
                    status: Some(Status::Published),
                    column: q.column,
                    tag: q.tag,
                    from,
                    until,
                    ..ArticleFilter::default()
                },
                page,
            )
            .await?,
    ))
}

/// A published article with its files.
#[derive(Serialize, ToSchema)]
pub struct ArticleView {
    #[serde(flatten)]
    pub article: Article,
    pub files: Vec<StoredFile>,
}

/// One published article.
#[utoipa::path(get, path = "/api/articles/{id}", tag = "content",
    params(("id" = String, Path)),
    responses((status = 200, body = ArticleView), (status = 404, description = "content.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn article(
    State(state): State<PortalState>,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<ArticleView>, ApiError> {
    let article = state.cms.published(&id).await?;
    let files = state.cms.files_of(&id).await?;
    Ok(axum::Json(ArticleView { article, files }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The words searched (up to 100 characters).
    pub q: String,
    /// A column or section id.
    pub column: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<u32>,
    pub size: Option<u32>,
}

/// Full-text search of published content: every word must occur, title hits first; titles and
/// snippets highlighted with `<mark>` (the rest HTML-escaped).
#[utoipa::path(get, path = "/api/search", tag = "content",
    params(SearchParams),
    responses((status = 200, body = Found), (status = 503, description = "content.search_unavailable", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn search(
    State(state): State<PortalState>,
    QueryParams(q): QueryParams<SearchParams>,
) -> Result<axum::Json<Found>, ApiError> {
    let (from, until) = days(q.from.as_deref(), q.to.as_deref())?;
    let page = Page::new(q.page.unwrap_or(1), q.size.unwrap_or(Page::DEFAULT_SIZE)).normalised();
    let found = state.cms.search(&SearchQuery {
        q: q.q.chars().take(100).collect(),
        column: q.column,
        from,
        until,
        offset: usize::try_from(page.offset()).unwrap_or(0),
        limit: usize::try_from(page.limit()).unwrap_or(20),
    })?;
    Ok(axum::Json(found))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// `day` (the last 30 days, default), `month` (the last 12) or `year`.
    pub period: Option<String>,
}

/// The traffic report (page views, visitors, columns, referrers, search engines and terms,
/// entry and most visited pages).
#[utoipa::path(get, path = "/api/admin/stats", tag = "content",
    security(("admin_session" = []), ("bearer" = [])), params(StatsQuery),
    responses((status = 200, body = Report), (status = 403, description = "auth.forbidden", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn stats(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    QueryParams(q): QueryParams<StatsQuery>,
) -> Result<axum::Json<Report>, ApiError> {
    state
        .platform
        .admins
        .authorize(&p, Permission::StatsRead, &ctx)
        .await?;
    let period = match q.period.as_deref() {
        None => Period::Day,
        Some(t) => Period::parse(t)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "period: day, month or year"))?,
    };
    Ok(axum::Json(state.cms.report(period).await?))
}
