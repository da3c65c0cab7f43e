//! Partner message intake (`POST /exchange/{partner}/{message_type}`) and its administration:
//! partners, mappings and the message log (`/api/admin/partners`, `/api/admin/mappings`,
//! `/api/admin/messages`).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::PartnerSettings;
use crate::config::Source;
use crate::error::ExchangeError;
use crate::message::{Inbound, MessageQuery, MessageView, PayloadView, Receipt};
use crate::partners::PartnerView;
use crate::send::Outgoing;
use crate::state::ExchangeState;
use platform::admin::Permission;
use platform::clock::Millis;
use platform::context::RequestContext;
use platform::http::auth::AdminAuth;
use platform::http::extract::{JsonBody, PathParams, QueryParams};
use platform::http::problem::{ApiError, DocumentLocation, ErrorCode, ProblemDocument};

/// Partner intake: outside the browser cross-origin protection (partners are servers and are
/// authenticated by signature or token).
pub fn public_routes() -> OpenApiRouter<ExchangeState> {
    OpenApiRouter::new().routes(routes!(receive))
}

pub fn admin_routes() -> OpenApiRouter<ExchangeState> {
    OpenApiRouter::new()
        .routes(routes!(list_partners, create_partner))
        .routes(routes!(get_partner, update_partner, delete_partner))
        .routes(routes!(list_mappings))
        .routes(routes!(get_mapping))
        .routes(routes!(get_mapping_json_schema))
        .routes(routes!(list_messages))
        .routes(routes!(get_message))
        .routes(routes!(get_payload))
        .routes(routes!(replay))
        .routes(routes!(send))
}

impl From<ExchangeError> for ApiError {
    fn from(e: ExchangeError) -> Self {
        use ErrorCode as C;
        let detail = e.to_string();
        match e {
            ExchangeError::Unauthenticated(_) => ApiError::new(
                C::ExchangeUnauthenticated,
                "the partner's credentials are missing, wrong or out of date (see docs/EXCHANGE.md for the signature)",
            ),
            ExchangeError::TooManyFailures(wait) => {
                let mut e = ApiError::new(
                    C::RateLimited,
                    "too many failed partner authentications from this address; wait and try again",
                );
                e.retry_after = Some(wait.as_secs() + 1);
                e
            }
            ExchangeError::PartnerDisabled(_) => ApiError::new(C::PartnerDisabled, detail),
            ExchangeError::UnknownMessageType(_) => ApiError::new(
                C::MessageTypeUnknown,
                format!("{detail}; GET /api/admin/mappings lists the installed ones"),
            ),
            ExchangeError::MessageTypeNotAllowed(_) => {
                ApiError::new(C::MessageTypeNotAllowed, detail)
            }
            ExchangeError::UnsupportedMediaType => ApiError::new(
                C::UnsupportedMediaType,
                "send partner messages as XML (application/xml, text/xml) or JSON (application/json); messages to partners are sent to the hub as JSON",
            ),
            ExchangeError::JsonMalformed { line, column, .. } => {
                ApiError::new(C::JsonMalformed, detail).at(DocumentLocation {
                    line: Some(line),
                    column: Some(column),
                    path: None,
                })
            }
            ExchangeError::Mapping(m) => {
                let code = ErrorCode::ALL
                    .iter()
                    .copied()
                    .find(|c| c.as_str() == m.code())
                    .unwrap_or(C::Internal);
                if code == C::Internal {
                    return ApiError::internal(m);
                }
                let location = DocumentLocation {
                    line: m.line(),
                    column: m.column(),
                    path: m.path().filter(|p| !p.is_empty()).map(str::to_owned),
                };
                ApiError::new(code, m.to_string()).at(location)
            }
            ExchangeError::MessageIdMissing | ExchangeError::MessageIdUnsigned => {
                ApiError::new(C::MessageIdMissing, detail)
            }
            ExchangeError::MessageIdInvalid => ApiError::new(C::MessageIdInvalid, detail),
            ExchangeError::MessageIdMismatch => ApiError::new(C::MessageIdMismatch, detail),
            ExchangeError::MessageIdReused(_) => ApiError::new(C::MessageIdReused, detail),
            ExchangeError::NotFound(_) => ApiError::new(C::MessageNotFound, detail),
            ExchangeError::PayloadNotRetained(_) => ApiError::new(C::PayloadNotRetained, detail),
            ExchangeError::NothingToReplay(_) => ApiError::new(
                C::NothingToReplay,
                format!("{detail}: only dead-lettered or delivered deliveries are sent again"),
            ),
            ExchangeError::NotRecorded => ApiError::new(C::StoreUnavailable, detail),
            ExchangeError::PartnerNotFound(_) => ApiError::new(C::PartnerNotFound, detail),
            ExchangeError::PartnerExists(_) => ApiError::new(C::PartnerExists, detail),
            ExchangeError::PartnerReadOnly(_) => ApiError::new(C::PartnerReadOnly, detail),
            ExchangeError::PartnerNotReceiving(_) => ApiError::new(C::PartnerNotReceiving, detail),
            ExchangeError::PartnerInvalid(errors) => {
                let mut err = ApiError::new(C::ValidationFailed, detail);
                for (field, message) in errors {
                    err = err.field(field, message);
                }
                err
            }
            ExchangeError::Store(s) => s.into(),
            ExchangeError::Audit(a) => a.into(),
            e => ApiError::internal(e),
        }
    }
}

/// Receives one message from a partner system: authenticated (gateway HMAC-SHA256 signature,
/// SM2 signature or token), validated against the message type's schema, translated, recorded
/// and acknowledged — in XML to XML senders. The same message id again (even concurrently)
/// gets the first acknowledgement and is applied once (`x-duplicate: true`).
#[utoipa::path(post, path = "/exchange/{partner}/{message_type}", tag = "exchange",
    params(
        ("partner" = String, Path, description = "the partner's id (partners.<id>)"),
        ("message_type" = String, Path, description = "e.g. financing.demand_notice"),
        ("x-message-id" = Option<String>, Header, description = "the partner's message id, when the message does not carry it"),
        ("x-correlation-id" = Option<String>, Header, description = "kept with the message for tracing"),
    ),
    request_body(content = String, content_type = "application/xml", description = "the message (XML, or JSON with Content-Type: application/json)"),
    responses(
        (status = 200, description = "acknowledged (XML for XML senders, JSON otherwise); x-duplicate: true when it is the first acknowledgement repeated"),
        (status = 400, description = "mapping.xml_malformed, mapping.dtd_forbidden, exchange.json_malformed, … with line, column and path", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "exchange.unauthenticated", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "exchange.message_type_not_allowed, exchange.partner_disabled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "exchange.message_type_unknown", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "mapping.schema_invalid, mapping.required_missing, mapping.type_invalid, exchange.message_id_missing, … with line, column and path", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn receive(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    uri: Uri,
    headers: HeaderMap,
    PathParams((partner, message_type)): PathParams<(String, String)>,
    client_cert: Option<axum::Extension<platform::context::PeerCertificate>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let receipt = state
        .exchange
        .receive(
            Inbound {
                partner: &partner,
                message_type: &message_type,
                // The route takes POST only: the signature covers that method.
                method: Method::POST.as_str(),
                path: uri.path(),
                query: uri.query(),
                headers: &headers,
                body,
                client_cert: client_cert.and_then(|axum::Extension(c)| c),
            },
            &ctx,
        )
        .await?;
    Ok(acknowledgement(StatusCode::OK, receipt))
}

/// The acknowledgement as an answer, with `x-receipt-id` and (for a repeat) `x-duplicate`.
fn acknowledgement(status: StatusCode, receipt: Receipt) -> Response {
    let mut res = (status, receipt.body).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&receipt.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&receipt.receipt_id) {
        h.insert("x-receipt-id", v);
    }
    if receipt.duplicate {
        h.insert("x-duplicate", HeaderValue::from_static("true"));
    }
    res
}

/// Sends a message to a partner system: the JSON is validated against the message type's
/// mapping, translated to the partner's XML, recorded, and delivered through the outbox —
/// signed as the partner requires, retried, dead-lettered after `exchange.max_attempts`,
/// with the receipt id as `Idempotency-Key`. For internal systems (an administrator's token
/// with `messages.send`). The same message id again gets the first receipt (`x-duplicate`).
#[utoipa::path(post, path = "/api/admin/partners/{id}/messages/{message_type}", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])),
    params(
        ("id" = String, Path, description = "the partner's id"),
        ("message_type" = String, Path, description = "one of the partner's outbound_message_types"),
        ("x-message-id" = Option<String>, Header, description = "the message id, when the message does not carry it"),
        ("x-correlation-id" = Option<String>, Header, description = "kept with the message for tracing"),
    ),
    request_body(content = serde_json::Value, content_type = "application/json", description = "the message as the mapping's JSON"),
    responses(
        (status = 202, description = "accepted for delivery: {message_id, message_type, partner, receipt_id, status, accepted_at}"),
        (status = 400, description = "exchange.json_malformed", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "exchange.message_type_not_allowed, exchange.partner_disabled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "exchange.partner_not_found, exchange.message_type_unknown", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "exchange.partner_not_receiving, exchange.message_id_reused", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "mapping.required_missing, mapping.type_invalid, exchange.message_id_missing, … with the path", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn send(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    headers: HeaderMap,
    PathParams((partner, message_type)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&state, &auth, Permission::MessagesSend, &ctx).await?;
    let receipt = state
        .exchange
        .send(
            Outgoing {
                partner: &partner,
                message_type: &message_type,
                headers: &headers,
                body,
            },
            auth.0.actor(),
            &ctx,
        )
        .await?;
    Ok(acknowledgement(StatusCode::ACCEPTED, receipt))
}

async fn authorize(
    state: &ExchangeState,
    auth: &AdminAuth,
    permission: Permission,
    ctx: &RequestContext,
) -> Result<(), ApiError> {
    state
        .platform
        .admins
        .authorize(&auth.0, permission, ctx)
        .await?;
    Ok(())
}

/// The configured partner systems (no credentials).
#[utoipa::path(get, path = "/api/admin/partners", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<PartnerView>)))]
pub async fn list_partners(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
) -> Result<axum::Json<Vec<PartnerView>>, ApiError> {
    authorize(&state, &auth, Permission::PartnersManage, &ctx).await?;
    Ok(axum::Json(
        state
            .exchange
            .partners()
            .iter()
            .map(|(p, source)| PartnerView::of(p, *source))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/admin/partners/{id}", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PartnerView), (status = 404, description = "exchange.partner_not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn get_partner(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<PartnerView>, ApiError> {
    authorize(&state, &auth, Permission::PartnersManage, &ctx).await?;
    state
        .exchange
        .partners()
        .into_iter()
        .find(|(p, _)| p.id == id)
        .map(|(p, source)| axum::Json(PartnerView::of(&p, source)))
        .ok_or_else(|| ApiError::new(ErrorCode::PartnerNotFound, format!("no partner {id}")))
}

/// Adds a partner system (validated like the configuration file's; audited without secrets).
/// A missing HMAC secret or token is generated and returned once in `generated_secret`.
#[utoipa::path(post, path = "/api/admin/partners", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), request_body = PartnerSettings,
    responses(
        (status = 201, body = PartnerView),
        (status = 409, description = "exchange.partner_exists, exchange.partner_read_only", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed, naming the fields", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn create_partner(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    JsonBody(mut req): JsonBody<PartnerSettings>,
) -> Result<(StatusCode, axum::Json<PartnerView>), ApiError> {
    authorize(&state, &auth, Permission::PartnersManage, &ctx).await?;
    let Some(id) = req.id.take() else {
        return Err(
            ApiError::new(ErrorCode::ValidationFailed, "id: is required").field(
                "id",
                "is required: the partner's id in /exchange/{partner}/…",
            ),
        );
    };
    let (partner, generated) = state
        .exchange
        .create_partner(&id, req, auth.0.actor(), &ctx)
        .await?;
    let mut view = PartnerView::of(&partner, Source::Store);
    view.generated_secret = generated;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// Changes a partner added through this API (the file's partners are changed in the file).
#[utoipa::path(patch, path = "/api/admin/partners/{id}", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    request_body = PartnerSettings,
    responses(
        (status = 200, body = PartnerView),
        (status = 404, description = "exchange.partner_not_found", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "exchange.partner_read_only", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "validation.failed, naming the fields", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn update_partner(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(id): PathParams<String>,
    JsonBody(change): JsonBody<PartnerSettings>,
) -> Result<axum::Json<PartnerView>, ApiError> {
    authorize(&state, &auth, Permission::PartnersManage, &ctx).await?;
    if change.id.as_ref().is_some_and(|given| *given != id) {
        return Err(ApiError::new(
            ErrorCode::ValidationFailed,
            "id: a partner's id cannot change",
        )
        .field("id", "cannot change: create a new partner instead"));
    }
    let partner = state
        .exchange
        .update_partner(&id, change, auth.0.actor(), &ctx)
        .await?;
    Ok(axum::Json(PartnerView::of(&partner, Source::Store)))
}

/// Removes a partner added through this API; its messages stay in the log.
#[utoipa::path(delete, path = "/api/admin/partners/{id}", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 204),
        (status = 404, description = "exchange.partner_not_found", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "exchange.partner_read_only", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn delete_partner(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &auth, Permission::PartnersManage, &ctx).await?;
    state
        .exchange
        .delete_partner(&id, auth.0.actor(), &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MappingView {
    pub name: String,
    pub version: u32,
    pub message_type: String,
    pub description: String,
    /// The XSD the XML side is validated against.
    pub schema: String,
}

fn mapping_view(m: &mappings::Mapping) -> MappingView {
    MappingView {
        name: m.name().to_owned(),
        version: m.version(),
        message_type: m.message_type().to_owned(),
        description: m.description().to_owned(),
        schema: m.schema().to_owned(),
    }
}

/// The installed mappings (the schema catalogue of the interface specification).
#[utoipa::path(get, path = "/api/admin/mappings", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<MappingView>)))]
pub async fn list_mappings(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
) -> Result<axum::Json<Vec<MappingView>>, ApiError> {
    authorize(&state, &auth, Permission::MappingsManage, &ctx).await?;
    Ok(axum::Json(
        state
            .exchange
            .config()
            .catalog
            .iter()
            .map(mapping_view)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/admin/mappings/{name}", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), params(("name" = String, Path)),
    responses((status = 200, body = MappingView), (status = 404, description = "exchange.mapping_not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn get_mapping(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(name): PathParams<String>,
) -> Result<axum::Json<MappingView>, ApiError> {
    authorize(&state, &auth, Permission::MappingsManage, &ctx).await?;
    state
        .exchange
        .config()
        .catalog
        .get(&name)
        .map(|m| axum::Json(mapping_view(m)))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::MappingNotFound,
                format!("no mapping {name}; GET /api/admin/mappings lists them"),
            )
        })
}

/// The mapping's JSON side as a JSON Schema (draft 2020-12) document: what JSON messages of its
/// type must look like (the same rules the hub checks).
#[utoipa::path(get, path = "/api/admin/mappings/{name}/json-schema", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), params(("name" = String, Path, description = "the mapping's name")),
    responses(
        (status = 200, description = "a JSON Schema document", content_type = "application/schema+json"),
        (status = 404, description = "exchange.mapping_not_found", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn get_mapping_json_schema(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    authorize(&state, &auth, Permission::MappingsManage, &ctx).await?;
    let Some(m) = state.exchange.config().catalog.get(&name) else {
        return Err(ApiError::new(
            ErrorCode::MappingNotFound,
            format!("no mapping {name}; GET /api/admin/mappings lists them"),
        ));
    };
    let mut res = axum::Json(m.json_schema()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/schema+json"),
    );
    Ok(res)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    pub partner: Option<String>,
    /// `inbound` (from partners) or `outbound` (to partners).
    pub direction: Option<String>,
    pub message_type: Option<String>,
    /// `accepted`, `delivered`, `failed` or `rejected`.
    pub status: Option<String>,
    /// The partner's message id.
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    /// RFC 3339, inclusive.
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    pub to: Option<String>,
    /// A receipt id: the page before it (receipt ids are time-ordered).
    pub before: Option<String>,
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<u32>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageView>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<String>,
}

fn time(field: &str, v: Option<&str>) -> Result<Option<Millis>, ApiError> {
    match v {
        None => Ok(None),
        Some(t) => Millis::parse_rfc3339(t).map(Some).ok_or_else(|| {
            ApiError::new(
                ErrorCode::ValidationFailed,
                format!("{field} must be RFC 3339"),
            )
            .field(field, "an RFC 3339 time such as 2026-11-29T08:00:00+08:00")
        }),
    }
}

/// The message log, newest first: state, partner, type, ids, errors (no payload content).
#[utoipa::path(get, path = "/api/admin/messages", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), params(MessagesQuery),
    responses((status = 200, body = MessagePage)))]
pub async fn list_messages(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    QueryParams(q): QueryParams<MessagesQuery>,
) -> Result<axum::Json<MessagePage>, ApiError> {
    authorize(&state, &auth, Permission::MessagesRead, &ctx).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let items = state
        .exchange
        .list(&MessageQuery {
            partner: q.partner,
            direction: q.direction,
            message_type: q.message_type,
            status: q.status,
            message_id: q.message_id,
            correlation_id: q.correlation_id,
            from: time("from", q.from.as_deref())?,
            to: time("to", q.to.as_deref())?,
            before: q.before,
            limit,
        })
        .await?;
    let next_before = (items.len() == limit as usize)
        .then(|| items.last().map(|m| m.id.clone()))
        .flatten();
    Ok(axum::Json(MessagePage { items, next_before }))
}

/// One message: its state, its translation with personal fields masked, its deliveries.
#[utoipa::path(get, path = "/api/admin/messages/{id}", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path, description = "the receipt id")),
    responses((status = 200, body = MessageView), (status = 404, description = "exchange.message_not_found", body = ProblemDocument, content_type = "application/problem+json")))]
pub async fn get_message(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<MessageView>, ApiError> {
    authorize(&state, &auth, Permission::MessagesRead, &ctx).await?;
    Ok(axum::Json(state.exchange.get(&id).await?))
}

/// The message's raw payload as it arrived (outbound: the JSON sent), personal fields masked;
/// Base64 HEAD/BODY blocks and DOCTYPEs withheld. Each look is audited
/// (`exchange.payload_viewed`).
#[utoipa::path(get, path = "/api/admin/messages/{id}/payload", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path, description = "the receipt id")),
    responses(
        (status = 200, body = PayloadView),
        (status = 404, description = "exchange.message_not_found", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 410, description = "exchange.payload_not_retained", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn get_payload(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<PayloadView>, ApiError> {
    authorize(&state, &auth, Permission::MessagesRead, &ctx).await?;
    Ok(axum::Json(
        state.exchange.payload(&id, auth.0.actor(), &ctx).await?,
    ))
}

/// Delivers a dead-lettered (or delivered) message again, with the same idempotency key.
#[utoipa::path(post, path = "/api/admin/messages/{id}/replay", tag = "exchange",
    security(("admin_session" = []), ("bearer" = [])), params(("id" = String, Path, description = "the receipt id")),
    responses(
        (status = 200, body = MessageView),
        (status = 404, description = "exchange.message_not_found", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "exchange.nothing_to_replay", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn replay(
    State(state): State<ExchangeState>,
    ctx: RequestContext,
    auth: AdminAuth,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<MessageView>, ApiError> {
    authorize(&state, &auth, Permission::PartnersManage, &ctx).await?;
    Ok(axum::Json(
        state.exchange.replay(&id, auth.0.actor(), &ctx).await?,
    ))
}
