//! Resident institutions' marketplace profile (机构资料, REQUIREMENTS D2): besides the
//! organisation's record (name, introduction, contacts — the `orgs` crate's), the kind of
//! institution (银行, 担保公司, 小额贷款公司 …) and its logo. The institution's main account sets
//! them; the public institution list filters by kind and shows the logos.

use orgs::{OrgKind, Organisation};
use platform::admin::{Permission, Principal};
use platform::audit::{Actor, AuditEvent, Outcome};
use platform::context::RequestContext;
use platform::paging::{Page, Paged};
use platform::store::with_pool;
use serde::Serialize;

use crate::error::MarketError;
use crate::model::INSTITUTION_KINDS;
use crate::service::{Market, Member};

/// An institution's profile in the marketplace.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct InstitutionProfile {
    pub org_id: String,
    /// `bank`, `guarantee`, `microloan`, `insurance`, `securities`, `other`; none: not set yet.
    pub kind: Option<String>,
    /// The logo, a public image at `/files/{id}`.
    pub logo_file_id: Option<String>,
    pub updated_at: Option<i64>,
}

impl InstitutionProfile {
    /// The profile of an institution that has set none.
    fn unset(org_id: &str) -> InstitutionProfile {
        InstitutionProfile {
            org_id: org_id.to_owned(),
            ..InstitutionProfile::default()
        }
    }

    /// The kind as people read it.
    pub fn kind_label(&self) -> Option<&'static str> {
        let k = self.kind.as_deref()?;
        INSTITUTION_KINDS
            .iter()
            .find(|(c, _)| *c == k)
            .map(|(_, l)| *l)
    }

    /// The logo's address on the site.
    pub fn logo_href(&self) -> Option<String> {
        self.logo_file_id.as_ref().map(|id| format!("/files/{id}"))
    }
}

/// One institution of the public list: its organisation and its profile.
#[derive(Clone, Debug)]
pub struct Institution {
    pub org: Organisation,
    pub profile: InstitutionProfile,
}

type Row = (String, Option<String>, Option<String>, i64);

impl Market {
    /// The member, if the main account of an approved institution (`market.forbidden`
    /// otherwise: sub-accounts read the profile but do not change it).
    fn institution_main(m: &Member) -> Result<(), MarketError> {
        m.institution()?;
        if !m.scope.is_main() {
            return Err(MarketError::Forbidden(
                "only the institution's main account changes its profile",
            ));
        }
        Ok(())
    }

    /// An institution's profile (empty when never set).
    pub async fn institution_profile(
        &self,
        org_id: &str,
    ) -> Result<InstitutionProfile, MarketError> {
        let mut found = self.profiles(&[org_id]).await?;
        Ok(found
            .pop()
            .unwrap_or_else(|| InstitutionProfile::unset(org_id)))
    }

    /// The profiles of those of `org_ids` that have one, in one query.
    async fn profiles(&self, org_ids: &[&str]) -> Result<Vec<InstitutionProfile>, MarketError> {
        if org_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=org_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT org_id, kind, logo_file_id, updated_at FROM market_institutions WHERE org_id IN ({})",
            placeholders.join(", ")
        );
        let rows: Vec<Row> = with_pool!(self.store().read(), |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in org_ids {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(org_id, kind, logo_file_id, updated_at)| InstitutionProfile {
                    org_id,
                    kind,
                    logo_file_id,
                    updated_at: Some(updated_at),
                },
            )
            .collect())
    }

    /// Writes one column of an institution's profile (the row made when absent), by `by`
    /// (`account:<id>` or `admin:<id>`), audited with `actor`.
    async fn set_profile(
        &self,
        org: &str,
        (by, actor): (String, Actor),
        column: &'static str,
        value: &str,
        ctx: &RequestContext,
    ) -> Result<InstitutionProfile, MarketError> {
        let now = self.now_ms();
        let sql = format!(
            "INSERT INTO market_institutions (org_id, {column}, updated_at, updated_by) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO UPDATE SET {column} = $2, updated_at = $3, updated_by = $4"
        );
        with_pool!(self.store().write(), |p| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(org)
                .bind(value)
                .bind(now)
                .bind(&by)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        self.audit_event(
            AuditEvent::new("market.institution_profile_changed", Outcome::Success)
                .actor(actor)
                .target(format!("org:{org}"))
                .details(serde_json::json!({ column: value }))
                .context(ctx),
        )
        .await?;
        self.institution_profile(org).await
    }

    /// The main account sets its institution's kind (a field error `kind` for an unknown one).
    pub async fn set_institution_kind(
        &self,
        m: &Member,
        kind: &str,
        ctx: &RequestContext,
    ) -> Result<InstitutionProfile, MarketError> {
        Self::institution_main(m)?;
        let kind = kind.trim();
        if !INSTITUTION_KINDS.iter().any(|(c, _)| *c == kind) {
            return Err(MarketError::field("kind", "请选择机构类型。"));
        }
        self.set_profile(m.scope.org_id(), Self::by_member(m), "kind", kind, ctx)
            .await
    }

    fn by_member(m: &Member) -> (String, Actor) {
        (format!("account:{}", m.scope.account_id()), m.audit_actor())
    }

    /// The operators enter an approved institution's kind (`market.review`; used by `hub
    /// demo` for the demonstration institutions).
    pub async fn enter_institution_kind(
        &self,
        who: &Principal,
        org_id: &str,
        kind: &str,
        ctx: &RequestContext,
    ) -> Result<InstitutionProfile, MarketError> {
        self.administrators()
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        let org = self.organisations().get(org_id).await?;
        if org.kind != OrgKind::Institution {
            return Err(MarketError::Forbidden(
                "only a financial institution has an institution kind",
            ));
        }
        if !INSTITUTION_KINDS.iter().any(|(c, _)| *c == kind) {
            return Err(MarketError::field("kind", "请选择机构类型。"));
        }
        self.set_profile(
            org_id,
            (crate::service::admin_reference(who), who.actor()),
            "kind",
            kind,
            ctx,
        )
        .await
    }

    /// The main account uploads its institution's logo: an image (PNG, JPEG, GIF, WebP)
    /// within the upload limit, read from its bytes (`content.file_rejected` otherwise).
    pub async fn set_institution_logo(
        &self,
        m: &Member,
        name: &str,
        bytes: bytes::Bytes,
        ctx: &RequestContext,
    ) -> Result<InstitutionProfile, MarketError> {
        Self::institution_main(m)?;
        let f = self
            .content()
            .upload_image(
                &format!("account:{}", m.scope.account_id()),
                m.audit_actor(),
                name,
                bytes,
                ctx,
            )
            .await?;
        self.set_profile(
            m.scope.org_id(),
            Self::by_member(m),
            "logo_file_id",
            &f.id,
            ctx,
        )
        .await
    }

    /// Approved institutions, by name, with their profiles; `kind` keeps those of that kind.
    pub async fn institutions(
        &self,
        kind: Option<&str>,
        page: Page,
    ) -> Result<Paged<Institution>, MarketError> {
        let page = page.normalised();
        let orgs = match kind {
            None => self.organisations().public_institutions(page).await?,
            Some(k) => {
                let from = "FROM organisations o JOIN market_institutions i ON i.org_id = o.id WHERE o.kind = 'institution' AND o.status = 'approved' AND i.kind = $1";
                let count = format!("SELECT COUNT(*) {from}");
                let list = format!(
                    "SELECT o.id {from} ORDER BY o.name, o.id LIMIT {} OFFSET {}",
                    page.limit(),
                    page.offset()
                );
                let (total, ids): (i64, Vec<String>) = with_pool!(self.store().read(), |p| {
                    async {
                        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count.clone()))
                            .bind(k)
                            .fetch_one(p)
                            .await?;
                        let ids: Vec<String> =
                            sqlx::query_scalar(sqlx::AssertSqlSafe(list.clone()))
                                .bind(k)
                                .fetch_all(p)
                                .await?;
                        Ok::<_, sqlx::Error>((total, ids))
                    }
                    .await
                })?;
                let mut items = Vec::with_capacity(ids.len());
                for id in ids {
                    items.push(self.organisations().get(&id).await?);
                }
                Paged::of(items, u64::try_from(total).unwrap_or(0), page)
            }
        };
        let ids: Vec<&str> = orgs.items.iter().map(|o| o.id.as_str()).collect();
        let mut profiles = self.profiles(&ids).await?;
        Ok(orgs.map(|org| {
            let profile = profiles
                .iter()
                .position(|p| p.org_id == org.id)
                .map(|k| profiles.swap_remove(k))
                .unwrap_or_else(|| InstitutionProfile::unset(&org.id));
            Institution { org, profile }
        }))
    }
}
