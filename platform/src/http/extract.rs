//! Request extractors whose rejections are problem documents with stable codes, so that bad
//! input is a 400/413/415/422 that says what to fix — never a bare framework message.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::problem::{ApiError, ErrorCode};
use crate::context::RequestContext;
use crate::state::Platform;

/// A JSON request body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let text = r.body_text();
    match r {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            ErrorCode::InvalidBody,
            format!("the body is not valid JSON: {}", strip_prefix(&text)),
        ),
        JsonRejection::JsonDataError(_) => {
            let detail = strip_prefix(&text);
            let field = detail
                .split('`')
                .nth(1)
                .filter(|_| detail.contains("field"))
                .unwrap_or("body")
                .to_owned();
            ApiError::new(
                ErrorCode::ValidationFailed,
                format!("the body does not fit the expected shape: {detail}"),
            )
            .field(field, detail)
        }
        other if other.status() == http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            ErrorCode::BodyTooLarge,
            "the request body exceeds the limit (server.body_limit)",
        ),
        _ => ApiError::new(
            ErrorCode::InvalidBody,
            format!("the body could not be read: {text}"),
        ),
    }
}

/// axum prefixes its messages with a generic sentence; keep the part that names the problem.
fn strip_prefix(text: &str) -> String {
    text.split_once(": ")
        .map_or(text, |(_, rest)| rest)
        .to_owned()
}

/// Query parameters.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|r: QueryRejection| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("invalid query parameters: {}", strip_prefix(&r.body_text())),
                )
            })
    }
}

/// Path parameters.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|r: PathRejection| {
                ApiError::new(
                    ErrorCode::InvalidPath,
                    format!("invalid path parameter: {}", strip_prefix(&r.body_text())),
                )
            })
    }
}

/// The request's context ([`RequestContext`]): id, client address (after the platform's
/// trusted proxies) and user agent. Never fails.
impl<S> FromRequestParts<S> for RequestContext
where
    Platform: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let platform = Platform::from_ref(state);
        Ok(RequestContext::from_parts(
            parts,
            &platform.config.server.trusted_proxies,
        ))
    }
}
