//! Local administrators (REQUIREMENTS E1, G1): accounts with argon2id passwords and a TOTP
//! second factor, lockout after repeated failures, server-side console sessions, API tokens for
//! automation, and the three separated roles. Every change and every sign-in is audited.

mod password;
mod role;
pub mod totp;

use std::sync::Arc;

use guomi::FieldCipher;

pub use role::{Permission, Role};

use crate::audit::{Actor, ActorKind, AuditError, AuditEvent, AuditLog, Outcome};
use crate::clock::{Clock, Millis};
use crate::config::{AdminConfig, Secret};
use crate::context::RequestContext;
use crate::paging::{Page, Paged};
use crate::store::{Db, StoreError, with_pool};

pub const SESSION_COOKIE: &str = "__Host-hub_admin";
const TOKEN_PREFIX: &str = "hubt_";
/// How often a session's or token's last-use time is written at most.
const TOUCH_EVERY_MS: i64 = 60_000;
const ISSUER: &str = "龙岩普惠金融平台";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    #[error("user name, password or one-time code is wrong")]
    CredentialsInvalid,
    #[error("the account is locked after repeated failures until {}", until.to_rfc3339())]
    AccountLocked {
        until: Millis,
        retry_after_secs: u64,
    },
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("sign in first")]
    Unauthenticated,
    #[error("the session has expired; sign in again")]
    SessionExpired,
    #[error("the API token is invalid, expired or revoked")]
    TokenInvalid,
    #[error("the role {role} lacks the permission {permission}")]
    Forbidden {
        role: Role,
        permission: &'static str,
    },
    #[error("change the issued password before doing anything else")]
    PasswordChangeRequired,
    #[error("no administrator {0}")]
    NotFound(String),
    #[error("no API token {0}")]
    TokenNotFound(String),
    #[error("the user name {0} is taken")]
    UsernameTaken(String),
    #[error("this would leave no active security administrator")]
    LastSecurityAdmin,
    #[error("administrators cannot change their own role or status, or delete themselves")]
    SelfModification,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cryptographic failure")]
    Crypto(#[from] guomi::Error),
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        AdminError::Store(StoreError::from(e))
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

#[derive(Clone, Debug, sqlx::FromRow)]
struct AdminRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    status: String,
    password_hash: String,
    must_change_password: bool,
    totp_secret: Vec<u8>,
    totp_last_step: i64,
    locked_until: Option<i64>,
    last_login_at: Option<i64>,
    created_at: i64,
}

const ADMIN_COLUMNS: &str = "id, username, display_name, role, status, password_hash, must_change_password, totp_secret, totp_last_step, locked_until, last_login_at, created_at";

/// An administrator as the API shows it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AdminView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// `active` or `disabled`.
    pub status: String,
    /// RFC 3339; present while the account is locked.
    pub locked_until: Option<String>,
    pub must_change_password: bool,
    pub last_login_at: Option<String>,
    pub created_at: String,
}

/// Credentials issued to a new administrator (or on reset). Shown once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedCredentials {
    pub admin: AdminView,
    /// The initial password; it must be changed at first sign-in.
    pub password: String,
    /// The TOTP secret in base32, for manual entry into an authenticator app.
    pub totp_secret: String,
    /// The `otpauth://` URI to import (e.g. as a QR code).
    pub totp_uri: String,
}

/// An API token as listed (never the token itself).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub owner_admin_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub owner_admin_id: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

impl From<TokenRow> for TokenView {
    fn from(t: TokenRow) -> Self {
        let ts = |m: i64| Millis(m).to_rfc3339();
        TokenView {
            id: t.id,
            name: t.name,
            role: t.role,
            owner_admin_id: t.owner_admin_id,
            created_at: ts(t.created_at),
            expires_at: ts(t.expires_at),
            revoked_at: t.revoked_at.map(ts),
            last_used_at: t.last_used_at.map(ts),
        }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// The bearer token. It is shown once and stored only as a digest.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenView,
}

/// Who is calling the administration API.
#[derive(Clone, Debug)]
pub struct Principal {
    pub role: Role,
    pub who: Who,
}

#[derive(Clone, Debug)]
pub enum Who {
    Session {
        admin_id: String,
        username: String,
        must_change_password: bool,
    },
    Token {
        token_id: String,
        name: String,
        owner_admin_id: Option<String>,
    },
}

impl Principal {
    pub fn actor(&self) -> Actor {
        match &self.who {
            Who::Session {
                admin_id, username, ..
            } => Actor::new(
                ActorKind::Admin,
                Some(admin_id.clone()),
                Some(username.clone()),
            ),
            Who::Token { token_id, name, .. } => {
                Actor::new(ActorKind::Token, Some(token_id.clone()), Some(name.clone()))
            }
        }
    }

    /// The administrator account behind this principal, if any.
    pub fn admin_id(&self) -> Option<&str> {
        match &self.who {
            Who::Session { admin_id, .. } => Some(admin_id),
            Who::Token { owner_admin_id, .. } => owner_admin_id.as_deref(),
        }
    }

    /// Permission check without side effects; see [`Admins::authorize`] for the audited one.
    pub fn check(&self, p: Permission) -> AdminResult<()> {
        if let Who::Session {
            must_change_password: true,
            ..
        } = self.who
        {
            return Err(AdminError::PasswordChangeRequired);
        }
        if self.role.can(p) {
            Ok(())
        } else {
            Err(AdminError::Forbidden {
                role: self.role,
                permission: p.as_str(),
            })
        }
    }
}

/// A new console session: the cookie value (secret) and when it ends.
#[derive(Debug)]
pub struct NewSession {
    pub cookie_value: Secret,
    pub admin: AdminView,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// `active` or `disabled`.
    pub status: Option<String>,
}

pub struct Admins {
    db: Db,
    cipher: Arc<dyn FieldCipher>,
    clock: Arc<dyn Clock>,
    cfg: AdminConfig,
    audit: AuditLog,
}

impl std::fmt::Debug for Admins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admins").finish_non_exhaustive()
    }
}

fn retry_after(now: Millis, until: Millis) -> u64 {
    u64::try_from((until.0 - now.0).max(0) / 1000 + 1).unwrap_or(1)
}

fn digest(secret: &str) -> Vec<u8> {
    guomi::sm3(secret.as_bytes()).to_vec()
}

fn random_secret() -> AdminResult<String> {
    use base64::Engine;
    let bytes: [u8; 32] = guomi::random_bytes()?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn totp_aad(admin_id: &str) -> Vec<u8> {
    format!("admins.totp_secret:{admin_id}").into_bytes()
}

/// Refuses a role that only API tokens of systems may hold.
fn people_role(role: Role) -> AdminResult<()> {
    if role.for_people() {
        Ok(())
    } else {
        Err(AdminError::Invalid {
            field: "role",
            message: format!(
                "{} is for API tokens of internal systems, not for administrators",
                role.as_str()
            ),
        })
    }
}

fn validate_username(u: &str) -> AdminResult<String> {
    let u = u.trim().to_lowercase();
    let ok = (3..=32).contains(&u.len())
        && u.starts_with(|c: char| c.is_ascii_lowercase())
        && u.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(u)
    } else {
        Err(AdminError::Invalid {
            field: "username",
            message: "must be 3 to 32 characters: a letter, then letters, digits, '.', '_' or '-'"
                .into(),
        })
    }
}

fn validate_display_name(d: &str) -> AdminResult<String> {
    let d = d.trim();
    if d.is_empty() || d.chars().count() > 64 || d.chars().any(char::is_control) {
        return Err(AdminError::Invalid {
            field: "display_name",
            message: "must be 1 to 64 printable characters".into(),
        });
    }
    Ok(d.to_owned())
}

impl Admins {
    pub fn new(
        db: Db,
        cipher: Arc<dyn FieldCipher>,
        clock: Arc<dyn Clock>,
        cfg: AdminConfig,
        audit: AuditLog,
    ) -> Self {
        Admins {
            db,
            cipher,
            clock,
            cfg,
            audit,
        }
    }

    fn view(&self, r: &AdminRow) -> AdminView {
        let now = self.clock.now().0;
        AdminView {
            id: r.id.clone(),
            username: r.username.clone(),
            display_name: r.display_name.clone(),
            role: r.role.parse().unwrap_or(Role::AuditAdmin),
            status: r.status.clone(),
            locked_until: r
                .locked_until
                .filter(|t| *t > now)
                .map(|t| Millis(t).to_rfc3339()),
            must_change_password: r.must_change_password,
            last_login_at: r.last_login_at.map(|t| Millis(t).to_rfc3339()),
            created_at: Millis(r.created_at).to_rfc3339(),
        }
    }

    async fn row_by(&self, column: &'static str, value: &str) -> AdminResult<Option<AdminRow>> {
        let sql = match column {
            "id" => format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE id = $1"),
            _ => format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE username = $1"),
        };
        let row = with_pool!(self.db.read(), |p| {
            sqlx::query_as::<_, AdminRow>(sqlx::AssertSqlSafe(sql))
                .bind(value)
                .fetch_optional(p)
                .await
        })?;
        Ok(row)
    }

    async fn row(&self, id: &str) -> AdminResult<AdminRow> {
        self.row_by("id", id)
            .await?
            .ok_or_else(|| AdminError::NotFound(id.to_owned()))
    }

    async fn record(&self, e: AuditEvent) -> AdminResult<()> {
        self.audit.append(e).await?;
        Ok(())
    }

    /// Checks `p` for `principal`, recording a denial in the audit trail.
    pub async fn authorize(
        &self,
        principal: &Principal,
        p: Permission,
        ctx: &RequestContext,
    ) -> AdminResult<()> {
        match principal.check(p) {
            Err(e @ AdminError::Forbidden { .. }) => {
                self.record(
                    AuditEvent::new("access.denied", Outcome::Denied)
                        .actor(principal.actor())
                        .reason("auth.forbidden")
                        .details(serde_json::json!({ "permission": p.as_str(), "role": principal.role.as_str() }))
                        .context(ctx),
                )
                .await?;
                Err(e)
            }
            other => other,
        }
    }

    /// Creates an administrator with a generated password (to be changed at first sign-in) and
    /// a fresh TOTP secret. `by` is `None` for the command line.
    pub async fn create(
        &self,
        by: Option<&Principal>,
        username: &str,
        display_name: &str,
        role: Role,
        ctx: &RequestContext,
    ) -> AdminResult<IssuedCredentials> {
        let username = validate_username(username)?;
        let display_name = validate_display_name(display_name)?;
        people_role(role)?;
        let id = uuid::Uuid::now_v7().to_string();
        let (password, phc, secret) = self.fresh_credentials().await?;
        let enc = self.cipher.encrypt(&secret, &totp_aad(&id))?;
        let now = self.clock.now().0;
        let inserted = with_pool!(self.db.write(), |p| {
            sqlx::query("INSERT INTO admins (id, username, display_name, role, status, password_hash, must_change_password, password_changed_at, totp_secret, totp_last_step, failed_attempts, locked_until, last_login_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, 0, 0, NULL, NULL, $7, $7)")
                .bind(&id)
                .bind(&username)
                .bind(&display_name)
                .bind(role.as_str())
                .bind(&phc)
                .bind(true)
                .bind(now)
                .bind(enc.as_slice())
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        });
        if let Err(e) = inserted {
            let e = StoreError::from(e);
            return Err(if e.is_unique_violation() {
                AdminError::UsernameTaken(username)
            } else {
                e.into()
            });
        }
        self.record(
            AuditEvent::new("admin.created", Outcome::Success)
                .actor(by.map_or_else(Actor::system, Principal::actor))
                .target(format!("admin:{id}"))
                .details(serde_json::json!({ "after": { "username": username, "display_name": display_name, "role": role.as_str() } }))
                .context(ctx),
        )
        .await?;
        let row = self.row(&id).await?;
        Ok(IssuedCredentials {
            admin: self.view(&row),
            totp_secret: totp::base32(&secret),
            totp_uri: totp::provisioning_uri(ISSUER, &username, &secret),
            password,
        })
    }

    async fn fresh_credentials(&self) -> AdminResult<(String, String, [u8; 20])> {
        let password = password::generate().ok_or(guomi::Error::RandomUnavailable)?;
        let phc = hash_blocking(password.clone()).await?;
        let secret: [u8; 20] = guomi::random_bytes()?;
        Ok((password, phc, secret))
    }

    /// Signs in with password and TOTP code. Failures count towards the lockout; the response
    /// does not say which factor was wrong.
    pub async fn login(
        &self,
        username: &str,
        password_text: &str,
        code: &str,
        ctx: &RequestContext,
    ) -> AdminResult<NewSession> {
        let username = username.trim().to_lowercase();
        let now = self.clock.now();
        let fail = |reason: &'static str, actor: Actor, detail: serde_json::Value| {
            AuditEvent::new("admin.login", Outcome::Failure)
                .actor(actor)
                .reason(reason)
                .details(detail)
                .context(ctx)
        };
        let shown_name: String = username.chars().take(64).collect();
        let Some(row) = self.row_by("username", &username).await? else {
            let pw = password_text.to_owned();
            let _ = tokio::task::spawn_blocking(move || password::verify_dummy(&pw)).await;
            self.record(fail(
                "admin.credentials_invalid",
                Actor::anonymous(),
                serde_json::json!({ "username": shown_name, "cause": "unknown user name" }),
            ))
            .await?;
            return Err(AdminError::CredentialsInvalid);
        };
        let actor = Actor::new(
            ActorKind::Admin,
            Some(row.id.clone()),
            Some(row.username.clone()),
        );
        if let Some(until) = row.locked_until.filter(|t| *t > now.0) {
            self.record(fail(
                "admin.account_locked",
                actor,
                serde_json::json!({ "locked_until": Millis(until).to_rfc3339() }),
            ))
            .await?;
            return Err(AdminError::AccountLocked {
                until: Millis(until),
                retry_after_secs: retry_after(now, Millis(until)),
            });
        }
        let password_ok =
            verify_blocking(password_text.to_owned(), row.password_hash.clone()).await;
        let step = if password_ok {
            let secret = self.cipher.decrypt(&row.totp_secret, &totp_aad(&row.id))?;
            totp::accept(&secret, code, now.as_secs(), row.totp_last_step)
        } else {
            None
        };
        let Some(step) = step else {
            let cause = if password_ok {
                "one-time code wrong or reused"
            } else {
                "password wrong"
            };
            return Err(self.count_failure(&row, actor, cause, ctx).await?);
        };
        // Claim the step atomically: of two concurrent sign-ins with one code, one wins.
        let claimed = with_pool!(self.db.write(), |p| {
            sqlx::query("UPDATE admins SET totp_last_step = $1, failed_attempts = 0, locked_until = NULL, last_login_at = $2, updated_at = $2 WHERE id = $3 AND totp_last_step < $1")
                .bind(step)
                .bind(now.0)
                .bind(&row.id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        if claimed != 1 {
            return Err(self
                .count_failure(&row, actor, "one-time code reused", ctx)
                .await?);
        }
        if row.status != "active" {
            self.record(fail("admin.account_disabled", actor, serde_json::json!({})))
                .await?;
            return Err(AdminError::AccountDisabled);
        }
        let cookie_value = random_secret()?;
        let expires_at = now.plus(self.cfg.session_lifetime).0;
        with_pool!(self.db.write(), |p| {
            sqlx::query("INSERT INTO admin_sessions (id_hash, admin_id, created_at, last_seen_at, expires_at, source_ip, user_agent) VALUES ($1, $2, $3, $3, $4, $5, $6)")
                .bind(digest(&cookie_value))
                .bind(&row.id)
                .bind(now.0)
                .bind(expires_at)
                .bind(ctx.client_ip.map(|i| i.to_string()))
                .bind(ctx.user_agent.as_deref())
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.record(
            AuditEvent::new("admin.login", Outcome::Success)
                .actor(actor)
                .details(serde_json::json!({ "role": row.role }))
                .context(ctx),
        )
        .await?;
        let row = self.row(&row.id).await?;
        Ok(NewSession {
            cookie_value: Secret::new(cookie_value),
            admin: self.view(&row),
        })
    }

    /// Counts a failed sign-in and locks the account at the threshold. Returns the error to give.
    async fn count_failure(
        &self,
        row: &AdminRow,
        actor: Actor,
        cause: &str,
        ctx: &RequestContext,
    ) -> AdminResult<AdminError> {
        let now = self.clock.now();
        let failures: i64 = with_pool!(self.db.write(), |p| {
            sqlx::query_scalar("UPDATE admins SET failed_attempts = failed_attempts + 1, updated_at = $1 WHERE id = $2 RETURNING failed_attempts")
                .bind(now.0)
                .bind(&row.id)
                .fetch_one(p)
                .await
        })?;
        self.record(
            AuditEvent::new("admin.login", Outcome::Failure)
                .actor(actor.clone())
                .reason("admin.credentials_invalid")
                .details(serde_json::json!({ "cause": cause, "consecutive_failures": failures }))
                .context(ctx),
        )
        .await?;
        if failures < i64::from(self.cfg.lockout_threshold) {
            return Ok(AdminError::CredentialsInvalid);
        }
        let until = now.plus(self.cfg.lockout_duration);
        with_pool!(self.db.write(), |p| {
            sqlx::query("UPDATE admins SET failed_attempts = 0, locked_until = $1, updated_at = $2 WHERE id = $3")
                .bind(until.0)
                .bind(now.0)
                .bind(&row.id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.record(
            AuditEvent::new("admin.locked", Outcome::Success)
                .actor(Actor::system())
                .target(format!("admin:{}", row.id))
                .reason("admin.account_locked")
                .details(serde_json::json!({
                    "username": row.username,
                    "failures": failures,
                    "locked_until": until.to_rfc3339(),
                }))
                .context(ctx),
        )
        .await?;
        tracing::warn!(admin_id = %row.id, until = %until.to_rfc3339(), "administrator locked after repeated sign-in failures");
        Ok(AdminError::AccountLocked {
            until,
            retry_after_secs: retry_after(now, until),
        })
    }

    /// The principal of a console session cookie.
    pub async fn session(&self, cookie_value: &str) -> AdminResult<Principal> {
        let now = self.clock.now().0;
        let hash = digest(cookie_value);
        let row: Option<(String, i64, i64, String, String, String, bool)> = with_pool!(
            self.db.read(),
            |p| {
                sqlx::query_as("SELECT s.admin_id, s.last_seen_at, s.expires_at, a.username, a.role, a.status, a.must_change_password FROM admin_sessions s JOIN admins a ON a.id = s.admin_id WHERE s.id_hash = $1")
                .bind(hash.as_slice())
                .fetch_optional(p)
                .await
            }
        )?;
        let Some((admin_id, last_seen, expires_at, username, role, status, must_change)) = row
        else {
            return Err(AdminError::Unauthenticated);
        };
        let idle = i64::try_from(self.cfg.session_idle_timeout.as_millis()).unwrap_or(i64::MAX);
        if now >= expires_at || now - last_seen > idle || status != "active" {
            self.delete_session(&hash).await?;
            return Err(if status == "active" {
                AdminError::SessionExpired
            } else {
                AdminError::Unauthenticated
            });
        }
        if now - last_seen > TOUCH_EVERY_MS {
            with_pool!(self.db.write(), |p| {
                sqlx::query("UPDATE admin_sessions SET last_seen_at = $1 WHERE id_hash = $2")
                    .bind(now)
                    .bind(hash.as_slice())
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected())
            })?;
        }
        Ok(Principal {
            role: role.parse().map_err(|_| AdminError::Unauthenticated)?,
            who: Who::Session {
                admin_id,
                username,
                must_change_password: must_change,
            },
        })
    }

    async fn delete_session(&self, hash: &[u8]) -> AdminResult<()> {
        with_pool!(self.db.write(), |p| {
            sqlx::query("DELETE FROM admin_sessions WHERE id_hash = $1")
                .bind(hash)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn logout(
        &self,
        principal: &Principal,
        cookie_value: &str,
        ctx: &RequestContext,
    ) -> AdminResult<()> {
        self.delete_session(&digest(cookie_value)).await?;
        self.record(
            AuditEvent::new("admin.logout", Outcome::Success)
                .actor(principal.actor())
                .context(ctx),
        )
        .await
    }

    /// The principal of a bearer token. Tokens of disabled or deleted administrators stop working.
    pub async fn token(&self, bearer: &str, ctx: &RequestContext) -> AdminResult<Principal> {
        if !bearer.starts_with(TOKEN_PREFIX) {
            return Err(AdminError::TokenInvalid);
        }
        let now = self.clock.now().0;
        let hash = digest(bearer);
        let row: Option<(TokenRow, Option<String>)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as::<_, (String, String, String, Option<String>, i64, i64, Option<i64>, Option<i64>, Option<String>)>(
                "SELECT t.id, t.name, t.role, t.owner_admin_id, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, a.status FROM admin_tokens t LEFT JOIN admins a ON a.id = t.owner_admin_id WHERE t.token_hash = $1",
            )
            .bind(hash.as_slice())
            .fetch_optional(p)
            .await
        })?
        .map(|(id, name, role, owner_admin_id, created_at, expires_at, revoked_at, last_used_at, status)| {
            (
                TokenRow { id, name, role, owner_admin_id, created_at, expires_at, revoked_at, last_used_at },
                status,
            )
        });
        let Some((t, owner_status)) = row else {
            return Err(AdminError::TokenInvalid);
        };
        let refusal = if t.revoked_at.is_some() {
            Some("revoked")
        } else if now >= t.expires_at {
            Some("expired")
        } else if t.owner_admin_id.is_some() && owner_status.as_deref() != Some("active") {
            Some("owner disabled")
        } else {
            None
        };
        if let Some(cause) = refusal {
            self.record(
                AuditEvent::new("admin.token_rejected", Outcome::Failure)
                    .actor(Actor::new(
                        ActorKind::Token,
                        Some(t.id.clone()),
                        Some(t.name.clone()),
                    ))
                    .reason("auth.token_invalid")
                    .details(serde_json::json!({ "cause": cause }))
                    .context(ctx),
            )
            .await?;
            return Err(AdminError::TokenInvalid);
        }
        if t.last_used_at.is_none_or(|l| now - l > TOUCH_EVERY_MS) {
            with_pool!(self.db.write(), |p| {
                sqlx::query("UPDATE admin_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&t.id)
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected())
            })?;
        }
        Ok(Principal {
            role: t.role.parse().map_err(|_| AdminError::TokenInvalid)?,
            who: Who::Token {
                token_id: t.id,
                name: t.name,
                owner_admin_id: t.owner_admin_id,
            },
        })
    }

    /// Issues an API token for the caller's own role (a token never exceeds its creator), or,
    /// from the command line (`by` = `None`), for any role.
    pub async fn create_token(
        &self,
        by: Option<&Principal>,
        name: &str,
        role: Role,
        ttl: Option<std::time::Duration>,
        ctx: &RequestContext,
    ) -> AdminResult<IssuedToken> {
        if let Some(p) = by {
            if let Who::Session {
                must_change_password: true,
                ..
            } = p.who
            {
                return Err(AdminError::PasswordChangeRequired);
            }
            if p.role != role {
                return Err(AdminError::Invalid {
                    field: "role",
                    message: format!("a {} can only issue tokens for its own role", p.role),
                });
            }
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(AdminError::Invalid {
                field: "name",
                message: "must be 1 to 64 printable characters".into(),
            });
        }
        let ttl = ttl.unwrap_or(std::time::Duration::from_secs(30 * 86_400));
        if ttl.is_zero() || ttl > self.cfg.token_max_ttl {
            return Err(AdminError::Invalid {
                field: "ttl",
                message: format!(
                    "must be between 1 second and {} days (admin.token_max_ttl)",
                    self.cfg.token_max_ttl.as_secs() / 86_400
                ),
            });
        }
        let now = self.clock.now();
        let token = format!("{TOKEN_PREFIX}{}", random_secret()?);
        let row = TokenRow {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.to_owned(),
            role: role.as_str().to_owned(),
            owner_admin_id: by.and_then(|p| p.admin_id().map(str::to_owned)),
            created_at: now.0,
            expires_at: now.plus(ttl).0,
            revoked_at: None,
            last_used_at: None,
        };
        with_pool!(self.db.write(), |p| {
            sqlx::query("INSERT INTO admin_tokens (id, name, token_hash, role, owner_admin_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&row.id)
                .bind(&row.name)
                .bind(digest(&token))
                .bind(&row.role)
                .bind(row.owner_admin_id.as_deref())
                .bind(row.created_at)
                .bind(row.expires_at)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.record(
            AuditEvent::new("admin.token_created", Outcome::Success)
                .actor(by.map_or_else(Actor::system, Principal::actor))
                .target(format!("token:{}", row.id))
                .details(serde_json::json!({ "name": row.name, "role": row.role, "expires_at": Millis(row.expires_at).to_rfc3339() }))
                .context(ctx),
        )
        .await?;
        Ok(IssuedToken {
            token,
            info: row.into(),
        })
    }

    /// Tokens the principal may see: all for security administrators, otherwise its own.
    pub async fn list_tokens(&self, principal: &Principal) -> AdminResult<Vec<TokenView>> {
        let all = principal.check(Permission::AdminsManage).is_ok();
        let owner = principal.admin_id().map(str::to_owned);
        let rows: Vec<TokenRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT id, name, role, owner_admin_id, created_at, expires_at, revoked_at, last_used_at FROM admin_tokens ORDER BY created_at DESC")
                .fetch_all(p)
                .await
        })?;
        let own_token = match &principal.who {
            Who::Token { token_id, .. } => Some(token_id.clone()),
            Who::Session { .. } => None,
        };
        Ok(rows
            .into_iter()
            .filter(|t| {
                all || (owner.is_some() && t.owner_admin_id == owner)
                    || own_token.as_deref() == Some(t.id.as_str())
            })
            .map(TokenView::from)
            .collect())
    }

    pub async fn revoke_token(
        &self,
        principal: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> AdminResult<()> {
        let visible = self.list_tokens(principal).await?;
        if !visible.iter().any(|t| t.id == id) {
            return Err(AdminError::TokenNotFound(id.to_owned()));
        }
        let now = self.clock.now().0;
        with_pool!(self.db.write(), |p| {
            sqlx::query(
                "UPDATE admin_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        self.record(
            AuditEvent::new("admin.token_revoked", Outcome::Success)
                .actor(principal.actor())
                .target(format!("token:{id}"))
                .context(ctx),
        )
        .await
    }

    pub async fn list(&self) -> AdminResult<Vec<AdminView>> {
        let rows: Vec<AdminRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as::<_, AdminRow>(sqlx::AssertSqlSafe(format!(
                "SELECT {ADMIN_COLUMNS} FROM admins ORDER BY username"
            )))
            .fetch_all(p)
            .await
        })?;
        Ok(rows.iter().map(|r| self.view(r)).collect())
    }

    /// A page of administrators, by user name.
    pub async fn page(&self, page: Page) -> AdminResult<Paged<AdminView>> {
        let page = page.normalised();
        let (total, rows): (i64, Vec<AdminRow>) = with_pool!(self.db.read(), |p| {
            async {
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
                    .fetch_one(p)
                    .await?;
                let rows = sqlx::query_as::<_, AdminRow>(sqlx::AssertSqlSafe(format!(
                    "SELECT {ADMIN_COLUMNS} FROM admins ORDER BY username LIMIT $1 OFFSET $2"
                )))
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(p)
                .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        Ok(Paged {
            items: rows.iter().map(|r| self.view(r)).collect(),
            total: u64::try_from(total).unwrap_or(0),
            page: page.number,
            size: page.size,
        })
    }

    pub async fn get(&self, id: &str) -> AdminResult<AdminView> {
        Ok(self.view(&self.row(id).await?))
    }

    pub async fn find_by_username(&self, username: &str) -> AdminResult<Option<AdminView>> {
        Ok(self
            .row_by("username", &username.trim().to_lowercase())
            .await?
            .map(|r| self.view(&r)))
    }

    async fn other_active_security_admins(&self, except: &str) -> AdminResult<i64> {
        let n: i64 = with_pool!(self.db.read(), |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE role = 'security-admin' AND status = 'active' AND id <> $1")
                .bind(except)
                .fetch_one(p)
                .await
        })?;
        Ok(n)
    }

    pub async fn update(
        &self,
        by: &Principal,
        id: &str,
        patch: AdminPatch,
        ctx: &RequestContext,
    ) -> AdminResult<AdminView> {
        let before = self.row(id).await?;
        let display_name = match &patch.display_name {
            Some(d) => validate_display_name(d)?,
            None => before.display_name.clone(),
        };
        if let Some(r) = patch.role {
            people_role(r)?;
        }
        let role = patch
            .role
            .map_or_else(|| before.role.clone(), |r| r.as_str().to_owned());
        let status = match patch.status.as_deref() {
            None => before.status.clone(),
            Some(s @ ("active" | "disabled")) => s.to_owned(),
            Some(_) => {
                return Err(AdminError::Invalid {
                    field: "status",
                    message: "must be `active` or `disabled`".into(),
                });
            }
        };
        let changes_power = role != before.role || status != before.status;
        if changes_power && by.admin_id() == Some(id) {
            return Err(AdminError::SelfModification);
        }
        let stays_security = role == "security-admin" && status == "active";
        if before.role == "security-admin"
            && before.status == "active"
            && !stays_security
            && self.other_active_security_admins(id).await? == 0
        {
            return Err(AdminError::LastSecurityAdmin);
        }
        let now = self.clock.now().0;
        with_pool!(self.db.write(), |p| {
            sqlx::query("UPDATE admins SET display_name = $1, role = $2, status = $3, updated_at = $4 WHERE id = $5")
                .bind(&display_name)
                .bind(&role)
                .bind(&status)
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        if changes_power {
            // A changed role or a disabled account takes effect now, not at the next sign-in.
            self.end_sessions(id).await?;
        }
        self.record(
            AuditEvent::new("admin.updated", Outcome::Success)
                .actor(by.actor())
                .target(format!("admin:{id}"))
                .details(serde_json::json!({
                    "before": { "display_name": before.display_name, "role": before.role, "status": before.status },
                    "after": { "display_name": display_name, "role": role, "status": status },
                }))
                .context(ctx),
        )
        .await?;
        self.get(id).await
    }

    pub async fn delete(&self, by: &Principal, id: &str, ctx: &RequestContext) -> AdminResult<()> {
        let before = self.row(id).await?;
        if by.admin_id() == Some(id) {
            return Err(AdminError::SelfModification);
        }
        if before.role == "security-admin"
            && before.status == "active"
            && self.other_active_security_admins(id).await? == 0
        {
            return Err(AdminError::LastSecurityAdmin);
        }
        with_pool!(self.db.write(), |p| {
            sqlx::query("DELETE FROM admins WHERE id = $1")
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.record(
            AuditEvent::new("admin.deleted", Outcome::Success)
                .actor(by.actor())
                .target(format!("admin:{id}"))
                .details(serde_json::json!({ "before": { "username": before.username, "role": before.role, "status": before.status } }))
                .context(ctx),
        )
        .await
    }

    pub async fn unlock(
        &self,
        by: Option<&Principal>,
        id: &str,
        ctx: &RequestContext,
    ) -> AdminResult<AdminView> {
        let before = self.row(id).await?;
        let now = self.clock.now().0;
        with_pool!(self.db.write(), |p| {
            sqlx::query("UPDATE admins SET failed_attempts = 0, locked_until = NULL, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.record(
            AuditEvent::new("admin.unlocked", Outcome::Success)
                .actor(by.map_or_else(Actor::system, Principal::actor))
                .target(format!("admin:{id}"))
                .details(serde_json::json!({ "before": { "locked_until": before.locked_until.map(|t| Millis(t).to_rfc3339()) } }))
                .context(ctx),
        )
        .await?;
        self.get(id).await
    }

    /// Issues a new password and TOTP secret (lost device, forgotten password) and ends the
    /// account's sessions.
    pub async fn reset_credentials(
        &self,
        by: Option<&Principal>,
        id: &str,
        ctx: &RequestContext,
    ) -> AdminResult<IssuedCredentials> {
        let before = self.row(id).await?;
        if by.and_then(Principal::admin_id) == Some(id) {
            return Err(AdminError::SelfModification);
        }
        let (password, phc, secret) = self.fresh_credentials().await?;
        let enc = self.cipher.encrypt(&secret, &totp_aad(id))?;
        let now = self.clock.now().0;
        with_pool!(self.db.write(), |p| {
            sqlx::query("UPDATE admins SET password_hash = $1, must_change_password = $2, password_changed_at = $3, totp_secret = $4, totp_last_step = 0, failed_attempts = 0, locked_until = NULL, updated_at = $3 WHERE id = $5")
                .bind(&phc)
                .bind(true)
                .bind(now)
                .bind(enc.as_slice())
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.end_sessions(id).await?;
        self.record(
            AuditEvent::new("admin.credentials_reset", Outcome::Success)
                .actor(by.map_or_else(Actor::system, Principal::actor))
                .target(format!("admin:{id}"))
                .context(ctx),
        )
        .await?;
        let row = self.row(id).await?;
        Ok(IssuedCredentials {
            admin: self.view(&row),
            totp_secret: totp::base32(&secret),
            totp_uri: totp::provisioning_uri(ISSUER, &before.username, &secret),
            password,
        })
    }

    /// Changes the caller's own password (a session principal only).
    pub async fn change_password(
        &self,
        by: &Principal,
        current: &str,
        new: &str,
        ctx: &RequestContext,
    ) -> AdminResult<()> {
        let Who::Session { admin_id, .. } = &by.who else {
            return Err(AdminError::Invalid {
                field: "current_password",
                message: "API tokens have no password; sign in to the console".into(),
            });
        };
        let row = self.row(admin_id).await?;
        if !verify_blocking(current.to_owned(), row.password_hash.clone()).await {
            self.record(
                AuditEvent::new("admin.password_changed", Outcome::Failure)
                    .actor(by.actor())
                    .reason("admin.credentials_invalid")
                    .context(ctx),
            )
            .await?;
            return Err(AdminError::Invalid {
                field: "current_password",
                message: "is wrong".into(),
            });
        }
        password::check_policy(new, &row.username).map_err(|message| AdminError::Invalid {
            field: "new_password",
            message,
        })?;
        if current == new {
            return Err(AdminError::Invalid {
                field: "new_password",
                message: "must differ from the current password".into(),
            });
        }
        let phc = hash_blocking(new.to_owned()).await?;
        let now = self.clock.now().0;
        with_pool!(self.db.write(), |p| {
            sqlx::query("UPDATE admins SET password_hash = $1, must_change_password = $2, password_changed_at = $3, updated_at = $3 WHERE id = $4")
                .bind(&phc)
                .bind(false)
                .bind(now)
                .bind(admin_id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.record(
            AuditEvent::new("admin.password_changed", Outcome::Success)
                .actor(by.actor())
                .target(format!("admin:{admin_id}"))
                .context(ctx),
        )
        .await
    }

    async fn end_sessions(&self, admin_id: &str) -> AdminResult<u64> {
        let n = with_pool!(self.db.write(), |p| {
            sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1")
                .bind(admin_id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n)
    }

    /// Ends every console session of an administrator (security administrators).
    pub async fn revoke_sessions(
        &self,
        by: &Principal,
        admin_id: &str,
        ctx: &RequestContext,
    ) -> AdminResult<u64> {
        self.row(admin_id).await?;
        let n = self.end_sessions(admin_id).await?;
        self.record(
            AuditEvent::new("admin.sessions_revoked", Outcome::Success)
                .actor(by.actor())
                .target(format!("admin:{admin_id}"))
                .details(serde_json::json!({ "sessions": n }))
                .context(ctx),
        )
        .await?;
        Ok(n)
    }
}

async fn hash_blocking(password: String) -> AdminResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .ok()
        .flatten()
        .ok_or(AdminError::Crypto(guomi::Error::RandomUnavailable))
}

async fn verify_blocking(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || password::verify(&password, &phc))
        .await
        .unwrap_or(false)
}
