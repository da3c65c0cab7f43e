//! 机构中心: an institution's own page — its profile in the marketplace (kind and logo, set by
//! the main account), what waits for it (unread messages, applications to answer, demands it
//! holds), its rating (with the overdue feedback) and points, and the way to its sub-accounts.
//! The rules (who may change the profile, which image is accepted) are the `market` service's.

use axum::extract::{Multipart, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use market::{ApplicationStatus, MarketError, Member};
use orgs::Page;
use platform::context::RequestContext;
use platform::http::problem::ApiError;
use platform::web::form::{self, FieldErrors, FormData};
use platform::web::page::{flash, see_other};
use serde_json::json;

use crate::public::to_sign_in;
use crate::state::PortalState;
use crate::view::{ListQuery, Signed, Viewer, base};

const CENTRE: &str = "/user/institution";

/// The templates of these pages, embedded.
pub const TEMPLATES: platform::web::templates::Sources = &[(
    "institution/centre.html",
    include_str!("../templates/institution/centre.html"),
)];

/// The routes of these pages.
pub fn routes() -> axum::Router<PortalState> {
    axum::Router::new()
        .route(CENTRE, get(centre))
        .route("/user/institution/kind", post(set_kind))
        .route("/user/institution/logo", post(set_logo))
}

const NOTICES: &[(&str, &str, &str)] = &[
    ("kind", "success", "机构类型已保存。"),
    ("logo", "success", "机构标志已更新。"),
];

async fn institution(state: &PortalState, me: &Signed) -> Result<Member, ApiError> {
    let m = state
        .market
        .member(me.account_id(), &me.session.account.display_name)
        .await?;
    m.institution()?;
    Ok(m)
}

/// What a refused change shows: the field's error, or the page of errors.
struct Refused {
    errors: FieldErrors,
    status: StatusCode,
}

async fn page(
    state: &PortalState,
    viewer: &Viewer,
    m: &Member,
    notice: Option<&str>,
    refused: Option<Refused>,
) -> Result<Response, ApiError> {
    let org = state.orgs.get(m.scope.org_id()).await?;
    let profile = state.market.institution_profile(&org.id).await?;
    let rated = state.market.rating_summary(&org.id).await?;
    let points = state.market.points(&org.id, Page::new(1, 1)).await?.balance;
    let unread = state.market.unread(m).await?;
    let waiting = state
        .market
        .applications(
            m,
            Some(ApplicationStatus::Submitted),
            false,
            Page::new(1, 1),
        )
        .await?
        .total;
    let held = state
        .market
        .demands_taken(m, false, Page::new(1, 1))
        .await?
        .total;
    let kinds: Vec<serde_json::Value> = market::INSTITUTION_KINDS
        .iter()
        .map(|(c, l)| json!({ "value": c, "label": l }))
        .collect();
    let (errors, status) = refused.map_or((FieldErrors::default(), StatusCode::OK), |r| {
        (r.errors, r.status)
    });
    let mut b = base(state, "机构中心", "/user", viewer);
    b.flash = flash(notice, NOTICES);
    Ok(state.platform.web.page_status(
        status,
        "institution/centre.html",
        &b,
        json!({
            "org": {
                "id": org.id,
                "name": org.name,
                "href": format!("/institutions/{}", org.id),
                "intro": org.introduction,
                "contact_name": org.contact_name,
                "contact_phone": org.contact_phone,
            },
            "main": m.scope.is_main(),
            "profile": {
                "kind": profile.kind,
                "kind_label": profile.kind_label(),
                "logo": profile.logo_href(),
            },
            "kinds": kinds,
            "rating": { "count": rated.count, "average": rated.average(), "overdue": rated.overdue },
            "points": points,
            "unread": unread,
            "waiting": waiting,
            "held": held,
            "errors": errors.map(),
        }),
    ))
}

/// `GET /user/institution`.
pub async fn centre(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(CENTRE));
    };
    let m = institution(&state, me).await?;
    let query = ListQuery::parse(q.as_deref());
    page(&state, &viewer, &m, query.get("ok"), None).await
}

/// A refusal the page shows beside the field, or the error page.
fn refused(e: MarketError) -> Result<Refused, ApiError> {
    if let MarketError::Content(cms::CmsError::FileRejected(why)) = &e {
        let mut errors = FieldErrors::default();
        errors.add("file", why.clone());
        return Ok(Refused {
            errors,
            status: StatusCode::UNPROCESSABLE_ENTITY,
        });
    }
    let fields = e.fields();
    if fields.is_empty() {
        return Err(e.into());
    }
    Ok(Refused {
        errors: fields.into_iter().collect(),
        status: StatusCode::UNPROCESSABLE_ENTITY,
    })
}

/// `POST /user/institution/kind` (`kind`).
pub async fn set_kind(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(CENTRE));
    };
    form::check(&state.platform.keys, "user", &me.cookie, &f)?;
    let m = institution(&state, me).await?;
    match state
        .market
        .set_institution_kind(&m, f.get("kind"), &ctx)
        .await
    {
        Ok(_) => Ok(see_other(&format!("{CENTRE}?ok=kind"))),
        Err(e) => page(&state, &viewer, &m, None, Some(refused(e)?)).await,
    }
}

/// `POST /user/institution/logo` (multipart: `csrf`, `file`).
pub async fn set_logo(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(CENTRE));
    };
    let (token, name, bytes) = crate::console::read_upload(multipart).await?;
    form::check(
        &state.platform.keys,
        "user",
        &me.cookie,
        &FormData::parse(format!("csrf={token}").as_bytes()),
    )?;
    let m = institution(&state, me).await?;
    match state
        .market
        .set_institution_logo(&m, &name, bytes, &ctx)
        .await
    {
        Ok(_) => Ok(see_other(&format!("{CENTRE}?ok=logo"))),
        Err(e) => page(&state, &viewer, &m, None, Some(refused(e)?)).await,
    }
}
