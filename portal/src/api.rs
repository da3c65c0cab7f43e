//! The portal's JSON endpoints: the signed-in account (`/api/me`), its organisation and
//! sub-accounts, the public institutions and figures, and the operators' management of
//! organisations. Each calls the same core function as the page that does the same thing.

use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use orgs::{
    Decision, MemberRole, MemberView, Membership, NewOrganisation, OrgFilter, OrgKind, OrgStatus,
    Organisation, Page, Paged,
};
use platform::Platform;
use platform::accounts::IdentityView;
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::auth::AdminAuth;
use platform::http::extract::{JsonBody, PathParams, QueryParams};
use platform::http::problem::{ApiError, ErrorCode, ProblemDocument};
use platform::sessions::csrf_token;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::{Figures, PortalState};
use crate::view::{Viewer, signed};

impl FromRef<PortalState> for Platform {
    fn from_ref(s: &PortalState) -> Platform {
        s.platform.clone()
    }
}

/// The routes that read or change something for a signed-in person or an administrator (the
/// caller puts them behind the cross-origin guard).
pub fn protected_routes() -> OpenApiRouter<PortalState> {
    OpenApiRouter::new()
        .merge(crate::content_api::admin_routes())
        .merge(crate::market_api::protected_routes())
        .merge(crate::applications_api::protected_routes())
        .routes(routes!(me))
        .routes(routes!(
            my_organisation,
            register_organisation,
            resubmit_organisation
        ))
        .routes(routes!(list_members, add_member))
        .routes(routes!(set_member_status))
        .routes(routes!(admin_list, admin_create))
        .routes(routes!(admin_get, admin_set_status))
        .routes(routes!(admin_review))
        .routes(routes!(admin_add_member))
}

/// What anyone may read.
pub fn public_routes() -> OpenApiRouter<PortalState> {
    OpenApiRouter::new()
        .routes(routes!(figures))
        .routes(routes!(institutions))
        .routes(routes!(institution))
        .merge(crate::content_api::public_routes())
        .merge(crate::market_api::public_routes())
}

#[derive(Serialize, ToSchema)]
pub struct Agent {
    pub display_name: String,
    pub id_masked: Option<String>,
}

/// The account's organisation, as `/api/me` shows it.
#[derive(Serialize, ToSchema)]
pub struct MeOrganisation {
    pub id: String,
    pub name: String,
    pub kind: OrgKind,
    pub status: OrgStatus,
    /// The account's place there.
    pub role: MemberRole,
    /// Whether the account may act for the organisation now (an active member of an approved
    /// organisation).
    pub active: bool,
}

/// The signed-in account.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub account_id: String,
    /// `personal` or `legal_person`.
    pub kind: String,
    pub display_name: String,
    /// Certificate number (persons) or credit code (legal persons), masked.
    pub id_masked: Option<String>,
    /// Legal persons: the unified social credit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    /// Legal persons: the natural person acting for the company (经办人).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    /// `individual` or `enterprise`, then the portal role (`institution-main`, …) when the
    /// account belongs to an organisation.
    pub roles: Vec<String>,
    pub organisation: Option<MeOrganisation>,
    pub identities: Vec<IdentityView>,
    /// The provider of this session.
    pub provider: String,
    /// Send as `X-CSRF-Token` (or form field `csrf`) with `POST /sso/logout`.
    pub csrf_token: String,
}

/// The signed-in user, 401 otherwise. Certificate numbers are never returned in clear.
#[utoipa::path(get, path = "/api/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, description = "auth.unauthenticated or auth.session_expired", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn me(State(state): State<PortalState>, viewer: Viewer) -> Result<Response, ApiError> {
    let me = signed(viewer)?;
    let s = &me.session;
    let organisation = me.membership.as_ref().map(|m| MeOrganisation {
        id: m.org.id.clone(),
        name: m.org.name.clone(),
        kind: m.org.kind,
        status: m.org.status,
        role: m.role,
        active: m.org.status == OrgStatus::Approved && m.status == orgs::MemberStatus::Active,
    });
    Ok(axum::Json(Me {
        account_id: s.account.id.clone(),
        kind: s.account.kind.clone(),
        display_name: s.account.display_name.clone(),
        id_masked: s.account.key_masked.clone(),
        uscc: s.uscc.clone(),
        agent: s.agent_name.as_ref().map(|n| Agent {
            display_name: n.clone(),
            id_masked: s.agent_masked.clone(),
        }),
        roles: me.roles(),
        organisation,
        identities: s.identities.clone(),
        provider: s.provider.clone(),
        csrf_token: csrf_token(&state.platform.keys, &me.cookie),
    })
    .into_response())
}

/// The account's membership and its organisation.
#[utoipa::path(get, path = "/api/me/organisation", tag = "organisations",
    responses((status = 200, body = Membership), (status = 404, description = "org.not_found: the account belongs to no organisation", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn my_organisation(viewer: Viewer) -> Result<axum::Json<Membership>, ApiError> {
    signed(viewer)?.membership.map(axum::Json).ok_or_else(|| {
        ApiError::new(
            ErrorCode::OrgNotFound,
            "the account belongs to no organisation",
        )
    })
}

/// Registers the account's organisation for the operators' review; the account becomes its
/// main account.
#[utoipa::path(post, path = "/api/me/organisation", tag = "organisations",
    request_body = NewOrganisation,
    responses(
        (status = 201, body = Organisation),
        (status = 409, description = "org.duplicate", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "request.validation_failed, with the fields", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn register_organisation(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    JsonBody(new): JsonBody<NewOrganisation>,
) -> Result<Response, ApiError> {
    let me = signed(viewer)?;
    let org = state.orgs.register(me.account_id(), new, &ctx).await?;
    Ok((StatusCode::CREATED, axum::Json(org)).into_response())
}

/// The main account corrects its rejected organisation and puts it back for review.
#[utoipa::path(put, path = "/api/me/organisation", tag = "organisations",
    request_body = NewOrganisation,
    responses(
        (status = 200, body = Organisation),
        (status = 409, description = "org.state_conflict: only a rejected organisation is resubmitted", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn resubmit_organisation(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    JsonBody(new): JsonBody<NewOrganisation>,
) -> Result<axum::Json<Organisation>, ApiError> {
    let me = signed(viewer)?;
    let org_id = me
        .membership
        .as_ref()
        .map(|m| m.org.id.clone())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::OrgNotFound,
                "the account belongs to no organisation",
            )
        })?;
    Ok(axum::Json(
        state
            .orgs
            .resubmit(me.account_id(), &org_id, new, &ctx)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// From 1.
    pub page: Option<u32>,
    /// At most 100; 20 by default.
    pub size: Option<u32>,
}

impl PageQuery {
    fn page(&self) -> Page {
        Page::new(
            self.page.unwrap_or(1),
            self.size.unwrap_or(Page::DEFAULT_SIZE),
        )
    }
}

/// The organisation's members (its main account only).
#[utoipa::path(get, path = "/api/me/organisation/members", tag = "organisations",
    params(PageQuery),
    responses((status = 200, body = Paged<MemberView>), (status = 403, description = "org.forbidden or org.not_approved", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn list_members(
    State(state): State<PortalState>,
    viewer: Viewer,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<axum::Json<Paged<MemberView>>, ApiError> {
    let me = signed(viewer)?;
    let scope = state.orgs.scope_for(me.account_id()).await?;
    if !scope.is_main() {
        return Err(orgs::OrgError::Forbidden(
            "only the organisation's main account may manage its members",
        )
        .into());
    }
    Ok(axum::Json(state.orgs.members(&scope, q.page()).await?))
}

/// A person to add as a sub account, as the main account knows them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub name: String,
    /// The resident ID number (18 characters). Used to find the account by its blind index;
    /// never stored or echoed.
    pub id_number: String,
}

/// Adds a sub account (the person must have signed in once).
#[utoipa::path(post, path = "/api/me/organisation/members", tag = "organisations",
    request_body = NewMember,
    responses(
        (status = 201, body = MemberView),
        (status = 409, description = "org.duplicate: the person belongs to an organisation", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "request.validation_failed (name, id_number)", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn add_member(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    JsonBody(new): JsonBody<NewMember>,
) -> Result<Response, ApiError> {
    let me = signed(viewer)?;
    let scope = state.orgs.scope_for(me.account_id()).await?;
    let m = state
        .orgs
        .add_member_by_identity(&scope, &new.name, &new.id_number, &ctx)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(m)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberStatusChange {
    /// `active` or `disabled`.
    pub status: orgs::MemberStatus,
}

/// Disables or enables a sub account.
#[utoipa::path(patch, path = "/api/me/organisation/members/{account_id}", tag = "organisations",
    params(("account_id" = String, Path)),
    request_body = MemberStatusChange,
    responses((status = 200, body = MemberView), (status = 404, description = "org.not_found: no such member here", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn set_member_status(
    State(state): State<PortalState>,
    ctx: RequestContext,
    viewer: Viewer,
    PathParams(account_id): PathParams<String>,
    JsonBody(change): JsonBody<MemberStatusChange>,
) -> Result<axum::Json<MemberView>, ApiError> {
    let me = signed(viewer)?;
    let scope = state.orgs.scope_for(me.account_id()).await?;
    let disabled = change.status == orgs::MemberStatus::Disabled;
    Ok(axum::Json(
        state
            .orgs
            .set_member_disabled(&scope, &account_id, disabled, &ctx)
            .await?,
    ))
}

/// The platform's figures (enterprises, institutions, products, open demands, cumulative
/// financing in fen).
#[utoipa::path(get, path = "/api/portal/figures", tag = "portal",
    responses((status = 200, body = Figures)))]
pub async fn figures(State(state): State<PortalState>) -> Result<axum::Json<Figures>, ApiError> {
    Ok(axum::Json(state.figures().await?))
}

/// Approved financial institutions, by name.
#[utoipa::path(get, path = "/api/institutions", tag = "portal",
    params(PageQuery),
    responses((status = 200, body = Paged<Organisation>)))]
pub async fn institutions(
    State(state): State<PortalState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<axum::Json<Paged<Organisation>>, ApiError> {
    Ok(axum::Json(state.orgs.public_institutions(q.page()).await?))
}

/// One approved institution.
#[utoipa::path(get, path = "/api/institutions/{id}", tag = "portal",
    params(("id" = String, Path)),
    responses((status = 200, body = Organisation), (status = 404, description = "org.not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn institution(
    State(state): State<PortalState>,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Organisation>, ApiError> {
    match state.orgs.get(&id).await? {
        o if o.kind == OrgKind::Institution && o.status == OrgStatus::Approved => Ok(axum::Json(o)),
        _ => Err(ApiError::new(ErrorCode::OrgNotFound, "no such institution")),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgQuery {
    /// `pending`, `approved`, `rejected` or `disabled`.
    pub status: Option<OrgStatus>,
    pub kind: Option<OrgKind>,
    /// Part of the name, or a whole unified social credit code.
    pub q: Option<String>,
    pub page: Option<u32>,
    pub size: Option<u32>,
}

/// The operators' list of organisations, newest first.
#[utoipa::path(get, path = "/api/admin/organisations", tag = "organisations",
    security(("admin_session" = []), ("bearer" = [])), params(OrgQuery),
    responses((status = 200, body = Paged<Organisation>), (status = 403, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn admin_list(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    QueryParams(q): QueryParams<OrgQuery>,
) -> Result<axum::Json<Paged<Organisation>>, ApiError> {
    state
        .platform
        .admins
        .authorize(&p, Permission::OrganisationsManage, &ctx)
        .await?;
    let page = Page::new(q.page.unwrap_or(1), q.size.unwrap_or(Page::DEFAULT_SIZE));
    let filter = OrgFilter {
        status: q.status,
        kind: q.kind,
        q: q.q.filter(|s| !s.trim().is_empty()),
    };
    Ok(axum::Json(state.orgs.list(filter, page).await?))
}

/// The operators create an organisation, approved at once (a government department, say).
#[utoipa::path(post, path = "/api/admin/organisations", tag = "organisations",
    security(("admin_session" = []), ("bearer" = [])),
    request_body = NewOrganisation,
    responses((status = 201, body = Organisation), (status = 422, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn admin_create(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    JsonBody(new): JsonBody<NewOrganisation>,
) -> Result<Response, ApiError> {
    let org = state.orgs.create_by_operator(&p, new, &ctx).await?;
    Ok((StatusCode::CREATED, axum::Json(org)).into_response())
}

#[utoipa::path(get, path = "/api/admin/organisations/{id}", tag = "organisations",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Organisation), (status = 404, body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn admin_get(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Organisation>, ApiError> {
    state
        .platform
        .admins
        .authorize(&p, Permission::OrganisationsManage, &ctx)
        .await?;
    Ok(axum::Json(state.orgs.get(&id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `disabled` (its accounts can no longer act for it) or `approved` (enabled again).
    pub status: OrgStatus,
}

/// Disables an approved organisation or enables a disabled one.
#[utoipa::path(patch, path = "/api/admin/organisations/{id}", tag = "organisations",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    request_body = StatusChange,
    responses((status = 200, body = Organisation), (status = 409, description = "org.state_conflict", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn admin_set_status(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(change): JsonBody<StatusChange>,
) -> Result<axum::Json<Organisation>, ApiError> {
    let disabled = match change.status {
        OrgStatus::Disabled => true,
        OrgStatus::Approved => false,
        _ => {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                "status: only `disabled` or `approved`; use /review to decide a registration",
            )
            .field("status", "应为 disabled 或 approved"));
        }
    };
    Ok(axum::Json(
        state.orgs.set_disabled(&p, &id, disabled, &ctx).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    /// `approve` or `reject`.
    pub decision: String,
    /// Required to reject: shown to the organisation (1 to 500 characters).
    pub reason: Option<String>,
}

impl ReviewDecision {
    /// The decision, or the field error.
    pub fn into_decision(self) -> Result<Decision, orgs::OrgError> {
        match self.decision.as_str() {
            "approve" => Ok(Decision::Approve),
            "reject" => Ok(Decision::Reject {
                reason: self.reason.unwrap_or_default(),
            }),
            _ => Err(orgs::OrgError::field("decision", "请选择通过或驳回")),
        }
    }
}

/// Approves or rejects a pending registration.
#[utoipa::path(post, path = "/api/admin/organisations/{id}/review", tag = "organisations",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    request_body = ReviewDecision,
    responses(
        (status = 200, body = Organisation),
        (status = 409, description = "org.not_pending", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "request.validation_failed (decision, reason)", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn admin_review(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<ReviewDecision>,
) -> Result<axum::Json<Organisation>, ApiError> {
    let decision = body.into_decision()?;
    Ok(axum::Json(
        state.orgs.review(&p, &id, decision, &ctx).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorMember {
    pub account_id: String,
    /// `main` or `sub`.
    pub role: MemberRole,
}

/// The operators put an account into an organisation (the first staff of a department, say).
#[utoipa::path(post, path = "/api/admin/organisations/{id}/members", tag = "organisations",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    request_body = OperatorMember,
    responses((status = 201, body = MemberView), (status = 409, description = "org.duplicate", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn admin_add_member(
    State(state): State<PortalState>,
    ctx: RequestContext,
    AdminAuth(p): AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<OperatorMember>,
) -> Result<Response, ApiError> {
    let m = state
        .orgs
        .add_member_by_operator(&p, &id, &body.account_id, body.role, &ctx)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(m)).into_response())
}
