//! Form bodies (`application/x-www-form-urlencoded`) and their tokens.
//!
//! A form's fields are read as text and checked by the core function the page calls, which
//! names each field it refuses; the page shows the message next to the field and keeps what was
//! typed. Every form that changes something carries a token bound to the session that showed
//! it ([`token`]); a token from another session, or none, is refused before anything is read.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use subtle::ConstantTimeEq;

use crate::http::problem::{ApiError, ErrorCode};
use crate::keys::Keys;

/// A submitted form: each field's (first) value, trimmed of surrounding white space.
#[derive(Debug, Default, Clone)]
pub struct FormData {
    fields: HashMap<String, String>,
    /// Every value of a field sent several times (checkboxes), in order, trimmed and non-empty.
    repeated: HashMap<String, Vec<String>>,
}

impl FormData {
    /// Parses an urlencoded body.
    pub fn parse(body: &[u8]) -> FormData {
        let mut fields = HashMap::new();
        let mut repeated: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            let v = v.trim();
            if !v.is_empty() {
                repeated
                    .entry(k.clone().into_owned())
                    .or_default()
                    .push(v.to_owned());
            }
            fields.entry(k.into_owned()).or_insert_with(|| v.to_owned());
        }
        FormData { fields, repeated }
    }

    /// The field's value, empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// The field's value, `None` when absent or empty.
    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name))
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Every non-empty value of a field sent several times (a group of checkboxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.repeated.get(name).cloned().unwrap_or_default()
    }

    /// Whether a checkbox (or any field) was sent with a value.
    pub fn has(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let urlencoded = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !urlencoded {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the form as application/x-www-form-urlencoded",
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::BodyTooLarge, "the form is too large")
            } else {
                ApiError::new(ErrorCode::InvalidBody, "the form could not be read")
            }
        })?;
        Ok(FormData::parse(&body))
    }
}

/// The token of forms shown to the holder of `secret` for `purpose` ([`Keys::form_token`]).
pub fn token(keys: &Keys, purpose: &str, secret: &str) -> String {
    keys.form_token(purpose, secret)
}

/// Refuses a form whose `csrf` field is not the token of `secret`.
pub fn check(keys: &Keys, purpose: &str, secret: &str, form: &FormData) -> Result<(), ApiError> {
    let expected = token(keys, purpose, secret);
    if bool::from(expected.as_bytes().ct_eq(form.get("csrf").as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::CsrfTokenInvalid,
            "the form's token is missing or belongs to another session; reload the page and submit again",
        ))
    }
}

/// Field errors of a form, by field name, in the order found.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FieldErrors(pub Vec<(String, String)>);

/// `(field, message)` pairs as a domain error lists them; the first message of a field wins, as
/// with [`FieldErrors::add`].
impl FromIterator<(String, String)> for FieldErrors {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut errors = FieldErrors::default();
        for (f, m) in pairs {
            errors.add(&f, m);
        }
        errors
    }
}

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if !self.0.iter().any(|(f, _)| f == field) {
            self.0.push((field.to_owned(), message.into()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As a map for templates (`errors.name`).
    pub fn map(&self) -> HashMap<&str, &str> {
        self.0
            .iter()
            .map(|(f, m)| (f.as_str(), m.as_str()))
            .collect()
    }

    /// As a problem document's field list (JSON endpoints).
    pub fn into_problem(self) -> ApiError {
        let detail = self
            .0
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut e = ApiError::new(ErrorCode::ValidationFailed, detail);
        for (f, m) in self.0 {
            e = e.field(f, m);
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_trimmed_and_the_first_value_wins() {
        let f = FormData::parse("name=%20%E5%BC%A0%E4%B8%89%20&name=x&empty=".as_bytes());
        assert_eq!(f.get("name"), "张三");
        assert_eq!(f.opt("empty"), None);
        assert_eq!(f.get("absent"), "");
    }
}
