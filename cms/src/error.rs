//! Why a content operation failed, and its stable public code.

use platform::admin::AdminError;
use platform::audit::AuditError;
use platform::http::problem::{ApiError, ErrorCode};
use platform::store::StoreError;

use crate::model::Status;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CmsError {
    /// Fields refused, each with a message for people (Simplified Chinese), in the order found.
    #[error("{}", describe(.0))]
    Invalid(Vec<(String, String)>),
    /// Sensitive words found, per field: (field, words).
    #[error("sensitive words in {}", .0.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>().join(", "))]
    Sensitive(Vec<(String, Vec<String>)>),
    #[error("no article {0}")]
    NotFound(String),
    #[error("the article is {status}{}: {step} is not possible", if *.in_bin { " (in the recycle bin)" } else { "" })]
    State {
        status: Status,
        in_bin: bool,
        step: &'static str,
    },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("no column {0}")]
    ColumnNotFound(String),
    #[error("no file {0}")]
    FileNotFound(String),
    #[error("{0}")]
    FileRejected(String),
    #[error("the search index cannot answer: {0}")]
    Search(String),
    #[error("the file store failed: {0}")]
    Storage(String),
    #[error(transparent)]
    Admin(AdminError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

fn describe(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(f, m)| format!("{f}: {m}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<sqlx::Error> for CmsError {
    fn from(e: sqlx::Error) -> Self {
        CmsError::Store(StoreError::from(e))
    }
}

impl From<AdminError> for CmsError {
    fn from(e: AdminError) -> Self {
        CmsError::Admin(e)
    }
}

impl CmsError {
    /// A single refused field.
    pub fn field(field: &str, message: impl Into<String>) -> CmsError {
        CmsError::Invalid(vec![(field.to_owned(), message.into())])
    }

    /// The public code (also an audit record's `reason`).
    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            CmsError::Invalid(_) => C::ValidationFailed,
            CmsError::Sensitive(_) => C::SensitiveWords,
            CmsError::NotFound(_) => C::ArticleNotFound,
            CmsError::State { .. } => C::ArticleStateConflict,
            CmsError::Forbidden(_) => C::ArticleForbidden,
            CmsError::ColumnNotFound(_) => C::ColumnNotFound,
            CmsError::FileNotFound(_) => C::FileNotFound,
            CmsError::FileRejected(_) => C::FileRejected,
            CmsError::Search(_) => C::SearchUnavailable,
            CmsError::Admin(AdminError::Forbidden { .. }) => C::Forbidden,
            CmsError::Admin(AdminError::PasswordChangeRequired) => C::PasswordChangeRequired,
            CmsError::Store(StoreError::Unavailable(_)) => C::StoreUnavailable,
            CmsError::Audit(AuditError::Store(StoreError::Unavailable(_))) => C::StoreUnavailable,
            CmsError::Audit(AuditError::Store(_)) => C::Internal,
            CmsError::Audit(_) => C::AuditUnavailable,
            CmsError::Storage(_) => C::StorageUnavailable,
            CmsError::Admin(_) | CmsError::Store(_) => C::Internal,
        }
    }

    /// The field errors people see, in Chinese: refused fields, or each field's sensitive
    /// words marked.
    pub fn fields(&self) -> Vec<(String, String)> {
        match self {
            CmsError::Invalid(f) => f.clone(),
            CmsError::Sensitive(f) => f
                .iter()
                .map(|(field, words)| {
                    (
                        field.clone(),
                        format!(
                            "含有敏感词：{}，请修改后再提交",
                            words
                                .iter()
                                .map(|w| format!("「{w}」"))
                                .collect::<Vec<_>>()
                                .join("、")
                        ),
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A message for people about a refusal that concerns no single field.
    pub fn message_zh(&self) -> String {
        match self {
            CmsError::State { status, in_bin, .. } => {
                if *in_bin {
                    "该内容在回收站中，请先恢复。".to_owned()
                } else {
                    format!("该内容当前为「{}」，不能执行此操作。", status.label_zh())
                }
            }
            CmsError::Forbidden(_) => "无权对该内容执行此操作。".to_owned(),
            CmsError::FileRejected(m) => m.clone(),
            other => other.code().title().to_owned(),
        }
    }
}

impl From<CmsError> for ApiError {
    fn from(e: CmsError) -> Self {
        match e {
            CmsError::Invalid(_) | CmsError::Sensitive(_) => {
                let fields = e.fields();
                let mut err = ApiError::new(e.code(), e.to_string());
                for (f, m) in fields {
                    err = err.field(f, m);
                }
                err
            }
            CmsError::FileRejected(m) => ApiError::new(ErrorCode::FileRejected, m),
            CmsError::Admin(a) => a.into(),
            CmsError::Store(s) => s.into(),
            CmsError::Audit(a) => a.into(),
            other => ApiError::domain(other.code(), other),
        }
    }
}
