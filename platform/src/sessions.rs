//! Sessions of signed-in users (REQUIREMENTS A5): server-side rows keyed by the SM3 of a 256-bit
//! random id that only the browser's cookie holds, an idle timeout and an absolute lifetime, and
//! a small cache so that authenticated requests rarely touch the store. A session ended on one
//! node is gone from every other node's cache within `sessions.cache_ttl`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::subject::VerifiedIdentity;

use crate::accounts::{AccountRow, Accounts, IdentityView};
use crate::clock::{Clock, Millis};
use crate::config::SessionConfig;
use crate::context::RequestContext;
use crate::keys::Keys;
use crate::store::{Db, StoreError, StoreResult, with_pool};

pub const SESSION_COOKIE: &str = "__Host-hub_session";
/// Writes of the last-seen time are at most this frequent per session.
const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    #[error("no session")]
    Missing,
    #[error("the session has ended (idle or lifetime limit)")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cryptographic failure")]
    Crypto(#[from] guomi::Error),
}

/// What a request needs to know about its session, cached.
#[derive(Debug)]
pub struct ActiveSession {
    pub handle: String,
    pub account: AccountRow,
    pub uscc: Option<String>,
    pub provider: String,
    pub subject: String,
    pub agent_name: Option<String>,
    pub agent_masked: Option<String>,
    pub identities: Vec<IdentityView>,
    pub expires_at: i64,
    last_seen: AtomicI64,
}

impl ActiveSession {
    /// The audit actor of what this session does: the account, with a masked name for a person;
    /// for a legal person, the company and the masked agent who acts for it.
    pub fn actor(&self) -> crate::audit::Actor {
        use crate::audit::{Actor, ActorKind};
        let a = &self.account;
        if a.kind == "legal_person" {
            let mut actor = Actor::new(
                ActorKind::Account,
                Some(a.id.clone()),
                Some(a.display_name.clone()),
            );
            actor.acting_for = Some(match &a.key_masked {
                Some(m) => format!("{} ({m})", a.display_name),
                None => a.display_name.clone(),
            });
            actor.agent = self.agent_name.as_ref().map(|n| match &self.agent_masked {
                Some(m) => format!("{} {m}", crate::identity::mask_name(n)),
                None => crate::identity::mask_name(n),
            });
            actor
        } else {
            Actor::new(
                ActorKind::Account,
                Some(a.id.clone()),
                Some(crate::identity::mask_name(&a.display_name)),
            )
        }
    }
}

/// A session as administrators see it (never its id).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub handle: String,
    pub provider: String,
    pub agent: Option<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What ending a session leaves for the logout at the provider.
#[derive(Debug)]
pub struct EndedSession {
    pub account_id: String,
    pub provider: String,
    pub id_token: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    handle: String,
    account_id: String,
    provider: String,
    subject: String,
    agent_name: Option<String>,
    agent_masked: Option<String>,
    last_seen_at: i64,
    expires_at: i64,
}

pub struct Sessions {
    db: Db,
    keys: Keys,
    clock: Arc<dyn Clock>,
    cfg: SessionConfig,
    accounts: Arc<Accounts>,
    cache: moka::sync::Cache<[u8; 32], Arc<ActiveSession>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions")
    }
}

fn digest(id: &str) -> [u8; 32] {
    guomi::sm3(id.as_bytes())
}

impl Sessions {
    pub fn new(
        db: Db,
        keys: Keys,
        clock: Arc<dyn Clock>,
        cfg: SessionConfig,
        accounts: Arc<Accounts>,
    ) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(cfg.cache_ttl)
            .support_invalidation_closures()
            .build();
        Sessions {
            db,
            keys,
            clock,
            cfg,
            accounts,
            cache,
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// Starts a session for `account` signed in as `identity`; returns the cookie value (a new
    /// random id: ids are never reused, so a session id known before sign-in is worthless).
    pub async fn create(
        &self,
        account: &AccountRow,
        identity: &VerifiedIdentity,
        ctx: &RequestContext,
    ) -> Result<(String, String), SessionError> {
        use base64::Engine;
        let id =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(guomi::random_bytes::<32>()?);
        let handle = uuid::Uuid::now_v7().to_string();
        let now = self.clock.now();
        let expires = now.plus(self.cfg.lifetime).0;
        let hash = digest(&id);
        let id_token_enc = match identity.id_token() {
            Some(t) => Some(
                self.keys
                    .data
                    .encrypt(t.as_bytes(), token_aad(&handle).as_bytes())?,
            ),
            None => None,
        };
        let (agent_name, agent_masked) = match identity.company() {
            Some(_) => (
                Some(identity.person().name.clone()),
                identity.person().certificate.as_ref().map(|c| c.masked()),
            ),
            None => (None, None),
        };
        with_pool!(self.db.write(), |p| {
            sqlx::query("INSERT INTO user_sessions (id_hash, handle, account_id, provider, subject, provider_session, agent_name, agent_masked, id_token_enc, created_at, last_seen_at, expires_at, source_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13)")
                .bind(hash.as_slice())
                .bind(&handle)
                .bind(&account.id)
                .bind(identity.provider())
                .bind(identity.subject())
                .bind(identity.provider_session())
                .bind(agent_name.as_deref())
                .bind(agent_masked.as_deref())
                .bind(id_token_enc)
                .bind(now.0)
                .bind(expires)
                .bind(ctx.client_ip.map(|i| i.to_string()))
                .bind(ctx.user_agent.as_deref())
                .execute(p)
                .await
                .map(|_| ())
        })
        .map_err(StoreError::from)?;
        Ok((id, handle))
    }

    /// The session of a cookie value, if it is live. Touches the idle timer.
    pub async fn current(&self, cookie_value: &str) -> Result<Arc<ActiveSession>, SessionError> {
        let hash = digest(cookie_value);
        let now = self.clock.now().0;
        let idle = i64::try_from(self.cfg.idle_timeout.as_millis()).unwrap_or(i64::MAX);
        let session = match self.cache.get(&hash) {
            Some(s) => s,
            None => {
                let s = Arc::new(self.load(&hash).await?);
                self.cache.insert(hash, s.clone());
                s
            }
        };
        let last = session.last_seen.load(Ordering::Relaxed);
        if now >= session.expires_at || now - last > idle {
            self.delete(&hash).await?;
            return Err(SessionError::Expired);
        }
        if now - last > TOUCH_EVERY_MS {
            session.last_seen.store(now, Ordering::Relaxed);
            with_pool!(self.db.write(), |p| {
                sqlx::query("UPDATE user_sessions SET last_seen_at = $1 WHERE id_hash = $2")
                    .bind(now)
                    .bind(hash.as_slice())
                    .execute(p)
                    .await
                    .map(|_| ())
            })
            .map_err(StoreError::from)?;
        }
        Ok(session)
    }

    async fn load(&self, hash: &[u8; 32]) -> Result<ActiveSession, SessionError> {
        let row: Option<SessionRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT handle, account_id, provider, subject, agent_name, agent_masked, last_seen_at, expires_at FROM user_sessions WHERE id_hash = $1")
                .bind(hash.as_slice())
                .fetch_optional(p)
                .await
        })
        .map_err(StoreError::from)?;
        let row = row.ok_or(SessionError::Missing)?;
        let account = match self.accounts.row(&row.account_id).await {
            Ok(a) if a.status == "active" => a,
            _ => return Err(SessionError::Missing),
        };
        let identities = self
            .accounts
            .identities(&row.account_id)
            .await
            .map_err(|e| match e {
                crate::accounts::AccountError::Store(s) => SessionError::Store(s),
                _ => SessionError::Missing,
            })?;
        Ok(ActiveSession {
            handle: row.handle,
            uscc: self.accounts.uscc_of(&account),
            account,
            provider: row.provider,
            subject: row.subject,
            agent_name: row.agent_name,
            agent_masked: row.agent_masked,
            identities,
            expires_at: row.expires_at,
            last_seen: AtomicI64::new(row.last_seen_at),
        })
    }

    async fn delete(&self, hash: &[u8; 32]) -> StoreResult<()> {
        self.cache.invalidate(hash);
        with_pool!(self.db.write(), |p| {
            sqlx::query("DELETE FROM user_sessions WHERE id_hash = $1")
                .bind(hash.as_slice())
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Ends the session of a cookie value (logout).
    pub async fn end(&self, cookie_value: &str) -> Result<Option<EndedSession>, SessionError> {
        let hash = digest(cookie_value);
        let row: Option<(String, String, String, Option<Vec<u8>>)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT handle, account_id, provider, id_token_enc FROM user_sessions WHERE id_hash = $1")
                .bind(hash.as_slice())
                .fetch_optional(p)
                .await
        })
        .map_err(StoreError::from)?;
        self.delete(&hash).await?;
        Ok(row.map(|(handle, account_id, provider, enc)| EndedSession {
            account_id,
            provider,
            id_token: enc
                .and_then(|e| {
                    self.keys
                        .data
                        .decrypt(&e, token_aad(&handle).as_bytes())
                        .ok()
                })
                .and_then(|t| String::from_utf8(t.to_vec()).ok()),
        }))
    }

    /// Ends every session of a provider session or provider user (back-channel logout).
    pub async fn end_for_provider(
        &self,
        provider: &str,
        sid: Option<&str>,
        subject: Option<&str>,
    ) -> StoreResult<u64> {
        let hashes: Vec<Vec<u8>> = with_pool!(self.db.write(), |p| {
            sqlx::query_scalar("DELETE FROM user_sessions WHERE provider = $1 AND (($2 IS NOT NULL AND provider_session = $2) OR ($2 IS NULL AND subject = $3)) RETURNING id_hash")
                .bind(provider)
                .bind(sid)
                .bind(subject)
                .fetch_all(p)
                .await
        })?;
        self.forget(&hashes);
        Ok(hashes.len() as u64)
    }

    /// Ends every session of an account (security administrators; disabled accounts).
    pub async fn end_for_account(&self, account_id: &str) -> StoreResult<u64> {
        let hashes: Vec<Vec<u8>> = with_pool!(self.db.write(), |p| {
            sqlx::query_scalar("DELETE FROM user_sessions WHERE account_id = $1 RETURNING id_hash")
                .bind(account_id)
                .fetch_all(p)
                .await
        })?;
        self.forget(&hashes);
        Ok(hashes.len() as u64)
    }

    /// Ends one session by its public handle; `false` when there is none on that account.
    pub async fn end_by_handle(&self, account_id: &str, handle: &str) -> StoreResult<bool> {
        let hashes: Vec<Vec<u8>> = with_pool!(self.db.write(), |p| {
            sqlx::query_scalar(
                "DELETE FROM user_sessions WHERE account_id = $1 AND handle = $2 RETURNING id_hash",
            )
            .bind(account_id)
            .bind(handle)
            .fetch_all(p)
            .await
        })?;
        self.forget(&hashes);
        Ok(!hashes.is_empty())
    }

    fn forget(&self, hashes: &[Vec<u8>]) {
        for h in hashes {
            if let Ok(k) = <[u8; 32]>::try_from(h.as_slice()) {
                self.cache.invalidate(&k);
            }
        }
    }

    /// Drops cached views of an account's sessions (its identities or status changed).
    pub fn refresh_account(&self, account_id: &str) {
        let id = account_id.to_owned();
        let _ = self
            .cache
            .invalidate_entries_if(move |_, s| s.account.id == id);
    }

    pub async fn list_for_account(&self, account_id: &str) -> StoreResult<Vec<SessionView>> {
        type Row = (
            String,
            String,
            Option<String>,
            i64,
            i64,
            i64,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT handle, provider, agent_name, created_at, last_seen_at, expires_at, source_ip, user_agent FROM user_sessions WHERE account_id = $1 ORDER BY created_at DESC")
                .bind(account_id)
                .fetch_all(p)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(handle, provider, agent, created, seen, expires, ip, ua)| SessionView {
                    handle,
                    provider,
                    agent: agent.map(|a| crate::identity::mask_name(&a)),
                    created_at: Millis(created).to_rfc3339(),
                    last_seen_at: Millis(seen).to_rfc3339(),
                    expires_at: Millis(expires).to_rfc3339(),
                    source_ip: ip,
                    user_agent: ua,
                },
            )
            .collect())
    }

    /// Deletes sessions past their lifetime or idle limit (a periodic job).
    pub async fn purge_expired(&self) -> StoreResult<u64> {
        let now = self.clock.now().0;
        let idle = i64::try_from(self.cfg.idle_timeout.as_millis()).unwrap_or(i64::MAX);
        let n = with_pool!(self.db.write(), |p| {
            sqlx::query("DELETE FROM user_sessions WHERE expires_at <= $1 OR last_seen_at < $2")
                .bind(now)
                .bind(now - idle)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n)
    }
}

fn token_aad(handle: &str) -> String {
    format!("user_sessions.id_token:{handle}")
}

/// The form token of a user's session (every portal form, the logout, `X-CSRF-Token`).
pub fn csrf_token(keys: &Keys, cookie_value: &str) -> String {
    keys.form_token("user", cookie_value)
}
