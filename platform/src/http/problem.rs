//! The one place where errors become HTTP: stable error codes, `application/problem+json`
//! (RFC 9457) bodies with the request id, and the mapping of every domain error.
//!
//! Handlers return [`ApiError`]; it travels up the middleware stack as a response extension and
//! the outermost layer renders it (it knows the request id). Responses the framework produces by
//! itself (unknown route, wrong method, body too large, cross-origin refusal, timeout) are given
//! their code there too, so no error leaves the hub without one.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::accounts::AccountError;
use crate::admin::AdminError;
use crate::audit::AuditError;
use crate::sessions::SessionError;
use crate::store::StoreError;

macro_rules! error_codes {
    ($( $variant:ident = ($code:literal, $status:ident, $title:literal), )*) => {
        /// Every stable error code the hub returns. Renaming one is a breaking change.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode { $( $variant, )* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            pub fn status(self) -> StatusCode {
                match self { $( ErrorCode::$variant => StatusCode::$status, )* }
            }

            /// Short summary for people, in the users' language (Simplified Chinese).
            pub fn title(self) -> &'static str {
                match self { $( ErrorCode::$variant => $title, )* }
            }
        }
    };
}

error_codes! {
    NotFound = ("request.not_found", NOT_FOUND, "请求的资源不存在"),
    MethodNotAllowed = ("request.method_not_allowed", METHOD_NOT_ALLOWED, "不支持该请求方法"),
    BodyTooLarge = ("request.body_too_large", PAYLOAD_TOO_LARGE, "请求内容超过大小限制"),
    UnsupportedMediaType = ("request.unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "不支持的内容类型"),
    InvalidBody = ("request.invalid_body", BAD_REQUEST, "请求内容格式错误"),
    InvalidQuery = ("request.invalid_query", BAD_REQUEST, "查询参数错误"),
    InvalidPath = ("request.invalid_path", BAD_REQUEST, "路径参数错误"),
    BadRequest = ("request.bad_request", BAD_REQUEST, "请求无效"),
    Timeout = ("request.timeout", SERVICE_UNAVAILABLE, "请求处理超时"),
    CrossOrigin = ("request.cross_origin", FORBIDDEN, "跨站请求已被拒绝"),
    RateLimited = ("request.rate_limited", TOO_MANY_REQUESTS, "请求过于频繁，请稍后再试"),
    ValidationFailed = ("validation.failed", UNPROCESSABLE_ENTITY, "参数校验未通过"),
    Unauthenticated = ("auth.unauthenticated", UNAUTHORIZED, "请先登录"),
    SessionExpired = ("auth.session_expired", UNAUTHORIZED, "登录已过期，请重新登录"),
    TokenInvalid = ("auth.token_invalid", UNAUTHORIZED, "访问令牌无效、已过期或已撤销"),
    Forbidden = ("auth.forbidden", FORBIDDEN, "无权执行此操作"),
    CredentialsInvalid = ("admin.credentials_invalid", UNAUTHORIZED, "用户名、密码或动态口令错误"),
    AccountLocked = ("admin.account_locked", LOCKED, "账号因多次登录失败已被锁定"),
    AccountDisabled = ("admin.account_disabled", UNAUTHORIZED, "账号已停用"),
    PasswordChangeRequired = ("admin.password_change_required", FORBIDDEN, "请先修改初始密码"),
    AdminNotFound = ("admin.not_found", NOT_FOUND, "管理员不存在"),
    TokenNotFound = ("admin.token_not_found", NOT_FOUND, "访问令牌不存在"),
    UsernameTaken = ("admin.username_taken", CONFLICT, "用户名已被占用"),
    LastSecurityAdmin = ("admin.last_security_admin", CONFLICT, "必须保留至少一名启用的安全管理员"),
    SelfModification = ("admin.self_modification", CONFLICT, "不能修改自己的角色或状态"),
    CsrfTokenInvalid = ("request.csrf_token_invalid", FORBIDDEN, "表单已失效，请刷新后重试"),
    ProviderUnknown = ("sso.provider_unknown", NOT_FOUND, "该身份认证方式不存在"),
    LoginUnsupported = ("sso.login_unsupported", BAD_REQUEST, "该认证方式不支持从本平台发起登录"),
    StateInvalid = ("sso.state_invalid", BAD_REQUEST, "登录请求已失效"),
    TicketMissing = ("sso.ticket_missing", BAD_REQUEST, "未获得登录凭证"),
    TicketInvalid = ("sso.ticket_invalid", UNAUTHORIZED, "登录凭证无效或已过期"),
    TicketReplayed = ("sso.ticket_replayed", UNAUTHORIZED, "登录凭证已被使用"),
    ProviderUnavailable = ("sso.provider_unavailable", BAD_GATEWAY, "身份认证平台暂时无法访问"),
    ProviderRefused = ("sso.provider_refused", BAD_GATEWAY, "身份认证平台拒绝了请求"),
    AccessDenied = ("sso.access_denied", FORBIDDEN, "认证平台未授权本次登录"),
    IdentityIncomplete = ("sso.identity_incomplete", BAD_GATEWAY, "认证平台返回的身份信息不完整"),
    IdentityInvalid = ("sso.identity_invalid", BAD_GATEWAY, "认证平台返回的身份信息有误"),
    EntryInvalid = ("sso.entry_invalid", BAD_REQUEST, "跳转参数错误"),
    SignatureInvalid = ("sso.signature_invalid", UNAUTHORIZED, "签名验证未通过"),
    TimestampStale = ("sso.timestamp_stale", UNAUTHORIZED, "跳转请求已过期"),
    NonceReplayed = ("sso.nonce_replayed", UNAUTHORIZED, "跳转请求已被使用"),
    TargetNotAllowed = ("sso.target_not_allowed", BAD_REQUEST, "目标地址不在允许范围内"),
    IdTokenInvalid = ("sso.id_token_invalid", UNAUTHORIZED, "身份令牌无效"),
    NonceMismatch = ("sso.nonce_mismatch", UNAUTHORIZED, "身份令牌与本次登录不匹配"),
    UserInfoMismatch = ("sso.userinfo_mismatch", UNAUTHORIZED, "用户信息与身份令牌不一致"),
    LogoutTokenInvalid = ("sso.logout_token_invalid", BAD_REQUEST, "退出通知无效"),
    AccountNotLinked = ("sso.account_not_linked", FORBIDDEN, "该身份尚未关联平台账号"),
    IdentityLinkedElsewhere = ("sso.identity_linked_elsewhere", CONFLICT, "该身份已关联其他账号"),
    IdentityChanged = ("sso.identity_changed", CONFLICT, "身份信息与已关联的账号不一致"),
    AccountNotFound = ("account.not_found", NOT_FOUND, "账号不存在"),
    UserAccountDisabled = ("account.disabled", FORBIDDEN, "账号已停用"),
    IdentityNotFound = ("account.identity_not_found", NOT_FOUND, "身份关联不存在"),
    LastIdentity = ("account.last_identity", CONFLICT, "不能解除账号唯一的身份关联"),
    SessionNotFound = ("account.session_not_found", NOT_FOUND, "会话不存在"),
    OrgNotFound = ("org.not_found", NOT_FOUND, "机构不存在"),
    OrgNotPending = ("org.not_pending", CONFLICT, "该机构不在待审核状态"),
    OrgNotApproved = ("org.not_approved", FORBIDDEN, "机构尚未通过审核或已停用"),
    OrgForbidden = ("org.forbidden", FORBIDDEN, "无权操作该机构的数据"),
    OrgDuplicate = ("org.duplicate", CONFLICT, "该机构或账号已登记"),
    OrgStateConflict = ("org.state_conflict", CONFLICT, "机构当前状态不允许此操作"),
    ArticleNotFound = ("content.not_found", NOT_FOUND, "内容不存在"),
    ArticleStateConflict = ("content.state_conflict", CONFLICT, "内容当前状态不允许此操作"),
    ArticleForbidden = ("content.forbidden", FORBIDDEN, "无权操作该内容"),
    SensitiveWords = ("content.sensitive_words", UNPROCESSABLE_ENTITY, "内容含有敏感词，请修改后再提交"),
    FileRejected = ("content.file_rejected", UNPROCESSABLE_ENTITY, "文件类型或大小不符合要求"),
    FileNotFound = ("content.file_not_found", NOT_FOUND, "文件不存在"),
    StorageUnavailable = ("content.storage_unavailable", SERVICE_UNAVAILABLE, "文件存储暂时不可用，请稍后再试"),
    ColumnNotFound = ("content.column_not_found", NOT_FOUND, "栏目不存在"),
    SearchUnavailable = ("content.search_unavailable", SERVICE_UNAVAILABLE, "搜索暂时不可用"),
    MarketNotFound = ("market.not_found", NOT_FOUND, "产品或需求不存在"),
    MarketStateConflict = ("market.state_conflict", CONFLICT, "当前状态不允许此操作"),
    MarketForbidden = ("market.forbidden", FORBIDDEN, "无权操作该产品或需求"),
    DemandTaken = ("market.already_taken", CONFLICT, "该需求已被其他机构抢单"),
    ConnectorNotFound = ("connectors.not_found", NOT_FOUND, "外部平台不存在"),
    ConnectorExists = ("connectors.exists", CONFLICT, "该外部平台代码已存在"),
    ConnectorVersionConflict = ("connectors.version_conflict", CONFLICT, "外部平台配置已被修改，请刷新后重试"),
    NothingToRollBack = ("connectors.nothing_to_roll_back", CONFLICT, "没有可回滚的历史版本"),
    ConnectorUnavailable = ("connectors.unavailable", NOT_FOUND, "该服务不存在或暂未开通"),
    SignInUnavailable = ("connectors.sign_in_unavailable", SERVICE_UNAVAILABLE, "暂无可用的登录方式"),
    HandoffUnavailable = ("connectors.handoff_unavailable", SERVICE_UNAVAILABLE, "暂时无法跳转到该平台"),
    ExchangeUnauthenticated = ("exchange.unauthenticated", UNAUTHORIZED, "合作方身份验证未通过"),
    PartnerDisabled = ("exchange.partner_disabled", FORBIDDEN, "该合作方已停用"),
    MessageTypeUnknown = ("exchange.message_type_unknown", NOT_FOUND, "不支持该报文类型"),
    MessageTypeNotAllowed = ("exchange.message_type_not_allowed", FORBIDDEN, "该合作方无权发送此类报文"),
    JsonMalformed = ("exchange.json_malformed", BAD_REQUEST, "JSON 格式错误"),
    MessageIdMissing = ("exchange.message_id_missing", UNPROCESSABLE_ENTITY, "报文缺少报文编号"),
    MessageIdInvalid = ("exchange.message_id_invalid", UNPROCESSABLE_ENTITY, "报文编号格式错误"),
    MessageIdMismatch = ("exchange.message_id_mismatch", UNPROCESSABLE_ENTITY, "报文头与报文体的编号不一致"),
    MessageIdReused = ("exchange.message_id_reused", CONFLICT, "该报文编号已用于另一份报文"),
    MessageNotFound = ("exchange.message_not_found", NOT_FOUND, "报文不存在"),
    PayloadNotRetained = ("exchange.payload_not_retained", GONE, "报文原文已超过保存期限"),
    NothingToReplay = ("exchange.nothing_to_replay", CONFLICT, "没有可重新投递的记录"),
    PartnerNotFound = ("exchange.partner_not_found", NOT_FOUND, "合作方不存在"),
    PartnerExists = ("exchange.partner_exists", CONFLICT, "该合作方标识已存在"),
    PartnerReadOnly = ("exchange.partner_read_only", CONFLICT, "该合作方在配置文件中定义，请在配置文件中修改"),
    PartnerNotReceiving = ("exchange.partner_not_receiving", CONFLICT, "该合作方未配置接收报文的地址"),
    MappingNotFound = ("exchange.mapping_not_found", NOT_FOUND, "映射不存在"),
    MappingXmlMalformed = ("mapping.xml_malformed", BAD_REQUEST, "XML 格式错误"),
    MappingDtdForbidden = ("mapping.dtd_forbidden", BAD_REQUEST, "不接受文档类型声明（DTD）"),
    MappingEntityForbidden = ("mapping.entity_forbidden", BAD_REQUEST, "不接受自定义实体引用"),
    MappingLimitExceeded = ("mapping.limit_exceeded", BAD_REQUEST, "报文超出解析限制"),
    MappingEncodingUnsupported = ("mapping.encoding_unsupported", UNSUPPORTED_MEDIA_TYPE, "不支持该字符编码"),
    MappingEncodingInvalid = ("mapping.encoding_invalid", BAD_REQUEST, "报文字符编码错误"),
    MappingSchemaInvalid = ("mapping.schema_invalid", UNPROCESSABLE_ENTITY, "报文不符合模式定义"),
    MappingRequiredMissing = ("mapping.required_missing", UNPROCESSABLE_ENTITY, "缺少必填项"),
    MappingTypeInvalid = ("mapping.type_invalid", UNPROCESSABLE_ENTITY, "字段值类型错误"),
    MappingEnumUnknown = ("mapping.enum_unknown", UNPROCESSABLE_ENTITY, "代码值不在取值范围内"),
    MappingMixedContent = ("mapping.mixed_content", UNPROCESSABLE_ENTITY, "不接受混合内容"),
    MappingUnknown = ("mapping.unknown", UNPROCESSABLE_ENTITY, "包含映射未定义的内容"),
    MappingSoapFault = ("mapping.soap_fault", UNPROCESSABLE_ENTITY, "报文为 SOAP 错误应答"),
    MappingPayloadInvalid = ("mapping.payload_invalid", BAD_REQUEST, "报文载荷无法解码"),
    MappingSignatureInvalid = ("mapping.signature_invalid", UNPROCESSABLE_ENTITY, "报文签名验证未通过"),
    MappingDefinitionInvalid = ("mapping.definition_invalid", UNPROCESSABLE_ENTITY, "映射定义无效"),
    StoreUnavailable = ("store.unavailable", SERVICE_UNAVAILABLE, "数据库暂不可用"),
    AuditUnavailable = ("audit.unavailable", SERVICE_UNAVAILABLE, "审计服务暂不可用，操作未执行"),
    Internal = ("internal", INTERNAL_SERVER_ERROR, "服务器内部错误"),
}

/// One invalid field of a request.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The problem+json document (RFC 9457) every error response carries.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ProblemDocument {
    /// `urn:hub:error:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code, e.g. `auth.forbidden`.
    pub code: String,
    /// What went wrong and what to do about it.
    pub detail: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Invalid documents: the 1-based line of the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Invalid documents: the 1-based column (bytes) of the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Invalid documents: the element path (`/Notice/Demand[2]/Amount`) or JSON path
    /// (`$.demands[1].amount`) of the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Where in a document an error was found.
#[derive(Clone, Debug, Default)]
pub struct DocumentLocation {
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub path: Option<String>,
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: Cow<'static, str>,
    pub errors: Vec<FieldError>,
    /// Boxed: it is rare, and errors travel in `Result`s everywhere.
    pub location: Option<Box<DocumentLocation>>,
    pub retry_after: Option<u64>,
    /// Logged (with the whole chain) for 5xx; never sent.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The part of an [`ApiError`] that rides in the response extensions to the renderer.
#[derive(Clone, Debug)]
pub struct Problem {
    pub code: ErrorCode,
    pub detail: Cow<'static, str>,
    pub errors: Vec<FieldError>,
    pub location: Option<Box<DocumentLocation>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            location: None,
            retry_after: None,
            source: None,
        }
    }

    /// Places the error in a document (line, column, path).
    pub fn at(mut self, location: DocumentLocation) -> Self {
        self.location = Some(Box::new(location));
        self
    }

    pub fn field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
        self
    }

    pub fn with_source(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(e));
        self
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::new(
            ErrorCode::Internal,
            "an internal error occurred; quote the request id to the operators",
        )
        .with_source(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code.status().is_server_error() {
            let chain = self
                .source
                .as_deref()
                .map(|e| telemetry::chain(e as &(dyn std::error::Error + 'static)))
                .unwrap_or_default();
            tracing::error!(code = self.code.as_str(), error = %chain, "request failed");
        }
        let mut res = self.code.status().into_response();
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res.extensions_mut().insert(Problem {
            code: self.code,
            detail: self.detail,
            errors: self.errors,
            location: self.location,
        });
        res
    }
}

/// The code for a bare framework response of this status.
pub fn code_for_status(status: StatusCode, csrf_refusal: bool) -> ErrorCode {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ErrorCode::Timeout,
        StatusCode::FORBIDDEN if csrf_refusal => ErrorCode::CrossOrigin,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::StoreUnavailable,
        s if s.is_client_error() => ErrorCode::BadRequest,
        _ => ErrorCode::Internal,
    }
}

pub fn default_detail(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => {
            "no such resource; check the path (the API is described at /openapi.json)"
        }
        ErrorCode::MethodNotAllowed => "this path does not accept this method; see /openapi.json",
        ErrorCode::BodyTooLarge => "the request body exceeds the limit (server.body_limit)",
        ErrorCode::UnsupportedMediaType => "send the body as application/json",
        ErrorCode::Timeout => {
            "the request took longer than the limit (server.request_timeout); try again"
        }
        ErrorCode::CrossOrigin => {
            "cross-site requests that change state are refused; send the request from the hub's own pages or without browser origin headers"
        }
        ErrorCode::RateLimited => "too many attempts from this address; wait and try again",
        ErrorCode::Unauthenticated => "sign in or send an API token (Authorization: Bearer ...)",
        ErrorCode::Forbidden => "your role lacks the permission for this action",
        _ => "the request could not be processed",
    }
}

pub fn render(problem: &Problem, request_id: &str) -> Vec<u8> {
    let doc = ProblemDocument {
        type_: format!("urn:hub:error:{}", problem.code.as_str()),
        title: problem.code.title().to_owned(),
        status: problem.code.status().as_u16(),
        code: problem.code.as_str().to_owned(),
        detail: problem.detail.to_string(),
        request_id: request_id.to_owned(),
        errors: problem.errors.clone(),
        line: problem.location.as_ref().and_then(|l| l.line),
        column: problem.location.as_ref().and_then(|l| l.column),
        path: problem.location.as_ref().and_then(|l| l.path.clone()),
    };
    serde_json::to_vec(&doc).unwrap_or_default()
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        use ErrorCode as C;
        match e {
            AdminError::CredentialsInvalid => ApiError::new(
                C::CredentialsInvalid,
                "user name, password or one-time code is wrong; repeated failures lock the account",
            ),
            AdminError::AccountLocked {
                until,
                retry_after_secs,
            } => {
                let mut err = ApiError::new(
                    C::AccountLocked,
                    format!(
                        "locked after repeated sign-in failures until {}; a security administrator can unlock it",
                        until.to_rfc3339()
                    ),
                );
                err.retry_after = Some(retry_after_secs);
                err
            }
            AdminError::AccountDisabled => ApiError::new(
                C::AccountDisabled,
                "this administrator account is disabled; ask a security administrator",
            ),
            AdminError::Unauthenticated => {
                ApiError::new(C::Unauthenticated, default_detail(C::Unauthenticated))
            }
            AdminError::SessionExpired => ApiError::new(
                C::SessionExpired,
                "the session ended (idle or lifetime limit); sign in again",
            ),
            AdminError::TokenInvalid => ApiError::new(
                C::TokenInvalid,
                "the API token is unknown, expired or revoked; issue a new one",
            ),
            AdminError::Forbidden { role, permission } => ApiError::new(
                C::Forbidden,
                format!("the role {role} lacks the permission {permission}"),
            ),
            AdminError::PasswordChangeRequired => ApiError::new(
                C::PasswordChangeRequired,
                "change the issued password first: PUT /api/admin/session/password",
            ),
            AdminError::NotFound(id) => {
                ApiError::new(C::AdminNotFound, format!("no administrator with id {id}"))
            }
            AdminError::TokenNotFound(id) => ApiError::new(
                C::TokenNotFound,
                format!("no API token with id {id} that you may manage"),
            ),
            AdminError::UsernameTaken(u) => ApiError::new(
                C::UsernameTaken,
                format!("the user name {u} is taken; choose another"),
            ),
            AdminError::LastSecurityAdmin => ApiError::new(
                C::LastSecurityAdmin,
                "this would leave no active security administrator; appoint another first",
            ),
            AdminError::SelfModification => ApiError::new(
                C::SelfModification,
                "administrators cannot change their own role or status, reset or delete themselves; ask another security administrator",
            ),
            AdminError::Invalid { field, message } => {
                ApiError::new(C::ValidationFailed, format!("{field} {message}"))
                    .field(field, message)
            }
            AdminError::Store(e) => e.into(),
            AdminError::Audit(e) => e.into(),
            e @ AdminError::Crypto(_) => ApiError::internal(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => ApiError::new(
                ErrorCode::StoreUnavailable,
                "the database is unavailable; try again shortly",
            )
            .with_source(e),
            e => ApiError::internal(e),
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Store(s) => s.into(),
            e => ApiError::new(
                ErrorCode::AuditUnavailable,
                "the audit trail cannot record this action, so it was not carried out; try again shortly",
            )
            .with_source(e),
        }
    }
}

/// The public code of an account failure (also an audit record's `reason`).
pub fn account_error_code(e: &AccountError) -> ErrorCode {
    use ErrorCode as C;
    match e {
        AccountError::NotLinked => C::AccountNotLinked,
        AccountError::LinkedElsewhere => C::IdentityLinkedElsewhere,
        AccountError::KeyChanged => C::IdentityChanged,
        AccountError::LastIdentity => C::LastIdentity,
        AccountError::Disabled => C::UserAccountDisabled,
        AccountError::NotFound(_) => C::AccountNotFound,
        AccountError::IdentityNotFound { .. } => C::IdentityNotFound,
        AccountError::SessionNotFound { .. } => C::SessionNotFound,
        AccountError::Store(StoreError::Unavailable(_)) => C::StoreUnavailable,
        AccountError::Audit(_) => C::AuditUnavailable,
        _ => C::Internal,
    }
}

/// The public code of a session failure.
pub fn session_error_code(e: &SessionError) -> ErrorCode {
    use ErrorCode as C;
    match e {
        SessionError::Missing => C::Unauthenticated,
        SessionError::Expired => C::SessionExpired,
        SessionError::Store(StoreError::Unavailable(_)) => C::StoreUnavailable,
        _ => C::Internal,
    }
}

impl ApiError {
    /// A domain error under its public code: our own failures (500, 503) tell the client
    /// nothing internal and keep the error for the log; a provider's (502) and the client's
    /// (4xx) are described by the domain message, which never carries secrets.
    pub fn domain(code: ErrorCode, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        if code.status().is_server_error() && code.status() != StatusCode::BAD_GATEWAY {
            return ApiError::new(code, default_detail(code)).with_source(e);
        }
        ApiError::new(code, e.to_string())
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        ApiError::domain(account_error_code(&e), e)
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        ApiError::domain(session_error_code(&e), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let doc = include_str!("../../../docs/ERRORS.md");
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {}", c.as_str());
            assert!(
                doc.contains(&format!("`{}`", c.as_str())),
                "docs/ERRORS.md does not list {}",
                c.as_str()
            );
        }
    }
}
