//! Why a marketplace operation failed, and its stable public code.

use platform::admin::AdminError;
use platform::audit::AuditError;
use platform::http::problem::{ApiError, ErrorCode};
use platform::store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MarketError {
    /// Fields refused, each with a message for people (Simplified Chinese), in the form's order.
    #[error("{}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<(String, String)>),
    #[error("no {0} {1}")]
    NotFound(&'static str, String),
    /// The step is not possible in the current state; the message is for people.
    #[error("{step} is not possible: {message}")]
    State { step: &'static str, message: String },
    /// Another institution took the demand first.
    #[error("the demand was taken by another institution")]
    Taken,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Content(#[from] cms::CmsError),
    #[error(transparent)]
    Org(#[from] orgs::OrgError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl From<sqlx::Error> for MarketError {
    fn from(e: sqlx::Error) -> Self {
        MarketError::Store(StoreError::from(e))
    }
}

impl MarketError {
    pub fn field(field: &str, message: impl Into<String>) -> MarketError {
        MarketError::Invalid(vec![(field.to_owned(), message.into())])
    }

    pub fn state(step: &'static str, message: impl Into<String>) -> MarketError {
        MarketError::State {
            step,
            message: message.into(),
        }
    }

    /// The field errors for a form (validation and sensitive words).
    pub fn fields(&self) -> Vec<(String, String)> {
        match self {
            MarketError::Invalid(f) => f.clone(),
            MarketError::Content(c) => c.fields(),
            _ => Vec::new(),
        }
    }

    /// A message for people about a refusal that concerns no single field.
    pub fn message_zh(&self) -> String {
        match self {
            MarketError::State { message, .. } => message.clone(),
            MarketError::Taken => {
                "手慢了：该需求已被其他机构抢单。可在需求市场中继续查看其他需求。".to_owned()
            }
            MarketError::Forbidden(_) => "无权对该内容执行此操作。".to_owned(),
            MarketError::NotFound(..) => "该产品或需求不存在，或您无权查看。".to_owned(),
            MarketError::Content(c) => c.message_zh(),
            other => code(other).title().to_owned(),
        }
    }
}

fn code(e: &MarketError) -> ErrorCode {
    match e {
        MarketError::Invalid(_) => ErrorCode::ValidationFailed,
        MarketError::NotFound(..) => ErrorCode::MarketNotFound,
        MarketError::State { .. } => ErrorCode::MarketStateConflict,
        MarketError::Taken => ErrorCode::DemandTaken,
        MarketError::Forbidden(_) => ErrorCode::MarketForbidden,
        _ => ErrorCode::Internal,
    }
}

impl From<MarketError> for ApiError {
    fn from(e: MarketError) -> Self {
        match e {
            MarketError::Invalid(_) => {
                let fields = e.fields();
                let mut err = ApiError::new(ErrorCode::ValidationFailed, e.to_string());
                for (f, m) in fields {
                    err = err.field(f, m);
                }
                err
            }
            MarketError::Content(c) => c.into(),
            MarketError::Org(o) => o.into(),
            MarketError::Admin(a) => a.into(),
            MarketError::Store(s) => s.into(),
            MarketError::Audit(a) => a.into(),
            MarketError::State { ref message, .. } => {
                let m = message.clone();
                ApiError::new(ErrorCode::MarketStateConflict, m)
            }
            other => ApiError::new(code(&other), other.to_string()),
        }
    }
}
