//! The `Orgs` service: registration and review, the operators' management, memberships and the
//! scoped queries of an organisation's own data. Every change is made in one transaction and
//! audited once it commits (the platform's pattern: the action is acknowledged only after its
//! record is durable).

use std::sync::Arc;

use platform::Platform;
use platform::admin::{AdminError, Permission, Principal};
use platform::audit::{Actor, ActorKind, AuditEvent, AuditLog, Outcome};
use platform::clock::Clock;
use platform::context::RequestContext;
use platform::identity::{CertType, Certificate, InvalidId, Uscc, mask_name};
use platform::keys::Keys;
use platform::paging::{Page, Paged};
use platform::store::{Db, begin_write, with_pool};

use crate::error::OrgError;
use crate::model::{
    Counts, Decision, MemberRole, MemberStatus, MemberView, Membership, NewOrganisation, OrgFilter,
    OrgKind, OrgScope, OrgStatus, Organisation, PortalRole,
};
use crate::validate::{self, By, Checked};

/// Columns of `organisations` in the order of [`OrgRow`].
const ORG_COLUMNS: &str = "id, kind, name, uscc_enc, uscc_masked, contact_name, contact_phone, introduction, status, reject_reason, created_at, updated_at, reviewed_at, reviewed_by";

/// Who approved the organisations that a legal person's sign-in creates.
const BOUND_BY: &str = "system:legal-person-sign-in";

#[derive(Debug, sqlx::FromRow)]
struct OrgRow {
    id: String,
    kind: String,
    name: String,
    uscc_enc: Option<Vec<u8>>,
    uscc_masked: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    introduction: Option<String>,
    status: String,
    reject_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
    reviewed_at: Option<i64>,
    reviewed_by: Option<String>,
}

/// An organisation's row with one account's membership of it.
#[derive(Debug, sqlx::FromRow)]
struct MemberOrgRow {
    #[sqlx(flatten)]
    org: OrgRow,
    member_role: String,
    member_status: String,
    member_since: i64,
}

/// [`ORG_COLUMNS`] of the table aliased `alias`.
fn org_columns_of(alias: &str) -> String {
    ORG_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A credit code as stored: blind index, ciphertext bound to the organisation, masked copy.
struct SealedUscc {
    index: Vec<u8>,
    enc: Vec<u8>,
    masked: String,
}

/// How long a membership read for a page is reused. Every signed-in page shows it (the header's
/// role), so it is kept for a moment; a change made on this node forgets every kept one at once,
/// a change made on another node shows here within this time. Decisions never use it: acting
/// for an organisation takes [`Orgs::scope_for`], which reads the store each time.
const MEMBERSHIP_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Organisations and their members.
#[derive(Clone)]
pub struct Orgs {
    db: Db,
    keys: Keys,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
    memberships: moka::sync::Cache<String, Option<Membership>>,
}

impl std::fmt::Debug for Orgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Orgs")
    }
}

fn kind_of(text: &str) -> Result<OrgKind, OrgError> {
    OrgKind::parse(text).ok_or(OrgError::Conflict(
        "an organisation of an unknown kind is stored",
    ))
}

fn status_of(text: &str) -> Result<OrgStatus, OrgError> {
    OrgStatus::parse(text).ok_or(OrgError::Conflict(
        "an organisation of an unknown status is stored",
    ))
}

fn role_of(text: &str) -> Result<MemberRole, OrgError> {
    MemberRole::parse(text).ok_or(OrgError::Conflict("a member of an unknown role is stored"))
}

fn member_status_of(text: &str) -> Result<MemberStatus, OrgError> {
    MemberStatus::parse(text).ok_or(OrgError::Conflict(
        "a member of an unknown status is stored",
    ))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `admin:<id>`, `token:<id>`, `account:<id>`: who did it, for the rows' `*_by` columns.
fn actor_ref(a: &Actor) -> String {
    match &a.id {
        Some(id) => format!("{}:{id}", a.kind.as_str()),
        None => a.kind.as_str().to_owned(),
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`, with the pattern characters of `text` escaped.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn org_aad(id: &str) -> String {
    format!("organisations.uscc:{id}")
}

impl Orgs {
    pub fn new(platform: &Platform) -> Self {
        Self::from_parts(
            platform.db.clone(),
            platform.keys.clone(),
            platform.clock.clone(),
            platform.audit.clone(),
        )
    }

    pub fn from_parts(db: Db, keys: Keys, clock: Arc<dyn Clock>, audit: AuditLog) -> Self {
        Orgs {
            db,
            keys,
            clock,
            audit,
            memberships: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(MEMBERSHIP_TTL)
                .build(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().0
    }

    /// The blind index of a credit code: the same as a legal person's `accounts.key_index`.
    fn uscc_index(&self, u: &Uscc) -> Vec<u8> {
        self.keys
            .index
            .tag(&[format!("uscc:{}", u.as_str()).as_bytes()])
            .to_vec()
    }

    fn seal(&self, org_id: &str, u: &Uscc) -> Result<SealedUscc, OrgError> {
        Ok(SealedUscc {
            index: self.uscc_index(u),
            enc: self
                .keys
                .data
                .encrypt(u.as_str().as_bytes(), org_aad(org_id).as_bytes())?,
            masked: u.masked(),
        })
    }

    fn open(&self, r: OrgRow) -> Result<Organisation, OrgError> {
        let uscc = match &r.uscc_enc {
            Some(enc) => {
                let clear = self.keys.data.decrypt(enc, org_aad(&r.id).as_bytes())?;
                Some(String::from_utf8_lossy(&clear).into_owned())
            }
            None => None,
        };
        Ok(Organisation {
            kind: kind_of(&r.kind)?,
            status: status_of(&r.status)?,
            id: r.id,
            name: r.name,
            uscc,
            uscc_masked: r.uscc_masked,
            contact_name: r.contact_name,
            contact_phone: r.contact_phone,
            introduction: r.introduction,
            reject_reason: r.reject_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
            reviewed_at: r.reviewed_at,
            reviewed_by: r.reviewed_by,
        })
    }

    /// Records a change that has committed (every change is recorded), forgetting the
    /// memberships kept for pages first.
    async fn record(&self, event: AuditEvent) -> Result<(), OrgError> {
        self.memberships.invalidate_all();
        self.audit.append(event).await?;
        Ok(())
    }

    /// The audit actor of an account: a company by its name and masked credit code, a person
    /// by the masked name.
    async fn account_actor(&self, account_id: &str) -> Result<Actor, OrgError> {
        let row: Option<(String, String, Option<String>)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT kind, display_name, key_masked FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(p)
                .await
        })?;
        let id = Some(account_id.to_owned());
        Ok(match row {
            Some((kind, name, masked)) if kind == "legal_person" => {
                let mut a = Actor::new(ActorKind::Account, id, Some(name.clone()));
                a.acting_for = Some(match masked {
                    Some(m) => format!("{name} ({m})"),
                    None => name,
                });
                a
            }
            Some((_, name, _)) => Actor::new(ActorKind::Account, id, Some(mask_name(&name))),
            None => Actor::new(ActorKind::Account, id, None),
        })
    }

    /// Checks an administrator's permission, recording a refusal as [`platform::admin::Admins`]
    /// does.
    async fn authorize(&self, who: &Principal, ctx: &RequestContext) -> Result<(), OrgError> {
        let p = Permission::OrganisationsManage;
        match who.check(p) {
            Ok(()) => Ok(()),
            Err(e @ AdminError::Forbidden { .. }) => {
                self.record(
                    AuditEvent::new("access.denied", Outcome::Denied)
                        .actor(who.actor())
                        .reason("auth.forbidden")
                        .details(serde_json::json!({ "permission": p.as_str(), "role": who.role.as_str() }))
                        .context(ctx),
                )
                .await?;
                Err(OrgError::Admin(e))
            }
            Err(e) => Err(OrgError::Admin(e)),
        }
    }

    fn org_details(org: &Organisation) -> serde_json::Value {
        serde_json::json!({
            "kind": org.kind.as_str(),
            "name": org.name,
            "uscc_masked": org.uscc_masked,
            "status": org.status.as_str(),
        })
    }

    // ---- registration and review ------------------------------------------------------------

    /// An account registers its organisation: a pending organisation with the account as its
    /// main member, both in one transaction. Refused when the account belongs to an
    /// organisation already or the credit code is registered (`org.duplicate`), and for the
    /// operator's kind (a field error on `kind`).
    pub async fn register(
        &self,
        account_id: &str,
        new: NewOrganisation,
        ctx: &RequestContext,
    ) -> Result<Organisation, OrgError> {
        let checked = validate::organisation(&new, By::Account)?;
        // Two registrations racing (several nodes) meet a unique constraint: the second attempt
        // then sees what the first stored.
        let org = match self.register_once(account_id, &checked).await {
            Err(e) if e.is_unique_violation() => self.register_once(account_id, &checked).await?,
            other => other?,
        };
        self.record(
            AuditEvent::new("org.registered", Outcome::Success)
                .actor(self.account_actor(account_id).await?)
                .target(format!("org:{}", org.id))
                .details(Self::org_details(&org))
                .context(ctx),
        )
        .await?;
        Ok(org)
    }

    async fn register_once(&self, account_id: &str, c: &Checked) -> Result<Organisation, OrgError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.now();
        let sealed = c.uscc.as_ref().map(|u| self.seal(&id, u)).transpose()?;
        let created_by = format!("account:{account_id}");
        let row: OrgRow = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let account: Option<String> =
                    sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
                        .bind(account_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if account.is_none() {
                    return Err(OrgError::AccountNotFound(account_id.to_owned()));
                }
                let member: Option<String> =
                    sqlx::query_scalar("SELECT org_id FROM org_members WHERE account_id = $1")
                        .bind(account_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if member.is_some() {
                    return Err(OrgError::AlreadyMember);
                }
                if let Some(s) = &sealed {
                    let taken: Option<String> =
                        sqlx::query_scalar("SELECT id FROM organisations WHERE uscc_index = $1")
                            .bind(s.index.as_slice())
                            .fetch_optional(&mut *tx)
                            .await?;
                    if taken.is_some() {
                        return Err(OrgError::DuplicateUscc);
                    }
                }
                sqlx::query("INSERT INTO organisations (id, kind, name, uscc_index, uscc_enc, uscc_masked, contact_name, contact_phone, introduction, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10)")
                    .bind(&id)
                    .bind(c.kind.as_str())
                    .bind(&c.name)
                    .bind(sealed.as_ref().map(|s| s.index.clone()))
                    .bind(sealed.as_ref().map(|s| s.enc.clone()))
                    .bind(sealed.as_ref().map(|s| s.masked.clone()))
                    .bind(c.contact_name.as_deref())
                    .bind(c.contact_phone.as_deref())
                    .bind(c.introduction.as_deref())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO org_members (account_id, org_id, role, status, created_at, created_by) VALUES ($1, $2, 'main', 'active', $3, $4)")
                    .bind(account_id)
                    .bind(&id)
                    .bind(now)
                    .bind(&created_by)
                    .execute(&mut *tx)
                    .await?;
                let row: OrgRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
                )))
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, OrgError>(row)
            }
            .await
        })?;
        self.open(row)
    }

    /// The main account of a rejected organisation corrects it and puts it back for review.
    pub async fn resubmit(
        &self,
        account_id: &str,
        org_id: &str,
        new: NewOrganisation,
        ctx: &RequestContext,
    ) -> Result<Organisation, OrgError> {
        let checked = validate::organisation(&new, By::Account)?;
        let sealed = checked
            .uscc
            .as_ref()
            .map(|u| self.seal(org_id, u))
            .transpose()?;
        let now = self.now();
        let (row, previous_reason): (OrgRow, Option<String>) = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let member: Option<(String, String)> = sqlx::query_as(
                    "SELECT role, status FROM org_members WHERE account_id = $1 AND org_id = $2",
                )
                .bind(account_id)
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
                match member {
                    Some((role, status)) if role == "main" && status == "active" => {}
                    _ => {
                        return Err(OrgError::Forbidden(
                            "only the organisation's main account may resubmit it",
                        ));
                    }
                }
                let current: Option<(String, Option<String>)> = sqlx::query_as(
                    "SELECT status, reject_reason FROM organisations WHERE id = $1",
                )
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((status, previous_reason)) = current else {
                    return Err(OrgError::NotFound(org_id.to_owned()));
                };
                if status != OrgStatus::Rejected.as_str() {
                    return Err(OrgError::Conflict(
                        "only a rejected organisation can be resubmitted",
                    ));
                }
                if let Some(s) = &sealed {
                    let taken: Option<String> = sqlx::query_scalar(
                        "SELECT id FROM organisations WHERE uscc_index = $1 AND id <> $2",
                    )
                    .bind(s.index.as_slice())
                    .bind(org_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if taken.is_some() {
                        return Err(OrgError::DuplicateUscc);
                    }
                }
                let changed = sqlx::query("UPDATE organisations SET kind = $1, name = $2, uscc_index = $3, uscc_enc = $4, uscc_masked = $5, contact_name = $6, contact_phone = $7, introduction = $8, status = 'pending', reject_reason = NULL, updated_at = $9 WHERE id = $10 AND status = 'rejected'")
                    .bind(checked.kind.as_str())
                    .bind(&checked.name)
                    .bind(sealed.as_ref().map(|s| s.index.clone()))
                    .bind(sealed.as_ref().map(|s| s.enc.clone()))
                    .bind(sealed.as_ref().map(|s| s.masked.clone()))
                    .bind(checked.contact_name.as_deref())
                    .bind(checked.contact_phone.as_deref())
                    .bind(checked.introduction.as_deref())
                    .bind(now)
                    .bind(org_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed != 1 {
                    return Err(OrgError::Conflict(
                        "only a rejected organisation can be resubmitted",
                    ));
                }
                let row: OrgRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
                )))
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, OrgError>((row, previous_reason))
            }
            .await
        })
        .map_err(|e| if e.is_unique_violation() { OrgError::DuplicateUscc } else { e })?;
        let org = self.open(row)?;
        let mut details = Self::org_details(&org);
        details["previous_reason"] = serde_json::json!(previous_reason);
        self.record(
            AuditEvent::new("org.resubmitted", Outcome::Success)
                .actor(self.account_actor(account_id).await?)
                .target(format!("org:{org_id}"))
                .details(details)
                .context(ctx),
        )
        .await?;
        Ok(org)
    }

    /// The operators approve or reject a pending organisation (`org.not_pending` otherwise).
    pub async fn review(
        &self,
        who: &Principal,
        org_id: &str,
        decision: Decision,
        ctx: &RequestContext,
    ) -> Result<Organisation, OrgError> {
        self.authorize(who, ctx).await?;
        let (status, reason) = match &decision {
            Decision::Approve => (OrgStatus::Approved, None),
            Decision::Reject { reason } => (OrgStatus::Rejected, Some(validate::reason(reason)?)),
        };
        let actor = who.actor();
        let by = actor_ref(&actor);
        let now = self.now();
        let row: OrgRow = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let changed = sqlx::query("UPDATE organisations SET status = $1, reject_reason = $2, reviewed_at = $3, reviewed_by = $4, updated_at = $3 WHERE id = $5 AND status = 'pending'")
                    .bind(status.as_str())
                    .bind(reason.as_deref())
                    .bind(now)
                    .bind(&by)
                    .bind(org_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed != 1 {
                    let current: Option<String> =
                        sqlx::query_scalar("SELECT status FROM organisations WHERE id = $1")
                            .bind(org_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    return Err(match current {
                        None => OrgError::NotFound(org_id.to_owned()),
                        Some(s) => OrgError::NotPending(status_of(&s)?),
                    });
                }
                let row: OrgRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
                )))
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, OrgError>(row)
            }
            .await
        })?;
        let org = self.open(row)?;
        let event = match status {
            OrgStatus::Approved => "org.approved",
            _ => "org.rejected",
        };
        let mut details = Self::org_details(&org);
        if let Some(r) = &reason {
            details["reason"] = serde_json::json!(r);
        }
        self.record(
            AuditEvent::new(event, Outcome::Success)
                .actor(actor)
                .target(format!("org:{org_id}"))
                .details(details)
                .context(ctx),
        )
        .await?;
        Ok(org)
    }

    /// The operators disable an approved organisation (its accounts can no longer act for it)
    /// or enable a disabled one. Asking for the state it is in changes and records nothing.
    pub async fn set_disabled(
        &self,
        who: &Principal,
        org_id: &str,
        disabled: bool,
        ctx: &RequestContext,
    ) -> Result<Organisation, OrgError> {
        self.authorize(who, ctx).await?;
        let (from, to) = if disabled {
            (OrgStatus::Approved, OrgStatus::Disabled)
        } else {
            (OrgStatus::Disabled, OrgStatus::Approved)
        };
        let now = self.now();
        let (row, changed): (OrgRow, bool) = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let current: Option<String> =
                    sqlx::query_scalar("SELECT status FROM organisations WHERE id = $1")
                        .bind(org_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(current) = current else {
                    return Err(OrgError::NotFound(org_id.to_owned()));
                };
                let changed = if current == to.as_str() {
                    false
                } else {
                    let n = sqlx::query("UPDATE organisations SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
                        .bind(to.as_str())
                        .bind(now)
                        .bind(org_id)
                        .bind(from.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n != 1 {
                        return Err(OrgError::Conflict(if disabled {
                            "only an approved organisation can be disabled"
                        } else {
                            "only a disabled organisation can be enabled; pending ones are reviewed"
                        }));
                    }
                    true
                };
                let row: OrgRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
                )))
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, OrgError>((row, changed))
            }
            .await
        })?;
        let org = self.open(row)?;
        if changed {
            self.record(
                AuditEvent::new(
                    if disabled {
                        "org.disabled"
                    } else {
                        "org.enabled"
                    },
                    Outcome::Success,
                )
                .actor(who.actor())
                .target(format!("org:{org_id}"))
                .details(Self::org_details(&org))
                .context(ctx),
            )
            .await?;
        }
        Ok(org)
    }

    /// The operators create an organisation, approved at once (government departments, the
    /// operator itself). It has no members until [`Orgs::add_member_by_operator`].
    pub async fn create_by_operator(
        &self,
        who: &Principal,
        new: NewOrganisation,
        ctx: &RequestContext,
    ) -> Result<Organisation, OrgError> {
        self.authorize(who, ctx).await?;
        let checked = validate::organisation(&new, By::Operator)?;
        let actor = who.actor();
        let by = actor_ref(&actor);
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.now();
        let sealed = checked
            .uscc
            .as_ref()
            .map(|u| self.seal(&id, u))
            .transpose()?;
        let row: OrgRow = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                if let Some(s) = &sealed {
                    let taken: Option<String> =
                        sqlx::query_scalar("SELECT id FROM organisations WHERE uscc_index = $1")
                            .bind(s.index.as_slice())
                            .fetch_optional(&mut *tx)
                            .await?;
                    if taken.is_some() {
                        return Err(OrgError::DuplicateUscc);
                    }
                }
                sqlx::query("INSERT INTO organisations (id, kind, name, uscc_index, uscc_enc, uscc_masked, contact_name, contact_phone, introduction, status, created_at, updated_at, reviewed_at, reviewed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'approved', $10, $10, $10, $11)")
                    .bind(&id)
                    .bind(checked.kind.as_str())
                    .bind(&checked.name)
                    .bind(sealed.as_ref().map(|s| s.index.clone()))
                    .bind(sealed.as_ref().map(|s| s.enc.clone()))
                    .bind(sealed.as_ref().map(|s| s.masked.clone()))
                    .bind(checked.contact_name.as_deref())
                    .bind(checked.contact_phone.as_deref())
                    .bind(checked.introduction.as_deref())
                    .bind(now)
                    .bind(&by)
                    .execute(&mut *tx)
                    .await?;
                let row: OrgRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
                )))
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, OrgError>(row)
            }
            .await
        })
        .map_err(|e| if e.is_unique_violation() { OrgError::DuplicateUscc } else { e })?;
        let org = self.open(row)?;
        self.record(
            AuditEvent::new("org.created", Outcome::Success)
                .actor(actor)
                .target(format!("org:{id}"))
                .details(Self::org_details(&org))
                .context(ctx),
        )
        .await?;
        Ok(org)
    }

    /// The operators put an account into an organisation (the first staff of a government
    /// department, say). One main account per organisation; the account must belong to none.
    pub async fn add_member_by_operator(
        &self,
        who: &Principal,
        org_id: &str,
        account_id: &str,
        role: MemberRole,
        ctx: &RequestContext,
    ) -> Result<MemberView, OrgError> {
        self.authorize(who, ctx).await?;
        let actor = who.actor();
        let by = actor_ref(&actor);
        let now = self.now();
        let view: MemberView = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let org: Option<String> =
                    sqlx::query_scalar("SELECT id FROM organisations WHERE id = $1")
                        .bind(org_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if org.is_none() {
                    return Err(OrgError::NotFound(org_id.to_owned()));
                }
                let name: Option<String> =
                    sqlx::query_scalar("SELECT display_name FROM accounts WHERE id = $1")
                        .bind(account_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(display_name) = name else {
                    return Err(OrgError::AccountNotFound(account_id.to_owned()));
                };
                let member: Option<String> =
                    sqlx::query_scalar("SELECT org_id FROM org_members WHERE account_id = $1")
                        .bind(account_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if member.is_some() {
                    return Err(OrgError::AlreadyMember);
                }
                if role == MemberRole::Main {
                    let mains: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND role = 'main'",
                    )
                    .bind(org_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    if mains > 0 {
                        return Err(OrgError::Conflict(
                            "the organisation has a main account already",
                        ));
                    }
                }
                sqlx::query("INSERT INTO org_members (account_id, org_id, role, status, created_at, created_by) VALUES ($1, $2, $3, 'active', $4, $5)")
                    .bind(account_id)
                    .bind(org_id)
                    .bind(role.as_str())
                    .bind(now)
                    .bind(&by)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, OrgError>(MemberView {
                    account_id: account_id.to_owned(),
                    display_name,
                    role,
                    status: MemberStatus::Active,
                    created_at: now,
                })
            }
            .await
        })
        .map_err(|e| if e.is_unique_violation() { OrgError::AlreadyMember } else { e })?;
        self.record(
            AuditEvent::new("org.member_added", Outcome::Success)
                .actor(actor)
                .target(format!("org:{org_id}"))
                .details(serde_json::json!({ "account_id": account_id, "role": role.as_str() }))
                .context(ctx),
        )
        .await?;
        Ok(view)
    }

    // ---- reads --------------------------------------------------------------------------------

    pub async fn get(&self, org_id: &str) -> Result<Organisation, OrgError> {
        let row: Option<OrgRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
            )))
            .bind(org_id)
            .fetch_optional(p)
            .await
        })?;
        match row {
            Some(r) => self.open(r),
            None => Err(OrgError::NotFound(org_id.to_owned())),
        }
    }

    /// The operators' list, newest first: by status, kind, and part of the name or a whole
    /// credit code.
    pub async fn list(
        &self,
        filter: OrgFilter,
        page: Page,
    ) -> Result<Paged<Organisation>, OrgError> {
        let page = page.normalised();
        let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let pattern = q.map(like_pattern);
        let index = q
            .and_then(|q| Uscc::parse(q).ok())
            .map(|u| self.uscc_index(&u));
        let status = filter.status.map(OrgStatus::as_str);
        let kind = filter.kind.map(OrgKind::as_str);
        const WHERE: &str = "WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR name LIKE $3 ESCAPE '\\' OR ($4 IS NOT NULL AND uscc_index = $4))";
        let (total, rows): (i64, Vec<OrgRow>) = with_pool!(self.db.read(), |p| {
            async {
                let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM organisations {WHERE}"
                )))
                .bind(status)
                .bind(kind)
                .bind(pattern.as_deref())
                .bind(index.as_deref())
                .fetch_one(p)
                .await?;
                let rows: Vec<OrgRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ORG_COLUMNS} FROM organisations {WHERE} ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
                )))
                .bind(status)
                .bind(kind)
                .bind(pattern.as_deref())
                .bind(index.as_deref())
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(p)
                .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        self.paged(rows, total, page)
    }

    fn paged(
        &self,
        rows: Vec<OrgRow>,
        total: i64,
        page: Page,
    ) -> Result<Paged<Organisation>, OrgError> {
        Ok(Paged {
            items: rows
                .into_iter()
                .map(|r| self.open(r))
                .collect::<Result<_, _>>()?,
            total: count(total),
            page: page.number,
            size: page.size,
        })
    }

    /// Approved financial institutions, by name: the public list.
    pub async fn public_institutions(&self, page: Page) -> Result<Paged<Organisation>, OrgError> {
        let page = page.normalised();
        let (total, rows): (i64, Vec<OrgRow>) = with_pool!(self.db.read(), |p| {
            async {
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM organisations WHERE kind = 'institution' AND status = 'approved'",
                )
                .fetch_one(p)
                .await?;
                let rows: Vec<OrgRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ORG_COLUMNS} FROM organisations WHERE kind = 'institution' AND status = 'approved' ORDER BY name, id LIMIT $1 OFFSET $2"
                )))
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(p)
                .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        self.paged(rows, total, page)
    }

    /// Approved enterprises and institutions, for the home page.
    pub async fn counts(&self) -> Result<Counts, OrgError> {
        let rows: Vec<(String, i64)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT kind, COUNT(*) FROM organisations WHERE status = 'approved' AND kind IN ('enterprise', 'institution') GROUP BY kind")
                .fetch_all(p)
                .await
        })?;
        let mut c = Counts::default();
        for (kind, n) in rows {
            match kind.as_str() {
                "enterprise" => c.enterprises = count(n),
                "institution" => c.institutions = count(n),
                _ => {}
            }
        }
        Ok(c)
    }

    /// The account's membership and its organisation, whatever their status, as pages show
    /// it: kept for up to [`MEMBERSHIP_TTL`] (see there); decisions take [`Orgs::scope_for`].
    pub async fn membership_of(&self, account_id: &str) -> Result<Option<Membership>, OrgError> {
        if let Some(kept) = self.memberships.get(account_id) {
            return Ok(kept);
        }
        let m = self.read_membership(account_id).await?;
        self.memberships.insert(account_id.to_owned(), m.clone());
        Ok(m)
    }

    async fn read_membership(&self, account_id: &str) -> Result<Option<Membership>, OrgError> {
        // One query for both rows.
        let row: Option<MemberOrgRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {}, m.role AS member_role, m.status AS member_status, m.created_at AS member_since FROM org_members m JOIN organisations o ON o.id = m.org_id WHERE m.account_id = $1",
                org_columns_of("o")
            )))
            .bind(account_id)
            .fetch_optional(p)
            .await
        })?;
        let Some(r) = row else {
            return Ok(None);
        };
        Ok(Some(Membership {
            role: role_of(&r.member_role)?,
            status: member_status_of(&r.member_status)?,
            created_at: r.member_since,
            org: self.open(r.org)?,
        }))
    }

    /// What the account is in the portal; `None` without a membership. The role is shown
    /// whatever the membership's and organisation's status: acting for the organisation takes
    /// [`Orgs::scope_for`], which checks them.
    pub async fn portal_role(&self, account_id: &str) -> Result<Option<PortalRole>, OrgError> {
        let r: Option<(String, String)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT o.kind, m.role FROM org_members m JOIN organisations o ON o.id = m.org_id WHERE m.account_id = $1")
                .bind(account_id)
                .fetch_optional(p)
                .await
        })?;
        match r {
            None => Ok(None),
            Some((kind, role)) => Ok(Some(PortalRole::of(kind_of(&kind)?, role_of(&role)?))),
        }
    }

    // ---- an organisation's own data ---------------------------------------------------------

    /// The scope of an account acting for its organisation: an active member of an approved
    /// organisation (`org.forbidden` without an active membership, `org.not_approved` while
    /// the organisation is pending, rejected or disabled).
    pub async fn scope_for(&self, account_id: &str) -> Result<OrgScope, OrgError> {
        let r: Option<(String, String, String, String, String)> = with_pool!(
            self.db.read(),
            |p| {
                sqlx::query_as("SELECT m.org_id, m.role, m.status, o.kind, o.status FROM org_members m JOIN organisations o ON o.id = m.org_id WHERE m.account_id = $1")
                .bind(account_id)
                .fetch_optional(p)
                .await
            }
        )?;
        let Some((org_id, role, member_status, kind, org_status)) = r else {
            return Err(OrgError::Forbidden(
                "the account does not belong to an organisation",
            ));
        };
        if member_status != MemberStatus::Active.as_str() {
            return Err(OrgError::Forbidden(
                "the account's membership of its organisation is disabled",
            ));
        }
        let org_status = status_of(&org_status)?;
        if org_status != OrgStatus::Approved {
            return Err(OrgError::NotApproved(org_status));
        }
        Ok(OrgScope {
            org_id,
            kind: kind_of(&kind)?,
            account_id: account_id.to_owned(),
            role: role_of(&role)?,
        })
    }

    /// The scope of a partner system acting for the financial institution it is mapped to (a
    /// bank's credit system answering the marketplace by message): `org` is the organisation's
    /// id or its unified social credit code. The acting account is `partner:<partner_id>` with
    /// the main account's role; the organisation must be an approved financial institution
    /// (`org.not_found`, `org.not_approved`, `org.forbidden` otherwise). Only the binary's
    /// configuration maps a partner to an organisation: nothing a partner sends chooses it.
    pub async fn partner_scope(&self, org: &str, partner_id: &str) -> Result<OrgScope, OrgError> {
        let org = org.trim();
        let found = match Uscc::parse(org) {
            Ok(code) => {
                let index = self.uscc_index(&code);
                let id: Option<String> = with_pool!(self.db.read(), |p| {
                    sqlx::query_scalar("SELECT id FROM organisations WHERE uscc_index = $1")
                        .bind(&index)
                        .fetch_optional(p)
                        .await
                })?;
                match id {
                    Some(id) => self.get(&id).await?,
                    None => return Err(OrgError::NotFound(code.masked())),
                }
            }
            Err(_) => self.get(org).await?,
        };
        if found.kind != OrgKind::Institution {
            return Err(OrgError::Forbidden(
                "a partner system acts only for a financial institution",
            ));
        }
        if found.status != OrgStatus::Approved {
            return Err(OrgError::NotApproved(found.status));
        }
        Ok(OrgScope {
            org_id: found.id,
            kind: found.kind,
            account_id: format!("partner:{partner_id}"),
            role: MemberRole::Main,
        })
    }

    /// The organisation's members: the main account first, then by joining date.
    pub async fn members(
        &self,
        scope: &OrgScope,
        page: Page,
    ) -> Result<Paged<MemberView>, OrgError> {
        let page = page.normalised();
        type Row = (String, String, String, String, i64);
        let (total, rows): (i64, Vec<Row>) = with_pool!(self.db.read(), |p| {
            async {
                    let total: i64 =
                        sqlx::query_scalar("SELECT COUNT(*) FROM org_members WHERE org_id = $1")
                            .bind(&scope.org_id)
                            .fetch_one(p)
                            .await?;
                    let rows = sqlx::query_as("SELECT m.account_id, a.display_name, m.role, m.status, m.created_at FROM org_members m JOIN accounts a ON a.id = m.account_id WHERE m.org_id = $1 ORDER BY CASE m.role WHEN 'main' THEN 0 ELSE 1 END, m.created_at, m.account_id LIMIT $2 OFFSET $3")
                        .bind(&scope.org_id)
                        .bind(page.limit())
                        .bind(page.offset())
                        .fetch_all(p)
                        .await?;
                    Ok::<_, sqlx::Error>((total, rows))
                }
                .await
        })?;
        let items = rows
            .into_iter()
            .map(|(account_id, display_name, role, status, created_at)| {
                Ok(MemberView {
                    account_id,
                    display_name,
                    role: role_of(&role)?,
                    status: member_status_of(&status)?,
                    created_at,
                })
            })
            .collect::<Result<Vec<_>, OrgError>>()?;
        Ok(Paged {
            items,
            total: count(total),
            page: page.number,
            size: page.size,
        })
    }

    /// Refuses a sub account's scope at once; the writes check again, in their transaction,
    /// that the scope's account is still the organisation's active main member.
    fn require_main(scope: &OrgScope) -> Result<(), OrgError> {
        if scope.role == MemberRole::Main {
            Ok(())
        } else {
            Err(OrgError::Forbidden(
                "only the organisation's main account may manage its members",
            ))
        }
    }

    /// The main account adds an existing account, which belongs to no organisation, as a sub
    /// account.
    pub async fn add_member(
        &self,
        scope: &OrgScope,
        account_id: &str,
        ctx: &RequestContext,
    ) -> Result<MemberView, OrgError> {
        Self::require_main(scope)?;
        let now = self.now();
        let by = format!("account:{}", scope.account_id);
        let view: MemberView = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let still: Option<(String, String, String)> = sqlx::query_as("SELECT m.role, m.status, o.status FROM org_members m JOIN organisations o ON o.id = m.org_id WHERE m.account_id = $1 AND m.org_id = $2")
                    .bind(&scope.account_id)
                    .bind(&scope.org_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                match still {
                    Some((role, status, org_status)) if role == "main" && status == "active" => {
                        if org_status != "approved" {
                            return Err(OrgError::NotApproved(status_of(&org_status)?));
                        }
                    }
                    _ => {
                        return Err(OrgError::Forbidden(
                            "only the organisation's main account may manage its members",
                        ));
                    }
                }
                let name: Option<String> =
                    sqlx::query_scalar("SELECT display_name FROM accounts WHERE id = $1")
                        .bind(account_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(display_name) = name else {
                    return Err(OrgError::AccountNotFound(account_id.to_owned()));
                };
                let member: Option<String> =
                    sqlx::query_scalar("SELECT org_id FROM org_members WHERE account_id = $1")
                        .bind(account_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if member.is_some() {
                    return Err(OrgError::AlreadyMember);
                }
                sqlx::query("INSERT INTO org_members (account_id, org_id, role, status, created_at, created_by) VALUES ($1, $2, 'sub', 'active', $3, $4)")
                    .bind(account_id)
                    .bind(&scope.org_id)
                    .bind(now)
                    .bind(&by)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, OrgError>(MemberView {
                    account_id: account_id.to_owned(),
                    display_name,
                    role: MemberRole::Sub,
                    status: MemberStatus::Active,
                    created_at: now,
                })
            }
            .await
        })
        .map_err(|e| if e.is_unique_violation() { OrgError::AlreadyMember } else { e })?;
        self.record(
            AuditEvent::new("org.member_added", Outcome::Success)
                .actor(self.account_actor(&scope.account_id).await?)
                .target(format!("org:{}", scope.org_id))
                .details(serde_json::json!({ "account_id": account_id, "role": "sub" }))
                .context(ctx),
        )
        .await?;
        Ok(view)
    }

    /// The main account adds a person as a sub account by name and resident ID number, as it
    /// knows them: the person must have signed in to the platform once (their account is found
    /// by the certificate's blind index, never by the number in clear), and the name must be
    /// the one the provincial platform verified. Field errors say which of the two is wrong.
    pub async fn add_member_by_identity(
        &self,
        scope: &OrgScope,
        name: &str,
        id_number: &str,
        ctx: &RequestContext,
    ) -> Result<MemberView, OrgError> {
        Self::require_main(scope)?;
        let name = name.trim();
        let mut errors = Vec::new();
        if name.is_empty() {
            errors.push(("name".to_owned(), "请填写姓名".to_owned()));
        }
        let cert = match Certificate::new(CertType::ResidentId, id_number) {
            Ok(c) => Some(c),
            Err(e) => {
                let message = if id_number.trim().is_empty() {
                    "请填写身份证号码"
                } else if e == InvalidId::CitizenIdCheck {
                    "身份证号码校验位不正确，请核对后重新填写"
                } else {
                    "身份证号码应为 18 位，最后一位可以是数字或 X"
                };
                errors.push(("id_number".to_owned(), message.to_owned()));
                None
            }
        };
        let Some(cert) = cert.filter(|_| errors.is_empty()) else {
            return Err(OrgError::Invalid(errors));
        };
        let index = self
            .keys
            .index
            .tag(&[cert.index_input().as_bytes()])
            .to_vec();
        let found: Option<(String, String)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(
                "SELECT id, display_name FROM accounts WHERE key_index = $1 AND kind = 'personal'",
            )
            .bind(index.as_slice())
            .fetch_optional(p)
            .await
        })?;
        let Some((account_id, display_name)) = found else {
            return Err(OrgError::field(
                "id_number",
                "该人员尚未登录过本平台：请其先使用闽政通（个人）或 e龙岩 登录一次，再添加为子账号",
            ));
        };
        if display_name.trim() != name {
            return Err(OrgError::field(
                "name",
                "姓名与该身份证号码登记的姓名不一致，请核对",
            ));
        }
        self.add_member(scope, &account_id, ctx).await
    }

    /// The main account disables or enables one of its organisation's sub accounts. An account
    /// that is not a member of this organisation — in another or in none — is `org.not_found`
    /// and is not touched. Asking for the state it is in changes and records nothing.
    ///
    /// The account's sessions are not ended: the account may still use the platform for
    /// itself, and acting for the organisation takes [`Orgs::scope_for`], which each request
    /// asks for afresh and which refuses a disabled membership at once.
    pub async fn set_member_disabled(
        &self,
        scope: &OrgScope,
        account_id: &str,
        disabled: bool,
        ctx: &RequestContext,
    ) -> Result<MemberView, OrgError> {
        Self::require_main(scope)?;
        let to = if disabled {
            MemberStatus::Disabled
        } else {
            MemberStatus::Active
        };
        let (view, changed): (MemberView, bool) = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let still: Option<(String, String, String)> = sqlx::query_as("SELECT m.role, m.status, o.status FROM org_members m JOIN organisations o ON o.id = m.org_id WHERE m.account_id = $1 AND m.org_id = $2")
                    .bind(&scope.account_id)
                    .bind(&scope.org_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                match still {
                    Some((role, status, org_status)) if role == "main" && status == "active" => {
                        if org_status != "approved" {
                            return Err(OrgError::NotApproved(status_of(&org_status)?));
                        }
                    }
                    _ => {
                        return Err(OrgError::Forbidden(
                            "only the organisation's main account may manage its members",
                        ));
                    }
                }
                let member: Option<(String, String, i64, String)> = sqlx::query_as("SELECT m.role, m.status, m.created_at, a.display_name FROM org_members m JOIN accounts a ON a.id = m.account_id WHERE m.account_id = $1 AND m.org_id = $2")
                    .bind(account_id)
                    .bind(&scope.org_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((role, status, created_at, display_name)) = member else {
                    return Err(OrgError::MemberNotFound(account_id.to_owned()));
                };
                if role != MemberRole::Sub.as_str() {
                    return Err(OrgError::Forbidden(
                        "the main account cannot be disabled by the organisation",
                    ));
                }
                let changed = if status == to.as_str() {
                    false
                } else {
                    sqlx::query("UPDATE org_members SET status = $1 WHERE account_id = $2 AND org_id = $3 AND role = 'sub'")
                        .bind(to.as_str())
                        .bind(account_id)
                        .bind(&scope.org_id)
                        .execute(&mut *tx)
                        .await?;
                    true
                };
                tx.commit().await?;
                Ok::<_, OrgError>((
                    MemberView {
                        account_id: account_id.to_owned(),
                        display_name,
                        role: MemberRole::Sub,
                        status: to,
                        created_at,
                    },
                    changed,
                ))
            }
            .await
        })?;
        if changed {
            self.record(
                AuditEvent::new(
                    if disabled {
                        "org.member_disabled"
                    } else {
                        "org.member_enabled"
                    },
                    Outcome::Success,
                )
                .actor(self.account_actor(&scope.account_id).await?)
                .target(format!("org:{}", scope.org_id))
                .details(serde_json::json!({ "account_id": account_id }))
                .context(ctx),
            )
            .await?;
        }
        Ok(view)
    }

    // ---- legal persons ----------------------------------------------------------------------

    /// After a legal person's sign-in through the provincial platform (闽政通): the account —
    /// the company itself — joins the enterprise of that credit code, as its main account if it
    /// has none yet, else as a sub account. Without such an enterprise one is created, approved
    /// (the provincial platform verified the company), with the account as its main member.
    ///
    /// Idempotent: when the account is a member of that enterprise already nothing changes and
    /// nothing is recorded; otherwise one `org.enterprise_bound` record is written. Refused when
    /// the account belongs to another organisation, or the code is registered to an
    /// organisation that is not an enterprise (`org.duplicate`: its members are managed by its
    /// own main account).
    pub async fn bind_enterprise(
        &self,
        account_id: &str,
        uscc: &str,
        company_name: &str,
        ctx: &RequestContext,
    ) -> Result<Membership, OrgError> {
        let code =
            Uscc::parse(uscc).map_err(|e| OrgError::field("uscc", validate::uscc_message(&e)))?;
        let name = validate::asserted_name(company_name)?;
        // Racing binds (two nodes, or two accounts of one company) meet the unique constraints
        // on the code, the account and the main account; the next attempt sees what the other
        // stored.
        let mut attempt = 0;
        let (membership, bound) = loop {
            attempt += 1;
            match self.bind_once(account_id, &code, &name).await {
                Err(e) if e.is_unique_violation() && attempt < 3 => continue,
                other => break other?,
            }
        };
        if let Some(created) = bound {
            let mut details = Self::org_details(&membership.org);
            details["created"] = serde_json::json!(created);
            details["role"] = serde_json::json!(membership.role.as_str());
            self.record(
                AuditEvent::new("org.enterprise_bound", Outcome::Success)
                    .actor(self.account_actor(account_id).await?)
                    .target(format!("org:{}", membership.org.id))
                    .details(details)
                    .context(ctx),
            )
            .await?;
        }
        Ok(membership)
    }

    /// One attempt; `Some(created)` when something changed.
    async fn bind_once(
        &self,
        account_id: &str,
        code: &Uscc,
        name: &str,
    ) -> Result<(Membership, Option<bool>), OrgError> {
        let index = self.uscc_index(code);
        let new_id = uuid::Uuid::now_v7().to_string();
        let sealed = self.seal(&new_id, code)?;
        let now = self.now();
        type MemberRow = (String, String, String, i64);
        let (row, member, bound): (OrgRow, MemberRow, Option<bool>) = with_pool!(
            self.db.write(),
            |p, b| {
                async {
                    let mut tx = begin_write!(p, b)?;
                    let existing: Option<MemberRow> = sqlx::query_as(
                        "SELECT org_id, role, status, created_at FROM org_members WHERE account_id = $1",
                    )
                    .bind(account_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let org: Option<(String, String)> =
                        sqlx::query_as("SELECT id, kind FROM organisations WHERE uscc_index = $1")
                            .bind(index.as_slice())
                            .fetch_optional(&mut *tx)
                            .await?;
                    let (org_id, member, bound) = match (existing, org) {
                        (Some(m), Some((org_id, _))) if m.0 == org_id => (org_id, m, None),
                        (Some(_), _) => return Err(OrgError::AlreadyMember),
                        (None, Some((_, kind))) if kind != OrgKind::Enterprise.as_str() => {
                            return Err(OrgError::DuplicateUscc);
                        }
                        (None, org) => {
                            let account: Option<String> =
                                sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
                                    .bind(account_id)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                            if account.is_none() {
                                return Err(OrgError::AccountNotFound(account_id.to_owned()));
                            }
                            let (org_id, role, created) = match org {
                                Some((org_id, _)) => {
                                    let mains: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND role = 'main'")
                                        .bind(&org_id)
                                        .fetch_one(&mut *tx)
                                        .await?;
                                    let role = if mains == 0 { MemberRole::Main } else { MemberRole::Sub };
                                    (org_id, role, false)
                                }
                                None => {
                                    sqlx::query("INSERT INTO organisations (id, kind, name, uscc_index, uscc_enc, uscc_masked, status, created_at, updated_at, reviewed_at, reviewed_by) VALUES ($1, 'enterprise', $2, $3, $4, $5, 'approved', $6, $6, $6, $7)")
                                        .bind(&new_id)
                                        .bind(name)
                                        .bind(sealed.index.as_slice())
                                        .bind(sealed.enc.as_slice())
                                        .bind(&sealed.masked)
                                        .bind(now)
                                        .bind(BOUND_BY)
                                        .execute(&mut *tx)
                                        .await?;
                                    (new_id.clone(), MemberRole::Main, true)
                                }
                            };
                            sqlx::query("INSERT INTO org_members (account_id, org_id, role, status, created_at, created_by) VALUES ($1, $2, $3, 'active', $4, 'system')")
                                .bind(account_id)
                                .bind(&org_id)
                                .bind(role.as_str())
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                            let member = (org_id.clone(), role.as_str().to_owned(), MemberStatus::Active.as_str().to_owned(), now);
                            (org_id, member, Some(created))
                        }
                    };
                    let row: OrgRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
                    )))
                    .bind(&org_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok::<_, OrgError>((row, member, bound))
                }
                .await
            }
        )?;
        let (_, role, status, created_at) = member;
        Ok((
            Membership {
                org: self.open(row)?,
                role: role_of(&role)?,
                status: member_status_of(&status)?,
                created_at,
            },
            bound,
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(super::like_pattern("龙岩"), "%龙岩%");
        assert_eq!(super::like_pattern("5%_\\"), "%5\\%\\_\\\\%");
    }
}
