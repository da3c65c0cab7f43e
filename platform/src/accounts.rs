//! Accounts (REQUIREMENTS A3, G4): one per natural person (by certificate type and number) or
//! legal person (by unified social credit code), whichever provider they came through. Numbers
//! are found through a keyed blind index (HMAC-SM3), kept encrypted (SM4-GCM, bound to the row)
//! and shown masked. Identities — a provider's user — are linked to accounts; every creation,
//! link and unlink is audited.

use std::sync::Arc;

use crate::subject::{SubjectKind, VerifiedIdentity};

use crate::audit::{Actor, AuditError, AuditEvent, AuditLog, Outcome};
use crate::clock::{Clock, Millis};
use crate::context::RequestContext;
use crate::keys::Keys;
use crate::paging::{Page, Paged};
use crate::store::{Db, StoreError, begin_write, with_pool};

/// How a provider's sign-ins find their account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPolicy {
    /// Sign in to the account of the same certificate or credit code, creating it if needed.
    CreateOrLink,
    /// Only sign in to an account that already exists (created through another provider).
    LinkOnly,
}

impl LinkPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPolicy::CreateOrLink => "create-or-link",
            LinkPolicy::LinkOnly => "link-only",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    #[error(
        "no account is linked to this identity and the provider may only sign in to existing accounts"
    )]
    NotLinked,
    #[error("the identity is linked to another account")]
    LinkedElsewhere,
    #[error("the provider now asserts another certificate for this user")]
    KeyChanged,
    #[error("the account's only identity cannot be removed")]
    LastIdentity,
    #[error("the account is disabled")]
    Disabled,
    #[error("no account {0}")]
    NotFound(String),
    #[error("no identity {provider}/{subject} on this account")]
    IdentityNotFound { provider: String, subject: String },
    #[error("no session {handle} on account {account}")]
    SessionNotFound { account: String, handle: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cryptographic failure")]
    Crypto(#[from] guomi::Error),
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        AccountError::Store(StoreError::from(e))
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub key_masked: Option<String>,
    pub key_enc: Option<Vec<u8>>,
    pub cert_type: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

const ACCOUNT_COLUMNS: &str =
    "id, kind, display_name, key_masked, key_enc, cert_type, status, created_at, last_login_at";

/// An identity linked to an account, as users and administrators see it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub provider: String,
    pub subject: String,
    /// RFC 3339.
    pub linked_at: String,
}

/// An account as administrators see it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: String,
    /// `personal` or `legal_person`.
    pub kind: String,
    pub display_name: String,
    /// The certificate number or credit code, masked (`3508**********0029`).
    pub id_masked: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    pub created_at: String,
    pub last_login_at: Option<String>,
    pub identities: Vec<IdentityView>,
}

/// Whether an account may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    /// Disabled by a security administrator: no sign-in, no session.
    Disabled,
}

impl AccountStatus {
    pub const ALL: [AccountStatus; 2] = [AccountStatus::Active, AccountStatus::Disabled];

    pub fn parse(s: &str) -> Option<AccountStatus> {
        AccountStatus::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AccountStatus::Active => "正常",
            AccountStatus::Disabled => "已停用",
        }
    }
}

/// What a list of accounts is narrowed to; absent fields do not narrow it.
#[derive(Clone, Debug, Default)]
pub struct AccountFilter {
    /// The blind index of a certificate number or credit code
    /// ([`Accounts::certificate_index`], [`Accounts::uscc_index`]).
    pub key_index: Option<Vec<u8>>,
    /// `personal` or `legal_person`.
    pub kind: Option<String>,
    pub status: Option<AccountStatus>,
}

/// What signing in did to the accounts.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub account: AccountRow,
    pub created: bool,
    pub linked: bool,
}

pub struct Accounts {
    db: Db,
    keys: Keys,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accounts")
    }
}

/// The number an account is keyed by, and its blind-index input.
struct AccountKey {
    index: Vec<u8>,
    number: String,
    masked: String,
    cert_type: Option<String>,
}

impl Accounts {
    pub fn new(db: Db, keys: Keys, clock: Arc<dyn Clock>, audit: AuditLog) -> Self {
        Accounts {
            db,
            keys,
            clock,
            audit,
        }
    }

    fn key_of(&self, id: &VerifiedIdentity) -> Option<AccountKey> {
        match (id.kind(), id.company(), &id.person().certificate) {
            (SubjectKind::LegalPerson, Some(c), _) => Some(AccountKey {
                index: self.uscc_index(&c.uscc),
                number: c.uscc.as_str().to_owned(),
                masked: c.uscc.masked(),
                cert_type: None,
            }),
            (SubjectKind::Personal, _, Some(cert)) => Some(AccountKey {
                index: self.certificate_index(cert),
                number: cert.expose().to_owned(),
                masked: cert.masked(),
                cert_type: Some(cert.kind().code().to_owned()),
            }),
            _ => None,
        }
    }

    /// The blind index of a certificate, to find an account by number without storing it.
    pub fn certificate_index(&self, cert: &crate::identity::Certificate) -> Vec<u8> {
        self.keys
            .index
            .tag(&[cert.index_input().as_bytes()])
            .to_vec()
    }

    /// The blind index of a unified social credit code, to find a legal person's account.
    pub fn uscc_index(&self, uscc: &crate::identity::Uscc) -> Vec<u8> {
        self.keys
            .index
            .tag(&[format!("uscc:{}", uscc.as_str()).as_bytes()])
            .to_vec()
    }

    /// The account for a verified identity: the one already linked to it, else the one of the
    /// same certificate or credit code (then linked), else a new one when `policy` allows.
    pub async fn resolve(
        &self,
        id: &VerifiedIdentity,
        policy: LinkPolicy,
        ctx: &RequestContext,
    ) -> Result<Resolved, AccountError> {
        // Two first sign-ins of one person racing (several nodes) meet a unique constraint:
        // the second attempt then finds what the first created.
        match self.resolve_once(id, policy).await {
            Err(AccountError::Store(e)) if e.is_unique_violation() => {}
            other => return self.after_resolve(other?, id, ctx).await,
        }
        let r = self.resolve_once(id, policy).await?;
        self.after_resolve(r, id, ctx).await
    }

    async fn after_resolve(
        &self,
        r: Resolved,
        id: &VerifiedIdentity,
        ctx: &RequestContext,
    ) -> Result<Resolved, AccountError> {
        if r.account.status != "active" {
            return Err(AccountError::Disabled);
        }
        if r.created {
            self.audit
                .append(
                    AuditEvent::new("account.created", Outcome::Success)
                        .actor(Actor::system())
                        .target(format!("account:{}", r.account.id))
                        .details(serde_json::json!({ "kind": r.account.kind, "via": id.provider(), "id_masked": r.account.key_masked }))
                        .context(ctx),
                )
                .await?;
        }
        if r.linked {
            self.audit
                .append(
                    AuditEvent::new("identity.linked", Outcome::Success)
                        .actor(Actor::system())
                        .target(format!("account:{}", r.account.id))
                        .details(serde_json::json!({ "provider": id.provider(), "subject": id.subject(), "by": "sign-in" }))
                        .context(ctx),
                )
                .await?;
        }
        Ok(r)
    }

    async fn resolve_once(
        &self,
        id: &VerifiedIdentity,
        policy: LinkPolicy,
    ) -> Result<Resolved, AccountError> {
        let key = self.key_of(id);
        let now = self.clock.now().0;
        let kind = id.kind().as_str();
        let display = match id.company() {
            Some(c) => c.name.clone(),
            None => id.person().name.clone(),
        };
        let new_id = uuid::Uuid::now_v7().to_string();
        let enc = match &key {
            Some(k) => Some(
                self.keys
                    .data
                    .encrypt(k.number.as_bytes(), account_aad(&new_id).as_bytes())?,
            ),
            None => None,
        };
        let result: Result<Result<Resolved, AccountError>, sqlx::Error> = with_pool!(
            self.db.write(),
            |p, b| {
                async {
            let mut tx = begin_write!(p, b)?;
            let linked_to: Option<(String, Option<Vec<u8>>)> = sqlx::query_as(
                "SELECT a.id, a.key_index FROM identities i JOIN accounts a ON a.id = i.account_id WHERE i.provider = $1 AND i.subject = $2",
            )
            .bind(id.provider())
            .bind(id.subject())
            .fetch_optional(&mut *tx)
            .await?;
            let (account_id, created, linked) = match linked_to {
                Some((account_id, stored_key)) => {
                    if let (Some(stored), Some(k)) = (&stored_key, &key)
                        && *stored != k.index
                    {
                        return Ok(Err(AccountError::KeyChanged));
                    }
                    (account_id, false, false)
                }
                None => {
                    let existing: Option<String> = match &key {
                        Some(k) => sqlx::query_scalar("SELECT id FROM accounts WHERE key_index = $1")
                            .bind(k.index.as_slice())
                            .fetch_optional(&mut *tx)
                            .await?,
                        None => None,
                    };
                    let (account_id, created) = match existing {
                        Some(a) => (a, false),
                        None if policy == LinkPolicy::LinkOnly => return Ok(Err(AccountError::NotLinked)),
                        None => {
                            sqlx::query("INSERT INTO accounts (id, kind, display_name, key_index, key_enc, key_masked, cert_type, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8)")
                                .bind(&new_id)
                                .bind(kind)
                                .bind(&display)
                                .bind(key.as_ref().map(|k| k.index.clone()))
                                .bind(enc.clone())
                                .bind(key.as_ref().map(|k| k.masked.clone()))
                                .bind(key.as_ref().and_then(|k| k.cert_type.clone()))
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                            (new_id.clone(), true)
                        }
                    };
                    sqlx::query("INSERT INTO identities (provider, subject, account_id, display_name, linked_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $5)")
                        .bind(id.provider())
                        .bind(id.subject())
                        .bind(&account_id)
                        .bind(&id.person().name)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    (account_id, created, true)
                }
            };
            sqlx::query("UPDATE accounts SET last_login_at = $1, display_name = $2, updated_at = $1 WHERE id = $3")
                .bind(now)
                .bind(&display)
                .bind(&account_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE identities SET last_login_at = $1, display_name = $2 WHERE provider = $3 AND subject = $4")
                .bind(now)
                .bind(&id.person().name)
                .bind(id.provider())
                .bind(id.subject())
                .execute(&mut *tx)
                .await?;
            let account: AccountRow = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1")))
                .bind(&account_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Ok(Resolved { account, created, linked }))
        }
        .await
            }
        );
        result?
    }

    /// Links `id` to the signed-in user's account (the user proved both by signing in with
    /// each). An identity already on an account that has nothing else — no certificate or
    /// credit code and no other identity — moves, and the empty account is removed.
    pub async fn link(
        &self,
        account_id: &str,
        id: &VerifiedIdentity,
        ctx: &RequestContext,
        actor: Actor,
    ) -> Result<(), AccountError> {
        let now = self.clock.now().0;
        let key = self.key_of(id);
        let outcome: Result<Result<Option<String>, AccountError>, sqlx::Error> = with_pool!(
            self.db.write(),
            |p, b| {
                async {
            let mut tx = begin_write!(p, b)?;
            let target: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT key_index FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(target_key) = target else {
                return Ok(Err(AccountError::NotFound(account_id.to_owned())));
            };
            if let (Some(t), Some(k)) = (&target_key, &key)
                && *t != k.index
            {
                // The identity is of another person or company.
                return Ok(Err(AccountError::LinkedElsewhere));
            }
            let current: Option<String> = sqlx::query_scalar("SELECT account_id FROM identities WHERE provider = $1 AND subject = $2")
                .bind(id.provider())
                .bind(id.subject())
                .fetch_optional(&mut *tx)
                .await?;
            let mut removed = None;
            match current {
                Some(a) if a == account_id => return Ok(Ok(None)),
                Some(other) => {
                    let (other_key, other_identities): (Option<Vec<u8>>, i64) = sqlx::query_as(
                        "SELECT a.key_index, (SELECT COUNT(*) FROM identities i WHERE i.account_id = a.id) FROM accounts a WHERE a.id = $1",
                    )
                    .bind(&other)
                    .fetch_one(&mut *tx)
                    .await?;
                    if other_key.is_some() || other_identities > 1 {
                        return Ok(Err(AccountError::LinkedElsewhere));
                    }
                    sqlx::query("UPDATE identities SET account_id = $1, linked_at = $2 WHERE provider = $3 AND subject = $4")
                        .bind(account_id)
                        .bind(now)
                        .bind(id.provider())
                        .bind(id.subject())
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM accounts WHERE id = $1").bind(&other).execute(&mut *tx).await?;
                    removed = Some(other);
                }
                None => {
                    sqlx::query("INSERT INTO identities (provider, subject, account_id, display_name, linked_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $5)")
                        .bind(id.provider())
                        .bind(id.subject())
                        .bind(account_id)
                        .bind(&id.person().name)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(Ok(removed))
        }
        .await
            }
        );
        let removed = outcome??;
        self.audit
            .append(
                AuditEvent::new("identity.linked", Outcome::Success)
                    .actor(actor)
                    .target(format!("account:{account_id}"))
                    .details(serde_json::json!({ "provider": id.provider(), "subject": id.subject(), "by": "user", "merged_account": removed }))
                    .context(ctx),
            )
            .await?;
        Ok(())
    }

    /// Removes a link. The account's last identity stays: without one it could not be used.
    pub async fn unlink(
        &self,
        account_id: &str,
        provider: &str,
        subject: &str,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<(), AccountError> {
        let outcome: Result<Result<(), AccountError>, sqlx::Error> = with_pool!(
            self.db.write(),
            |p, b| {
                async {
            let mut tx = begin_write!(p, b)?;
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM identities WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
            let exists: Option<String> = sqlx::query_scalar("SELECT account_id FROM identities WHERE provider = $1 AND subject = $2 AND account_id = $3")
                .bind(provider)
                .bind(subject)
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Ok(Err(AccountError::IdentityNotFound { provider: provider.to_owned(), subject: subject.to_owned() }));
            }
            if count <= 1 {
                return Ok(Err(AccountError::LastIdentity));
            }
            sqlx::query("DELETE FROM identities WHERE provider = $1 AND subject = $2")
                .bind(provider)
                .bind(subject)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Ok(()))
        }
        .await
            }
        );
        outcome??;
        self.audit
            .append(
                AuditEvent::new("identity.unlinked", Outcome::Success)
                    .actor(actor)
                    .target(format!("account:{account_id}"))
                    .details(serde_json::json!({ "provider": provider, "subject": subject }))
                    .context(ctx),
            )
            .await?;
        Ok(())
    }

    pub async fn row(&self, id: &str) -> Result<AccountRow, AccountError> {
        let row: Option<AccountRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(p)
            .await
        })?;
        row.ok_or_else(|| AccountError::NotFound(id.to_owned()))
    }

    pub async fn identities(&self, account_id: &str) -> Result<Vec<IdentityView>, AccountError> {
        let rows: Vec<(String, String, i64)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT provider, subject, linked_at FROM identities WHERE account_id = $1 ORDER BY linked_at, provider")
                .bind(account_id)
                .fetch_all(p)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(provider, subject, linked)| IdentityView {
                provider,
                subject,
                linked_at: Millis(linked).to_rfc3339(),
            })
            .collect())
    }

    /// The clear credit code of a legal person's account (its own public registration number).
    pub fn uscc_of(&self, a: &AccountRow) -> Option<String> {
        if a.kind != "legal_person" {
            return None;
        }
        let enc = a.key_enc.as_ref()?;
        let clear = self
            .keys
            .data
            .decrypt(enc, account_aad(&a.id).as_bytes())
            .ok()?;
        String::from_utf8(clear.to_vec()).ok()
    }

    pub async fn view(&self, id: &str) -> Result<AccountView, AccountError> {
        let a = self.row(id).await?;
        Ok(self.to_view(a, self.identities(id).await?))
    }

    fn to_view(&self, a: AccountRow, identities: Vec<IdentityView>) -> AccountView {
        AccountView {
            id: a.id,
            kind: a.kind,
            display_name: a.display_name,
            id_masked: a.key_masked,
            status: a.status,
            created_at: Millis(a.created_at).to_rfc3339(),
            last_login_at: a.last_login_at.map(|t| Millis(t).to_rfc3339()),
            identities,
        }
    }

    /// A page of accounts, newest first, narrowed by `filter`.
    pub async fn list(
        &self,
        filter: &AccountFilter,
        page: Page,
    ) -> Result<Paged<AccountView>, AccountError> {
        let page = page.normalised();
        const WHERE: &str = "WHERE ($1 IS NULL OR key_index = $1) AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR status = $3)";
        let index = filter.key_index.as_deref();
        let kind = filter.kind.as_deref();
        let status = filter.status.map(AccountStatus::as_str);
        let (total, rows): (i64, Vec<AccountRow>) = with_pool!(self.db.read(), |p| {
            async {
                let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM accounts {WHERE}"
                )))
                .bind(index)
                .bind(kind)
                .bind(status)
                .fetch_one(p)
                .await?;
                let rows: Vec<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts {WHERE} ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
                )))
                .bind(index)
                .bind(kind)
                .bind(status)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(p)
                .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        let mut items = Vec::with_capacity(rows.len());
        for a in rows {
            let ids = self.identities(&a.id).await?;
            items.push(self.to_view(a, ids));
        }
        Ok(Paged {
            items,
            total: u64::try_from(total).unwrap_or(0),
            page: page.number,
            size: page.size,
        })
    }

    /// Enables or disables an account, audited with before and after. Security administrators
    /// go through [`crate::account_admin::set_status`], which also ends a disabled account's
    /// sessions.
    pub(crate) async fn set_status(
        &self,
        id: &str,
        status: AccountStatus,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<AccountView, AccountError> {
        let status = status.as_str();
        let before = self.row(id).await?;
        let now = self.clock.now().0;
        with_pool!(self.db.write(), |p| {
            sqlx::query("UPDATE accounts SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(status)
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        self.audit
            .append(
                AuditEvent::new("account.updated", Outcome::Success)
                    .actor(actor)
                    .target(format!("account:{id}"))
                    .details(serde_json::json!({ "before": { "status": before.status }, "after": { "status": status } }))
                    .context(ctx),
            )
            .await?;
        self.view(id).await
    }
}

fn account_aad(id: &str) -> String {
    format!("accounts.key:{id}")
}
