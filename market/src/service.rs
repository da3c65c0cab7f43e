//! The `Market` service: institutions' products and their review, enterprises' demands and
//! their review, matching both ways, 抢单 (one conditional UPDATE decides the one winner on
//! either store), confirmation, return, disbursement and deletion. Every change is one
//! transaction that also appends the demand's history, and is audited once it commits. Every
//! read is scoped: an organisation reads and changes only its own products and demands, and an
//! institution sees a demand's enterprise only once that enterprise confirmed it.

use std::sync::{Arc, RwLock};

use orgs::{OrgKind, OrgScope, Orgs};
use platform::Platform;
use platform::admin::{Admins, Permission, Principal};
use platform::audit::{Actor, ActorKind, AuditEvent, AuditLog, Outcome};
use platform::clock::Clock;
use platform::context::RequestContext;
use platform::paging::{Page, Paged};
use platform::store::{Db, begin_write, with_pool};

use crate::error::MarketError;
use crate::matching::{self, Match, Wanted};
use crate::model::{
    Choices, Decision, Demand, DemandEvent, DemandForm, DemandInput, DemandStatus, DemandView,
    Enterprise, Product, ProductFilter, ProductForm, ProductInput, ProductSort, ProductStatus,
    action_label,
};
use crate::notice::Notice;
use crate::rule::Rule;

/// How long this node reuses its list of listed products before reading it again (a change
/// made on this node is seen at once; one made on another node within this time).
const LISTED_TTL_MS: i64 = 5_000;

/// The most open demands the market reads at once (the market is scored in memory).
const MARKET_MAX: i64 = 5_000;

const PRODUCT_COLUMNS: &str = "id, org_id, org_name, institution_kind, name, kind, guarantee, loan_method, amount_min_fen, amount_max_fen, rate_min_bp, rate_max_bp, term_min_months, term_max_months, regions, industries, conditions, intro, status, reject_reason, held_words, revision, created_at, updated_at, listed_at";

const DEMAND_COLUMNS: &str = "id, org_id, org_name, contact_name, contact_phone, amount_fen, term_months, max_rate_bp, guarantee, industry, region, purpose, tags, status, reject_reason, held_words, taker_org_id, taker_org_name, taken_at, confirmed_at, disbursed_fen, disbursed_on, closed_reason, handler_account_id, handler_name, revision, created_at, updated_at, opened_at";

/// A person acting for their organisation (an enterprise's or an institution's member).
#[derive(Clone, Debug)]
pub struct Member {
    pub scope: OrgScope,
    pub name: String,
}

impl Member {
    fn actor(&self) -> Actor {
        // A partner's system acting for its institution (`market::feed`) reads as the partner.
        let (kind, id) = match self.scope.account_id().strip_prefix("partner:") {
            Some(partner) => (ActorKind::Partner, partner),
            None => (ActorKind::Account, self.scope.account_id()),
        };
        Actor::new(kind, Some(id.to_owned()), Some(self.name.clone()))
    }

    fn reference(&self) -> String {
        let id = self.scope.account_id();
        if id.starts_with("partner:") {
            id.to_owned()
        } else {
            format!("account:{id}")
        }
    }

    /// `market.forbidden` unless the member acts for a financial institution.
    pub fn institution(&self) -> Result<(), MarketError> {
        if self.scope.kind() == OrgKind::Institution {
            Ok(())
        } else {
            Err(MarketError::Forbidden(
                "only financial institutions' staff do this",
            ))
        }
    }

    /// `market.forbidden` unless the member acts for an enterprise.
    pub fn enterprise(&self) -> Result<(), MarketError> {
        if self.scope.kind() == OrgKind::Enterprise {
            Ok(())
        } else {
            Err(MarketError::Forbidden("only enterprises' members do this"))
        }
    }
}

/// The platform's marketplace figures (REQUIREMENTS D10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketFigures {
    pub products: u64,
    pub open_demands: u64,
    pub financing_fen: i64,
}

/// An open demand in the market as one institution sees it: anonymous, with how well the
/// institution's best listed product fits it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MarketItem {
    pub demand: DemandView,
    /// The institution's best product for it and how well it fits (none: no listed product).
    pub best: Option<(String, Match)>,
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: String,
    org_id: String,
    org_name: String,
    institution_kind: String,
    name: String,
    kind: String,
    guarantee: String,
    loan_method: String,
    amount_min_fen: i64,
    amount_max_fen: i64,
    rate_min_bp: i64,
    rate_max_bp: i64,
    term_min_months: i64,
    term_max_months: i64,
    regions: String,
    industries: String,
    conditions: String,
    intro: String,
    status: String,
    reject_reason: Option<String>,
    held_words: Option<String>,
    revision: i64,
    created_at: i64,
    updated_at: i64,
    listed_at: Option<i64>,
}

fn list(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

impl ProductRow {
    fn product(self) -> Result<Product, MarketError> {
        Ok(Product {
            status: ProductStatus::parse(&self.status).ok_or(MarketError::Forbidden(
                "a product of an unknown status is stored",
            ))?,
            guarantee: list(Some(&self.guarantee)),
            regions: list(Some(&self.regions)),
            industries: list(Some(&self.industries)),
            held_words: list(self.held_words.as_deref()),
            id: self.id,
            org_id: self.org_id,
            org_name: self.org_name,
            institution_kind: self.institution_kind,
            name: self.name,
            kind: self.kind,
            loan_method: self.loan_method,
            amount_min_fen: self.amount_min_fen,
            amount_max_fen: self.amount_max_fen,
            rate_min_bp: self.rate_min_bp,
            rate_max_bp: self.rate_max_bp,
            term_min_months: self.term_min_months,
            term_max_months: self.term_max_months,
            conditions: self.conditions,
            intro: self.intro,
            reject_reason: self.reject_reason,
            revision: self.revision,
            created_at: self.created_at,
            updated_at: self.updated_at,
            listed_at: self.listed_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DemandRow {
    id: String,
    org_id: String,
    org_name: String,
    contact_name: String,
    contact_phone: String,
    amount_fen: i64,
    term_months: i64,
    max_rate_bp: i64,
    guarantee: String,
    industry: String,
    region: String,
    purpose: String,
    tags: String,
    status: String,
    reject_reason: Option<String>,
    held_words: Option<String>,
    taker_org_id: Option<String>,
    taker_org_name: Option<String>,
    taken_at: Option<i64>,
    confirmed_at: Option<i64>,
    disbursed_fen: Option<i64>,
    disbursed_on: Option<String>,
    closed_reason: Option<String>,
    handler_account_id: Option<String>,
    handler_name: Option<String>,
    revision: i64,
    created_at: i64,
    updated_at: i64,
    opened_at: Option<i64>,
}

impl DemandRow {
    fn demand(self) -> Result<Demand, MarketError> {
        Ok(Demand {
            status: DemandStatus::parse(&self.status).ok_or(MarketError::Forbidden(
                "a demand of an unknown status is stored",
            ))?,
            tags: list(Some(&self.tags)),
            held_words: list(self.held_words.as_deref()),
            id: self.id,
            org_id: self.org_id,
            org_name: self.org_name,
            contact_name: self.contact_name,
            contact_phone: self.contact_phone,
            amount_fen: self.amount_fen,
            term_months: self.term_months,
            max_rate_bp: self.max_rate_bp,
            guarantee: self.guarantee,
            industry: self.industry,
            region: self.region,
            purpose: self.purpose,
            reject_reason: self.reject_reason,
            taker_org_id: self.taker_org_id,
            taker_org_name: self.taker_org_name,
            taken_at: self.taken_at,
            confirmed_at: self.confirmed_at,
            disbursed_fen: self.disbursed_fen,
            disbursed_on: self.disbursed_on,
            closed_reason: self.closed_reason,
            handler_account_id: self.handler_account_id,
            handler_name: self.handler_name,
            revision: self.revision,
            created_at: self.created_at,
            updated_at: self.updated_at,
            opened_at: self.opened_at,
        })
    }
}

/// A value bound to a statement.
#[derive(Clone, Debug)]
enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
}

/// Who reads a demand, for [`Market::view`].
enum Reader<'a> {
    Owner,
    Institution(&'a str),
    Operator,
}

/// The marketplace. Cheap to clone.
#[derive(Clone)]
pub struct Market {
    db: Db,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
    admins: Arc<Admins>,
    cms: Arc<cms::Cms>,
    orgs: Arc<Orgs>,
    listed: Arc<RwLock<Option<(i64, Listed)>>>,
}

/// This node's copy of the listed products.
type Listed = Arc<Vec<Product>>;

impl Market {
    pub fn new(platform: &Platform, cms: Arc<cms::Cms>, orgs: Arc<Orgs>) -> Market {
        Market {
            db: platform.db.clone(),
            clock: platform.clock.clone(),
            audit: platform.audit.clone(),
            admins: platform.admins.clone(),
            cms,
            orgs,
            listed: Arc::new(RwLock::new(None)),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().0
    }

    async fn record(&self, event: AuditEvent) -> Result<(), MarketError> {
        self.audit.append(event).await?;
        Ok(())
    }

    /// Records a successful step of `actor` on `target`.
    async fn audited(
        &self,
        actor: Actor,
        event: &'static str,
        target: String,
        details: Option<serde_json::Value>,
        ctx: &RequestContext,
    ) -> Result<(), MarketError> {
        let mut e = AuditEvent::new(event, Outcome::Success)
            .actor(actor)
            .target(target)
            .context(ctx);
        if let Some(d) = details {
            e = e.details(d);
        }
        self.record(e).await
    }

    /// The person acting for their organisation (`org.forbidden` / `org.not_approved` when the
    /// account has no active membership of an approved organisation).
    pub async fn member(&self, account_id: &str, name: &str) -> Result<Member, MarketError> {
        Ok(Member {
            scope: self.orgs.scope_for(account_id).await?,
            name: name.to_owned(),
        })
    }

    /// The dictionary's select lists (担保方式, 行业, 区域).
    pub async fn choices(&self) -> Result<Choices, MarketError> {
        Ok(Choices {
            guarantee: self.cms.options("guarantee_method").await?,
            industry: self.cms.options("industry").await?,
            region: self.cms.options("region").await?,
        })
    }

    // ---- products -------------------------------------------------------------------------

    async fn product_row(&self, id: &str) -> Result<Product, MarketError> {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM market_products WHERE id = $1 AND deleted_at IS NULL"
        );
        let row: Option<ProductRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        row.ok_or_else(|| MarketError::NotFound("product", id.to_owned()))?
            .product()
    }

    /// A listed product, as the public reads it.
    pub async fn public_product(&self, id: &str) -> Result<Product, MarketError> {
        let p = self.product_row(id).await?;
        if p.status != ProductStatus::Listed {
            return Err(MarketError::NotFound("product", id.to_owned()));
        }
        Ok(p)
    }

    /// One of the member's institution's products (another's is "not found").
    pub async fn own_product(&self, m: &Member, id: &str) -> Result<Product, MarketError> {
        m.institution()?;
        let p = self.product_row(id).await?;
        if p.org_id != m.scope.org_id() {
            return Err(MarketError::NotFound("product", id.to_owned()));
        }
        Ok(p)
    }

    /// A product for the operators' review.
    pub async fn product_for_review(
        &self,
        who: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Product, MarketError> {
        self.admins
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        self.product_row(id).await
    }

    async fn products_where(
        &self,
        cond: &'static str,
        arg: Option<&str>,
        page: Page,
    ) -> Result<Paged<Product>, MarketError> {
        let (total, rows) = self
            .page_of::<ProductRow>(
                PRODUCT_COLUMNS,
                format!("market_products WHERE deleted_at IS NULL AND {cond}"),
                "updated_at DESC",
                arg,
                page,
            )
            .await?;
        Ok(Paged::of(
            rows.into_iter()
                .map(ProductRow::product)
                .collect::<Result<_, _>>()?,
            total,
            page,
        ))
    }

    /// One page of `columns` from `from_where` (`table WHERE …`, with at most one parameter,
    /// `arg`) in `order`, and the number of rows in the whole list.
    async fn page_of<R>(
        &self,
        columns: &str,
        from_where: String,
        order: &str,
        arg: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<R>), MarketError>
    where
        R: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let count = format!("SELECT COUNT(*) FROM {from_where}");
        let sql = format!(
            "SELECT {columns} FROM {from_where} ORDER BY {order}, id LIMIT {} OFFSET {}",
            page.limit(),
            page.offset()
        );
        let (total, rows): (i64, Vec<R>) = with_pool!(self.db.read(), |p| {
            async {
                let mut c = sqlx::query_scalar(sqlx::AssertSqlSafe(count));
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                if let Some(a) = arg {
                    c = c.bind(a.to_owned());
                    q = q.bind(a.to_owned());
                }
                Ok::<_, sqlx::Error>((c.fetch_one(p).await?, q.fetch_all(p).await?))
            }
            .await
        })?;
        Ok((u64::try_from(total).unwrap_or(0), rows))
    }

    /// The member's institution's products, every status, latest change first.
    pub async fn products_of(&self, m: &Member, page: Page) -> Result<Paged<Product>, MarketError> {
        m.institution()?;
        self.products_where("org_id = $1", Some(m.scope.org_id()), page)
            .await
    }

    /// Products waiting for the operators' review.
    pub async fn pending_products(
        &self,
        who: &Principal,
        page: Page,
        ctx: &RequestContext,
    ) -> Result<Paged<Product>, MarketError> {
        self.admins
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        self.products_where("status = 'pending'", None, page).await
    }

    /// Every listed product, newest first, from this node's copy (see [`LISTED_TTL_MS`]).
    pub async fn listed(&self) -> Result<Arc<Vec<Product>>, MarketError> {
        let now = self.now();
        if let Ok(guard) = self.listed.read()
            && let Some((at, all)) = &*guard
            && now - at < LISTED_TTL_MS
        {
            return Ok(all.clone());
        }
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM market_products WHERE status = 'listed' AND deleted_at IS NULL ORDER BY listed_at DESC, id"
        );
        let rows: Vec<ProductRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await
        })?;
        let all = Arc::new(
            rows.into_iter()
                .map(ProductRow::product)
                .collect::<Result<Vec<_>, _>>()?,
        );
        if let Ok(mut guard) = self.listed.write() {
            *guard = Some((now, all.clone()));
        }
        Ok(all)
    }

    fn forget_listed(&self) {
        if let Ok(mut guard) = self.listed.write() {
            *guard = None;
        }
    }

    /// The public product list: filtered, sorted and paged.
    pub async fn search_products(
        &self,
        f: &ProductFilter,
        page: Page,
    ) -> Result<Paged<Product>, MarketError> {
        let all = self.listed().await?;
        Ok(filter_products(&all, f, page))
    }

    /// Saves a product: a new one as a draft, a change of an existing one (at the revision
    /// the institution read) as a draft again: it leaves the market until approved again.
    pub async fn save_product(
        &self,
        m: &Member,
        existing: Option<(&str, i64)>,
        form: &ProductForm,
        ctx: &RequestContext,
    ) -> Result<Product, MarketError> {
        m.institution()?;
        let input = form
            .check(&self.choices().await?)
            .map_err(MarketError::Invalid)?;
        let org = self.orgs.get(m.scope.org_id()).await?;
        let now = self.now();
        let (id, event) = match existing {
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                let sql = format!(
                    "INSERT INTO market_products ({PRODUCT_COLUMNS}, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 'draft', NULL, NULL, 1, $19, $19, NULL, NULL)"
                );
                self.write_product(&sql, &id, &org.id, &org.name, &input, now, None)
                    .await?;
                (id, "market.product_created")
            }
            Some((id, revision)) => {
                let p = self.own_product(m, id).await?;
                if !p.status.editable() {
                    return Err(MarketError::state(
                        "edit",
                        "产品正在审核中，审核完成后才能修改。",
                    ));
                }
                let sql = "UPDATE market_products SET id = $1, org_id = $2, org_name = $3, institution_kind = $4, name = $5, kind = $6, guarantee = $7, loan_method = $8, amount_min_fen = $9, amount_max_fen = $10, rate_min_bp = $11, rate_max_bp = $12, term_min_months = $13, term_max_months = $14, regions = $15, industries = $16, conditions = $17, intro = $18, updated_at = $19, status = 'draft', reject_reason = NULL, held_words = NULL, revision = revision + 1 WHERE id = $1 AND org_id = $2 AND revision = $20 AND status <> 'pending' AND deleted_at IS NULL";
                let n = self
                    .write_product(sql, id, &org.id, &org.name, &input, now, Some(revision))
                    .await?;
                if n != 1 {
                    return Err(MarketError::state(
                        "edit",
                        "该产品已被他人修改，请刷新后再修改。",
                    ));
                }
                (id.to_owned(), "market.product_changed")
            }
        };
        self.forget_listed();
        self.audited(
            m.actor(),
            event,
            format!("product:{id}"),
            Some(serde_json::json!({ "org_id": org.id, "name": input.name })),
            ctx,
        )
        .await?;
        self.product_row(&id).await
    }

    /// The operators enter a product for a resident institution (代录, e.g. from its paper
    /// application): checked like the institution's own, listed at once since the operators are
    /// its reviewers, and audited as theirs.
    pub async fn add_product_for(
        &self,
        who: &Principal,
        org_id: &str,
        form: &ProductForm,
        ctx: &RequestContext,
    ) -> Result<Product, MarketError> {
        self.admins
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        let org = self.orgs.get(org_id).await?;
        if org.kind != OrgKind::Institution || org.status != orgs::OrgStatus::Approved {
            return Err(MarketError::Forbidden(
                "products belong to approved financial institutions",
            ));
        }
        let input = form
            .check(&self.choices().await?)
            .map_err(MarketError::Invalid)?;
        let now = self.now();
        let id = uuid::Uuid::new_v4().to_string();
        let sql = format!(
            "INSERT INTO market_products ({PRODUCT_COLUMNS}, deleted_at, reviewed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 'listed', NULL, NULL, 1, $19, $19, $19, NULL, $20)"
        );
        let by = admin_ref(who);
        let sql_owned = sql;
        with_pool!(self.db.write(), |p| {
            sqlx::query(sqlx::AssertSqlSafe(sql_owned))
                .bind(&id)
                .bind(&org.id)
                .bind(&org.name)
                .bind(&input.institution_kind)
                .bind(&input.name)
                .bind(&input.kind)
                .bind(json(&input.guarantee))
                .bind(&input.loan_method)
                .bind(input.amount_min_fen)
                .bind(input.amount_max_fen)
                .bind(input.rate_min_bp)
                .bind(input.rate_max_bp)
                .bind(input.term_min_months)
                .bind(input.term_max_months)
                .bind(json(&input.regions))
                .bind(json(&input.industries))
                .bind(&input.conditions)
                .bind(&input.intro)
                .bind(now)
                .bind(&by)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.forget_listed();
        self.audited(
            who.actor(),
            "market.product_entered",
            format!("product:{id}"),
            Some(serde_json::json!({ "org_id": org.id, "name": input.name })),
            ctx,
        )
        .await?;
        self.product_row(&id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_product(
        &self,
        sql: &str,
        id: &str,
        org_id: &str,
        org_name: &str,
        i: &ProductInput,
        now: i64,
        revision: Option<i64>,
    ) -> Result<u64, MarketError> {
        let sql = sql.to_owned();
        Ok(with_pool!(self.db.write(), |p| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(org_id)
                .bind(org_name)
                .bind(&i.institution_kind)
                .bind(&i.name)
                .bind(&i.kind)
                .bind(json(&i.guarantee))
                .bind(&i.loan_method)
                .bind(i.amount_min_fen)
                .bind(i.amount_max_fen)
                .bind(i.rate_min_bp)
                .bind(i.rate_max_bp)
                .bind(i.term_min_months)
                .bind(i.term_max_months)
                .bind(json(&i.regions))
                .bind(json(&i.industries))
                .bind(&i.conditions)
                .bind(&i.intro)
                .bind(now);
            if let Some(r) = revision {
                q = q.bind(r);
            }
            q.execute(p).await.map(|r| r.rows_affected())
        })?)
    }

    /// One conditional UPDATE of a product; `Ok(false)` when its state had changed.
    async fn product_step(
        &self,
        id: &str,
        org_id: Option<&str>,
        from: &[ProductStatus],
        set: &str,
        args: Vec<Arg>,
    ) -> Result<bool, MarketError> {
        let states = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let n = args.len();
        let org = if org_id.is_some() {
            format!(" AND org_id = ${}", n + 3)
        } else {
            String::new()
        };
        let sql = format!(
            "UPDATE market_products SET {set}, updated_at = ${}, revision = revision + 1 WHERE id = ${} AND deleted_at IS NULL AND status IN ({states}){org}",
            n + 1,
            n + 2
        );
        let now = self.now();
        let changed = with_pool!(self.db.write(), |p| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for a in &args {
                q = match a {
                    Arg::Text(t) => q.bind(t.clone()),
                    Arg::Int(i) => q.bind(*i),
                };
            }
            q = q.bind(now).bind(id);
            if let Some(o) = org_id {
                q = q.bind(o);
            }
            q.execute(p).await.map(|r| r.rows_affected())
        })?;
        self.forget_listed();
        Ok(changed == 1)
    }

    /// Submits a draft, rejected or unlisted product for the operators' review; its text goes
    /// through the sensitive-word library first.
    pub async fn submit_product(
        &self,
        m: &Member,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Product, MarketError> {
        let p = self.own_product(m, id).await?;
        let held = self.cms.screen(&[
            ("name", &p.name),
            ("conditions", &p.conditions),
            ("intro", &p.intro),
        ])?;
        let from = ProductStatus::SUBMITTABLE;
        let held_json = (!held.is_empty()).then(|| json(&held));
        if !self
            .product_step(
                id,
                Some(m.scope.org_id()),
                &from,
                "status = 'pending', reject_reason = NULL, held_words = $1",
                vec![Arg::Text(held_json)],
            )
            .await?
        {
            return Err(product_state("submit", p.status));
        }
        self.audited(
            m.actor(),
            "market.product_submitted",
            format!("product:{id}"),
            Some(serde_json::json!({ "held_words": held })),
            ctx,
        )
        .await?;
        self.product_row(id).await
    }

    /// Takes a listed product off the market (下架).
    pub async fn unlist_product(
        &self,
        m: &Member,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Product, MarketError> {
        let p = self.own_product(m, id).await?;
        if !self
            .product_step(
                id,
                Some(m.scope.org_id()),
                &[ProductStatus::Listed],
                "status = 'unlisted'",
                vec![],
            )
            .await?
        {
            return Err(product_state("unlist", p.status));
        }
        self.audited(
            m.actor(),
            "market.product_unlisted",
            format!("product:{id}"),
            None,
            ctx,
        )
        .await?;
        self.product_row(id).await
    }

    /// Deletes a product (kept for the audit trail, gone from every list).
    pub async fn delete_product(
        &self,
        m: &Member,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<(), MarketError> {
        let p = self.own_product(m, id).await?;
        let all = [
            ProductStatus::Draft,
            ProductStatus::Pending,
            ProductStatus::Listed,
            ProductStatus::Rejected,
            ProductStatus::Unlisted,
        ];
        let now = self.now();
        if !self
            .product_step(
                id,
                Some(m.scope.org_id()),
                &all,
                "deleted_at = $1",
                vec![Arg::Int(Some(now))],
            )
            .await?
        {
            return Err(product_state("delete", p.status));
        }
        self.audited(
            m.actor(),
            "market.product_deleted",
            format!("product:{id}"),
            Some(serde_json::json!({ "name": p.name })),
            ctx,
        )
        .await
    }

    /// The operators approve a pending product (listed at once) or reject it with a reason.
    pub async fn review_product(
        &self,
        who: &Principal,
        id: &str,
        decision: Decision,
        ctx: &RequestContext,
    ) -> Result<Product, MarketError> {
        let p = self.product_for_review(who, id, ctx).await?;
        let by = Some(admin_ref(who));
        let now = self.now();
        let (ok, event, details) = match &decision {
            Decision::Approve => (
                self.product_step(
                    id,
                    None,
                    &[ProductStatus::Pending],
                    "status = 'listed', reviewed_by = $1, listed_at = $2",
                    vec![Arg::Text(by), Arg::Int(Some(now))],
                )
                .await?,
                "market.product_approved",
                serde_json::json!({ "org_id": p.org_id }),
            ),
            Decision::Reject { reason } => {
                let reason = checked_reason(reason)?;
                (
                    self.product_step(
                        id,
                        None,
                        &[ProductStatus::Pending],
                        "status = 'rejected', reviewed_by = $1, reject_reason = $2",
                        vec![Arg::Text(by), Arg::Text(Some(reason.clone()))],
                    )
                    .await?,
                    "market.product_rejected",
                    serde_json::json!({ "org_id": p.org_id, "reason": reason }),
                )
            }
        };
        if !ok {
            return Err(product_state("review", p.status));
        }
        self.audited(
            who.actor(),
            event,
            format!("product:{id}"),
            Some(details),
            ctx,
        )
        .await?;
        if matches!(decision, Decision::Approve) {
            self.award(
                &format!("product:{id}"),
                &[(&p.org_id, None, Rule::ProductApproved)],
            )
            .await?;
        }
        let (subject, body) = match &decision {
            Decision::Approve => (
                "金融产品审核通过",
                format!("贵机构的产品“{}”已审核通过并上架。", p.name),
            ),
            Decision::Reject { reason } => (
                "金融产品未通过审核",
                format!(
                    "贵机构的产品“{}”未通过审核：{}。修改后可重新提交。",
                    p.name,
                    reason.trim()
                ),
            ),
        };
        self.notify(&Notice {
            org_id: p.org_id.clone(),
            subject: subject.to_owned(),
            body,
            link: format!("/user/products/{id}"),
            reference: format!("product:{id}"),
        })
        .await?;
        self.product_row(id).await
    }

    // ---- demands --------------------------------------------------------------------------

    async fn demand_row(&self, id: &str) -> Result<Demand, MarketError> {
        let sql = format!("SELECT {DEMAND_COLUMNS} FROM market_demands WHERE id = $1");
        let row: Option<DemandRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        row.ok_or_else(|| MarketError::NotFound("demand", id.to_owned()))?
            .demand()
    }

    /// What `reader` may see of `d`.
    async fn view(&self, d: &Demand, reader: Reader<'_>) -> Result<DemandView, MarketError> {
        let (reveal, by_viewer) = match reader {
            Reader::Owner | Reader::Operator => (true, false),
            Reader::Institution(org) => {
                let mine = d.taker_org_id.as_deref() == Some(org);
                (mine && d.status.reveals(), mine)
            }
        };
        let enterprise = if reveal {
            let org = self.orgs.get(&d.org_id).await?;
            Some(Enterprise {
                org_id: d.org_id.clone(),
                name: d.org_name.clone(),
                uscc_masked: org.uscc_masked,
                contact_name: d.contact_name.clone(),
                contact_phone: d.contact_phone.clone(),
            })
        } else {
            None
        };
        let show_taker = !matches!(reader, Reader::Institution(_)) || by_viewer;
        Ok(DemandView {
            id: d.id.clone(),
            enterprise,
            amount_fen: d.amount_fen,
            term_months: d.term_months,
            max_rate_bp: d.max_rate_bp,
            guarantee: d.guarantee.clone(),
            industry: d.industry.clone(),
            region: d.region.clone(),
            purpose: d.purpose.clone(),
            tags: d.tags.clone(),
            status: d.status,
            reject_reason: d.reject_reason.clone(),
            taker_org_name: if show_taker {
                d.taker_org_name.clone()
            } else {
                None
            },
            taken_by_viewer: by_viewer,
            taken_at: if show_taker { d.taken_at } else { None },
            disbursed_fen: if show_taker { d.disbursed_fen } else { None },
            disbursed_on: if show_taker {
                d.disbursed_on.clone()
            } else {
                None
            },
            closed_reason: if show_taker {
                d.closed_reason.clone()
            } else {
                None
            },
            handler_name: if by_viewer {
                d.handler_name.clone()
            } else {
                None
            },
            revision: d.revision,
            created_at: d.created_at,
            opened_at: d.opened_at,
        })
    }

    /// A demand as the member reads it: the enterprise its own in full; an institution an open
    /// demand, or one it holds, anonymous until the enterprise confirms it; anything else is
    /// "not found".
    pub async fn demand_for(
        &self,
        m: &Member,
        id: &str,
    ) -> Result<(Demand, DemandView), MarketError> {
        let d = self.demand_row(id).await?;
        let reader = match m.scope.kind() {
            OrgKind::Enterprise if d.org_id == m.scope.org_id() => Reader::Owner,
            OrgKind::Institution
                if d.status == DemandStatus::Open
                    || d.taker_org_id.as_deref() == Some(m.scope.org_id()) =>
            {
                Reader::Institution(m.scope.org_id())
            }
            _ => return Err(MarketError::NotFound("demand", id.to_owned())),
        };
        let v = self.view(&d, reader).await?;
        Ok((d, v))
    }

    /// A demand for the operators (review).
    pub async fn demand_for_review(
        &self,
        who: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<(Demand, DemandView), MarketError> {
        self.admins
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        let d = self.demand_row(id).await?;
        let v = self.view(&d, Reader::Operator).await?;
        Ok((d, v))
    }

    /// The demand's history, oldest first.
    pub async fn events(&self, id: &str) -> Result<Vec<DemandEvent>, MarketError> {
        let rows: Vec<(i64, String, Option<String>)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT at, action, detail FROM market_demand_events WHERE demand_id = $1 ORDER BY at, action")
                .bind(id)
                .fetch_all(p)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(at, action, detail)| DemandEvent {
                at,
                action_label: action_label(&action),
                action,
                detail,
            })
            .collect())
    }

    async fn demands_where(
        &self,
        cond: &'static str,
        arg: Option<&str>,
        order: &'static str,
        page: Page,
    ) -> Result<Paged<Demand>, MarketError> {
        let (total, rows) = self
            .page_of::<DemandRow>(
                DEMAND_COLUMNS,
                format!("market_demands WHERE {cond}"),
                order,
                arg,
                page,
            )
            .await?;
        Ok(Paged::of(
            rows.into_iter()
                .map(DemandRow::demand)
                .collect::<Result<_, _>>()?,
            total,
            page,
        ))
    }

    /// The member's enterprise's demands, latest change first.
    pub async fn demands_of(&self, m: &Member, page: Page) -> Result<Paged<Demand>, MarketError> {
        m.enterprise()?;
        self.demands_where(
            "org_id = $1",
            Some(m.scope.org_id()),
            "updated_at DESC",
            page,
        )
        .await
    }

    /// The demands the member's institution holds (taken, confirmed, disbursed, deleted).
    pub async fn demands_taken(
        &self,
        m: &Member,
        mine_only: bool,
        page: Page,
    ) -> Result<Paged<DemandView>, MarketError> {
        m.institution()?;
        // The member's own: those whose 经办人 the member is (a member belongs to one
        // organisation, and the handler is cleared when the demand leaves the institution).
        let (cond, arg) = if mine_only {
            ("handler_account_id = $1", m.scope.account_id())
        } else {
            ("taker_org_id = $1", m.scope.org_id())
        };
        let paged = self
            .demands_where(cond, Some(arg), "taken_at DESC", page)
            .await?;
        let mut items = Vec::with_capacity(paged.items.len());
        for d in &paged.items {
            items.push(self.view(d, Reader::Institution(m.scope.org_id())).await?);
        }
        Ok(Paged {
            items,
            total: paged.total,
            page: paged.page,
            size: paged.size,
        })
    }

    /// Demands waiting for the operators' review, oldest first.
    pub async fn pending_demands(
        &self,
        who: &Principal,
        page: Page,
        ctx: &RequestContext,
    ) -> Result<Paged<Demand>, MarketError> {
        self.admins
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        self.demands_where("status = 'pending'", None, "updated_at", page)
            .await
    }

    /// The market (需求市场) as one institution sees it: open demands, anonymous, each with the
    /// institution's best product for it; `matching` keeps those its products fit.
    pub async fn market(
        &self,
        m: &Member,
        matching: bool,
        page: Page,
    ) -> Result<Paged<MarketItem>, MarketError> {
        m.institution()?;
        let sql = format!(
            "SELECT {DEMAND_COLUMNS} FROM market_demands WHERE status = 'open' ORDER BY opened_at DESC, id LIMIT {MARKET_MAX}"
        );
        let rows: Vec<DemandRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await
        })?;
        let listed = self.listed().await?;
        let mine: Vec<Product> = listed
            .iter()
            .filter(|p| p.org_id == m.scope.org_id())
            .cloned()
            .collect();
        let mut all = Vec::new();
        for r in rows {
            let d = r.demand()?;
            let best = mine
                .iter()
                .map(|p| (p, matching::score(&Wanted::from(&d), p)))
                .max_by(|a, b| a.1.score.cmp(&b.1.score))
                .map(|(p, s)| (p.name.clone(), s));
            if matching && !best.as_ref().is_some_and(|(_, s)| s.recommended()) {
                continue;
            }
            all.push((d, best));
        }
        let page = page.normalised();
        let total = all.len() as u64;
        let mut items = Vec::new();
        for (d, best) in all
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(0))
            .take(usize::try_from(page.limit()).unwrap_or(0))
        {
            items.push(MarketItem {
                demand: self.view(&d, Reader::Institution(m.scope.org_id())).await?,
                best,
            });
        }
        Ok(Paged {
            items,
            total,
            page: page.number,
            size: page.size,
        })
    }

    /// The best listed products for a demand (the enterprise's 推荐产品), best first.
    pub async fn recommend(
        &self,
        d: &Demand,
        n: usize,
    ) -> Result<Vec<(Product, Match)>, MarketError> {
        let listed = self.listed().await?;
        Ok(matching::best(&Wanted::from(d), &listed, n)
            .into_iter()
            .map(|(p, m)| (p.clone(), m))
            .collect())
    }

    /// Publishes a demand (to the operators' review first), or changes a rejected or
    /// withdrawn one (at the revision read) and sends it to review again.
    pub async fn save_demand(
        &self,
        m: &Member,
        existing: Option<(&str, i64)>,
        form: &DemandForm,
        ctx: &RequestContext,
    ) -> Result<Demand, MarketError> {
        m.enterprise()?;
        let input: DemandInput = form
            .check(&self.choices().await?)
            .map_err(MarketError::Invalid)?;
        let held = self
            .cms
            .screen(&[("purpose", &input.purpose), ("tags", &input.tags.join(" "))])?;
        let held_json = (!held.is_empty()).then(|| json(&held));
        let org = self.orgs.get(m.scope.org_id()).await?;
        let now = self.now();
        let who = m.reference();
        let (id, revision) = match existing {
            None => (uuid::Uuid::new_v4().to_string(), None),
            Some((id, r)) => {
                let (d, _) = self.demand_for(m, id).await?;
                if !d.status.editable() {
                    return Err(MarketError::state(
                        "edit",
                        format!("需求当前为「{}」，不能修改。", d.status.label_zh()),
                    ));
                }
                (id.to_owned(), Some(r))
            }
        };
        let i = &input;
        let done = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let n = match revision {
                    None => sqlx::query("INSERT INTO market_demands (id, org_id, org_name, contact_name, contact_phone, amount_fen, term_months, max_rate_bp, guarantee, industry, region, purpose, tags, status, held_words, revision, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', $14, 1, $15, $15)")
                        .bind(&id).bind(&org.id).bind(&org.name).bind(&i.contact_name).bind(&i.contact_phone)
                        .bind(i.amount_fen).bind(i.term_months).bind(i.max_rate_bp).bind(&i.guarantee)
                        .bind(&i.industry).bind(&i.region).bind(&i.purpose).bind(json(&i.tags))
                        .bind(held_json.clone()).bind(now)
                        .execute(&mut *tx).await?.rows_affected(),
                    Some(r) => sqlx::query("UPDATE market_demands SET org_name = $1, contact_name = $2, contact_phone = $3, amount_fen = $4, term_months = $5, max_rate_bp = $6, guarantee = $7, industry = $8, region = $9, purpose = $10, tags = $11, status = 'pending', held_words = $12, reject_reason = NULL, updated_at = $13, revision = revision + 1 WHERE id = $14 AND org_id = $15 AND revision = $16 AND status IN ('pending', 'rejected', 'withdrawn')")
                        .bind(&org.name).bind(&i.contact_name).bind(&i.contact_phone)
                        .bind(i.amount_fen).bind(i.term_months).bind(i.max_rate_bp).bind(&i.guarantee)
                        .bind(&i.industry).bind(&i.region).bind(&i.purpose).bind(json(&i.tags))
                        .bind(held_json.clone()).bind(now).bind(&id).bind(&org.id).bind(r)
                        .execute(&mut *tx).await?.rows_affected(),
                };
                if n != 1 {
                    return Ok::<_, MarketError>(false);
                }
                sqlx::query("INSERT INTO market_demand_events (demand_id, at, action, org_id, actor, detail) VALUES ($1, $2, 'submitted', $3, $4, NULL)")
                    .bind(&id).bind(now).bind(&org.id).bind(&who)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        if !done {
            return Err(MarketError::state(
                "edit",
                "该需求已被修改或状态已变化，请刷新后再修改。",
            ));
        }
        self.audited(m.actor(), if revision.is_none() { "market.demand_created" } else { "market.demand_changed" }, format!("demand:{id}"), Some(serde_json::json!({ "org_id": org.id, "amount_fen": i.amount_fen, "held_words": held })), ctx)
        .await?;
        self.demand_row(&id).await
    }

    /// One conditional UPDATE of a demand and its history entry, in one transaction;
    /// `Ok(false)` when the demand was no longer in one of `from` (or `extra` did not hold).
    #[allow(clippy::too_many_arguments)]
    async fn demand_step(
        &self,
        id: &str,
        from: &[DemandStatus],
        conds: &[(&str, &str)],
        set: &str,
        args: Vec<Arg>,
        action: &'static str,
        org_id: Option<&str>,
        actor: &str,
        detail: Option<String>,
    ) -> Result<bool, MarketError> {
        let states = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let n = args.len();
        let extra: String = conds
            .iter()
            .enumerate()
            .map(|(k, (column, _))| format!(" AND {column} = ${}", n + 3 + k))
            .collect();
        let sql = format!(
            "UPDATE market_demands SET {set}, updated_at = ${}, revision = revision + 1 WHERE id = ${} AND status IN ({states}){extra}",
            n + 1,
            n + 2
        );
        let now = self.now();
        let notice = demand_notice(id, action, detail.as_deref());
        Ok(with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for a in &args {
                    q = match a {
                        Arg::Text(t) => q.bind(t.clone()),
                        Arg::Int(i) => q.bind(*i),
                    };
                }
                q = q.bind(now).bind(id);
                for (_, v) in conds {
                    q = q.bind(*v);
                }
                let changed = q.execute(&mut *tx).await?.rows_affected();
                if changed != 1 {
                    return Ok::<_, MarketError>(false);
                }
                sqlx::query("INSERT INTO market_demand_events (demand_id, at, action, org_id, actor, detail) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(id).bind(now).bind(action).bind(org_id).bind(actor).bind(detail.clone())
                    .execute(&mut *tx).await?;
                if let Some(n) = &notice {
                    sqlx::query(sqlx::AssertSqlSafe(n.sql.clone()))
                        .bind(crate::notice::new_id())
                        .bind(n.subject)
                        .bind(&n.body)
                        .bind(&n.link)
                        .bind(format!("demand:{id}"))
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?)
    }

    /// The operators approve a pending demand into the market or reject it with a reason.
    pub async fn review_demand(
        &self,
        who: &Principal,
        id: &str,
        decision: Decision,
        ctx: &RequestContext,
    ) -> Result<Demand, MarketError> {
        let (d, _) = self.demand_for_review(who, id, ctx).await?;
        let by = admin_ref(who);
        let now = self.now();
        let (ok, event, details) = match &decision {
            Decision::Approve => (
                self.demand_step(
                    id,
                    &[DemandStatus::Pending],
                    &[],
                    "status = 'open', reviewed_by = $1, opened_at = $2",
                    vec![Arg::Text(Some(by.clone())), Arg::Int(Some(now))],
                    "approved",
                    None,
                    &by,
                    None,
                )
                .await?,
                "market.demand_approved",
                serde_json::json!({ "org_id": d.org_id }),
            ),
            Decision::Reject { reason } => {
                let reason = checked_reason(reason)?;
                (
                    self.demand_step(
                        id,
                        &[DemandStatus::Pending],
                        &[],
                        "status = 'rejected', reviewed_by = $1, reject_reason = $2",
                        vec![Arg::Text(Some(by.clone())), Arg::Text(Some(reason.clone()))],
                        "rejected",
                        None,
                        &by,
                        Some(reason.clone()),
                    )
                    .await?,
                    "market.demand_rejected",
                    serde_json::json!({ "org_id": d.org_id, "reason": reason }),
                )
            }
        };
        if !ok {
            return Err(demand_state("review", d.status));
        }
        self.audited(
            who.actor(),
            event,
            format!("demand:{id}"),
            Some(details),
            ctx,
        )
        .await?;
        if matches!(decision, Decision::Approve) {
            self.award(
                &format!("demand:{id}"),
                &[(&d.org_id, None, Rule::DemandApproved)],
            )
            .await?;
        }
        self.demand_row(id).await
    }

    /// 抢单: the institution takes an open demand. Of any number of institutions taking it at
    /// once, exactly one succeeds (one conditional UPDATE: the row is open for one of them);
    /// the others get [`MarketError::Taken`].
    pub async fn take(
        &self,
        m: &Member,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Demand, MarketError> {
        m.institution()?;
        let org = self.orgs.get(m.scope.org_id()).await?;
        let now = self.now();
        let won = self
            .demand_step(
                id,
                &[DemandStatus::Open],
                &[],
                "status = 'taken', taker_org_id = $1, taker_org_name = $2, taken_at = $3, confirmed_at = NULL, handler_account_id = $4, handler_name = $5",
                vec![Arg::Text(Some(org.id.clone())), Arg::Text(Some(org.name.clone())), Arg::Int(Some(now)), Arg::Text(Some(m.scope.account_id().to_owned())), Arg::Text(Some(m.name.clone()))],
                "taken",
                Some(&org.id),
                &m.reference(),
                Some(org.name.clone()),
            )
            .await?;
        if !won {
            let d = self.demand_row(id).await?;
            return Err(match d.status {
                DemandStatus::Taken | DemandStatus::Confirmed | DemandStatus::Disbursed
                    if d.taker_org_id.as_deref() == Some(&org.id) =>
                {
                    MarketError::state("take", "贵机构已经抢到该需求。")
                }
                DemandStatus::Taken | DemandStatus::Confirmed | DemandStatus::Disbursed => {
                    MarketError::Taken
                }
                DemandStatus::Pending | DemandStatus::Rejected => {
                    MarketError::NotFound("demand", id.to_owned())
                }
                other => demand_state("take", other),
            });
        }
        self.audited(
            m.actor(),
            "market.demand_taken",
            format!("demand:{id}"),
            Some(serde_json::json!({ "taker_org_id": org.id })),
            ctx,
        )
        .await?;
        self.demand_row(id).await
    }

    /// The enterprise confirms the institution that took its demand; that institution now
    /// sees the enterprise's name, code and contacts.
    pub async fn confirm(
        &self,
        m: &Member,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Demand, MarketError> {
        m.enterprise()?;
        let (d, _) = self.demand_for(m, id).await?;
        let now = self.now();
        let taker = d.taker_org_id.clone().unwrap_or_default();
        let ok = self
            .demand_step(
                id,
                &[DemandStatus::Taken],
                &[("org_id", m.scope.org_id()), ("taker_org_id", &taker)],
                "confirmed_at = $1, status = 'confirmed'",
                vec![Arg::Int(Some(now))],
                "confirmed",
                Some(m.scope.org_id()),
                &m.reference(),
                d.taker_org_name.clone(),
            )
            .await?;
        if !ok {
            return Err(demand_state("confirm", d.status));
        }
        self.audited(
            m.actor(),
            "market.demand_confirmed",
            format!("demand:{id}"),
            Some(serde_json::json!({ "taker_org_id": d.taker_org_id })),
            ctx,
        )
        .await?;
        self.demand_row(id).await
    }

    #[allow(clippy::too_many_arguments)]
    /// Steps of the institution holding a demand: the demand must be held by it.
    async fn holder_step(
        &self,
        m: &Member,
        id: &str,
        from: &[DemandStatus],
        set: &str,
        args: Vec<Arg>,
        action: &'static str,
        detail: Option<String>,
    ) -> Result<(Demand, bool), MarketError> {
        m.institution()?;
        let (d, _) = self.demand_for(m, id).await?;
        if d.taker_org_id.as_deref() != Some(m.scope.org_id()) {
            return Err(MarketError::NotFound("demand", id.to_owned()));
        }
        let ok = self
            .demand_step(
                id,
                from,
                &[("taker_org_id", m.scope.org_id())],
                set,
                args,
                action,
                Some(m.scope.org_id()),
                &m.reference(),
                detail,
            )
            .await?;
        Ok((d, ok))
    }

    /// 退回: the institution gives the demand back to the market, with a reason.
    pub async fn give_back(
        &self,
        m: &Member,
        id: &str,
        reason: &str,
        ctx: &RequestContext,
    ) -> Result<Demand, MarketError> {
        let reason = checked_reason(reason)?;
        let now = self.now();
        let (d, ok) = self
            .holder_step(
                m,
                id,
                &DemandStatus::HELD,
                "status = 'open', taker_org_id = NULL, taker_org_name = NULL, taken_at = NULL, confirmed_at = NULL, handler_account_id = NULL, handler_name = NULL, opened_at = $1",
                vec![Arg::Int(Some(now))],
                "returned",
                Some(reason.clone()),
            )
            .await?;
        if !ok {
            return Err(demand_state("return", d.status));
        }
        self.audited(
            m.actor(),
            "market.demand_returned",
            format!("demand:{id}"),
            Some(serde_json::json!({ "reason": reason })),
            ctx,
        )
        .await?;
        self.demand_row(id).await
    }

    /// 放款: the institution records the loan it granted (amount in 万元 as typed, date
    /// `YYYY-MM-DD`, not in the future); it counts into the platform's financing total.
    pub async fn disburse(
        &self,
        m: &Member,
        id: &str,
        amount: &str,
        date: &str,
        ctx: &RequestContext,
    ) -> Result<Demand, MarketError> {
        let (fen, date) = self.loan(amount, date)?;
        let (d, ok) = self
            .holder_step(
                m,
                id,
                &[DemandStatus::Confirmed],
                "status = 'disbursed', disbursed_fen = $1, disbursed_on = $2",
                vec![Arg::Int(Some(fen)), Arg::Text(Some(date.clone()))],
                "disbursed",
                Some(format!("{}，{date}", crate::money::show_fen(fen))),
            )
            .await?;
        if !ok {
            return Err(if d.status == DemandStatus::Taken {
                MarketError::state("disburse", "企业尚未确认贵机构，确认后才能登记放款。")
            } else {
                demand_state("disburse", d.status)
            });
        }
        self.audited(
            m.actor(),
            "market.demand_disbursed",
            format!("demand:{id}"),
            Some(serde_json::json!({ "amount_fen": fen, "date": date })),
            ctx,
        )
        .await?;
        self.award(
            &format!("demand:{id}"),
            &[
                (&d.org_id, None, Rule::Disbursed),
                (
                    m.scope.org_id(),
                    Some(m.scope.account_id()),
                    Rule::Disbursed,
                ),
            ],
        )
        .await?;
        self.demand_row(id).await
    }

    /// The institution deletes a demand it holds (a false or abandoned demand), with a reason.
    pub async fn close(
        &self,
        m: &Member,
        id: &str,
        reason: &str,
        ctx: &RequestContext,
    ) -> Result<Demand, MarketError> {
        let reason = checked_reason(reason)?;
        let (d, ok) = self
            .holder_step(
                m,
                id,
                &DemandStatus::HELD,
                "status = 'deleted', closed_reason = $1",
                vec![Arg::Text(Some(reason.clone()))],
                "deleted",
                Some(reason.clone()),
            )
            .await?;
        if !ok {
            return Err(demand_state("delete", d.status));
        }
        self.audited(
            m.actor(),
            "market.demand_deleted",
            format!("demand:{id}"),
            Some(serde_json::json!({ "reason": reason })),
            ctx,
        )
        .await?;
        self.award(
            &format!("demand:{id}"),
            &[(&d.org_id, None, Rule::CreditRefused)],
        )
        .await?;
        self.demand_row(id).await
    }

    /// The enterprise withdraws a demand not yet taken.
    pub async fn withdraw(
        &self,
        m: &Member,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Demand, MarketError> {
        m.enterprise()?;
        let (d, _) = self.demand_for(m, id).await?;
        let ok = self
            .demand_step(
                id,
                &DemandStatus::WITHDRAWABLE,
                &[("org_id", m.scope.org_id())],
                "status = 'withdrawn'",
                vec![],
                "withdrawn",
                Some(m.scope.org_id()),
                &m.reference(),
                None,
            )
            .await?;
        if !ok {
            return Err(demand_state("withdraw", d.status));
        }
        self.audited(
            m.actor(),
            "market.demand_withdrawn",
            format!("demand:{id}"),
            None,
            ctx,
        )
        .await?;
        self.demand_row(id).await
    }

    /// A loan as typed: the amount in 万元 (more than 0) and the date `YYYY-MM-DD`, not after
    /// today in Beijing time; field errors `amount` and `date`.
    pub(crate) fn loan(&self, amount: &str, date: &str) -> Result<(i64, String), MarketError> {
        let mut errors = Vec::new();
        let fen = match crate::money::wan_to_fen(amount) {
            Ok(f) if f > 0 => f,
            Ok(_) => {
                errors.push(("amount".to_owned(), "放款金额必须大于 0。".to_owned()));
                0
            }
            Err(e) => {
                errors.push(("amount".to_owned(), format!("放款金额{e}")));
                0
            }
        };
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let today = time::OffsetDateTime::from_unix_timestamp(self.now() / 1000)
            .map(|t| t.to_offset(time::macros::offset!(+8)).date())
            .ok();
        match time::Date::parse(date.trim(), &format) {
            Ok(d) if today.is_none_or(|t| d <= t) => {}
            Ok(_) => errors.push(("date".to_owned(), "放款日期不能晚于今天。".to_owned())),
            Err(_) => errors.push((
                "date".to_owned(),
                "请按 年-月-日 填写放款日期，例如 2026-12-07。".to_owned(),
            )),
        }
        if !errors.is_empty() {
            return Err(MarketError::Invalid(errors));
        }
        Ok((fen, date.trim().to_owned()))
    }

    /// Products on offer, demands open in the market, financing disbursed (fen: demands and
    /// applications).
    pub async fn figures(&self) -> Result<MarketFigures, MarketError> {
        let (products, open, fen): (i64, i64, Option<i64>) = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT (SELECT COUNT(*) FROM market_products WHERE status = 'listed' AND deleted_at IS NULL), (SELECT COUNT(*) FROM market_demands WHERE status = 'open'), (SELECT CAST(COALESCE(SUM(disbursed_fen), 0) AS BIGINT) FROM market_demands WHERE status = 'disbursed') + (SELECT CAST(COALESCE(SUM(disbursed_fen), 0) AS BIGINT) FROM market_applications WHERE status = 'disbursed')")
                .fetch_one(p)
                .await
        })?;
        Ok(MarketFigures {
            products: u64::try_from(products).unwrap_or(0),
            open_demands: u64::try_from(open).unwrap_or(0),
            financing_fen: fen.unwrap_or(0),
        })
    }
}

// ---- for the ratings and points modules (`ratings.rs`, `points.rs`): accessors only --------

impl Market {
    pub(crate) fn store(&self) -> &Db {
        &self.db
    }

    pub(crate) fn content(&self) -> &cms::Cms {
        &self.cms
    }

    pub(crate) fn organisations(&self) -> &Orgs {
        &self.orgs
    }

    pub(crate) fn administrators(&self) -> &Admins {
        &self.admins
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.now()
    }

    pub(crate) async fn audit_event(&self, event: AuditEvent) -> Result<(), MarketError> {
        self.record(event).await
    }
}

impl Member {
    pub(crate) fn audit_actor(&self) -> Actor {
        self.actor()
    }
}

/// `admin:<id>` (for `points.rs`).
pub(crate) fn admin_reference(who: &Principal) -> String {
    admin_ref(who)
}

/// `admin:<id>`.
fn admin_ref(who: &Principal) -> String {
    let a = who.actor();
    match &a.id {
        Some(id) => format!("{}:{id}", a.kind.as_str()),
        None => a.kind.as_str().to_owned(),
    }
}

fn checked_reason(reason: &str) -> Result<String, MarketError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(MarketError::field(
            "reason",
            "请填写理由（不超过 500 字），对方将看到它。",
        ));
    }
    Ok(r.to_owned())
}

fn product_state(step: &'static str, s: ProductStatus) -> MarketError {
    MarketError::state(
        step,
        format!("产品当前为「{}」，不能执行此操作。", s.label_zh()),
    )
}

fn demand_state(step: &'static str, s: DemandStatus) -> MarketError {
    MarketError::state(
        step,
        format!("需求当前为「{}」，不能执行此操作。", s.label_zh()),
    )
}

/// The public list's filters, sort and page over the listed products.
pub fn filter_products(all: &[Product], f: &ProductFilter, page: Page) -> Paged<Product> {
    let words: Vec<String> =
        f.q.as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    let mut hits: Vec<&Product> = all
        .iter()
        .filter(|p| {
            eq(&f.institution_kind, &p.institution_kind)
                && eq(&f.kind, &p.kind)
                && eq(&f.org_id, &p.org_id)
                && f.guarantee
                    .as_deref()
                    .is_none_or(|g| p.guarantee.iter().any(|x| x == g))
                && f.loan_method
                    .as_deref()
                    .is_none_or(|l| p.loan_method == l || p.loan_method == "both")
                && f.amount_fen
                    .is_none_or(|a| (p.amount_min_fen..=p.amount_max_fen).contains(&a))
                && f.max_rate_bp.is_none_or(|r| p.rate_min_bp <= r)
                && f.term_months
                    .is_none_or(|t| (p.term_min_months..=p.term_max_months).contains(&t))
                && words.iter().all(|w| {
                    p.name.to_lowercase().contains(w.as_str())
                        || p.org_name.to_lowercase().contains(w.as_str())
                        || p.intro.to_lowercase().contains(w.as_str())
                })
        })
        .collect();
    match f.sort {
        ProductSort::Newest => {}
        ProductSort::RateLow => hits.sort_by_key(|p| p.rate_min_bp),
        ProductSort::AmountHigh => hits.sort_by_key(|p| std::cmp::Reverse(p.amount_max_fen)),
        ProductSort::TermLong => hits.sort_by_key(|p| std::cmp::Reverse(p.term_max_months)),
    }
    let page = page.normalised();
    let total = hits.len() as u64;
    Paged {
        items: hits
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(0))
            .take(usize::try_from(page.limit()).unwrap_or(0))
            .cloned()
            .collect(),
        total,
        page: page.number,
        size: page.size,
    }
}

/// The in-site message a demand's step sends, written in the step's transaction: to the
/// enterprise for what the operators and institutions do, to the institution holding the
/// demand for what the enterprise does.
struct DemandNotice {
    /// `INSERT … SELECT` from the demand row, addressed to the right column's organisation.
    sql: String,
    subject: &'static str,
    body: String,
    link: String,
}

fn demand_notice(id: &str, action: &str, detail: Option<&str>) -> Option<DemandNotice> {
    let because = detail.map(|d| format!("：{d}")).unwrap_or_default();
    let (to_taker, subject, body) = match action {
        "approved" => (false, "融资需求审核通过", "您发布的融资需求已审核通过，进入需求市场，金融机构可以查看并抢单。".to_owned()),
        "rejected" => (false, "融资需求未通过审核", format!("您发布的融资需求未通过审核{because}。修改后可重新提交。")),
        "taken" => (false, "融资需求已被机构抢单", "一家金融机构抢到了您的融资需求。请在需求详情中确认该机构，确认后机构才能看到贵企业的名称和联系方式。".to_owned()),
        "confirmed" => (true, "企业已确认贵机构", "企业已确认由贵机构对接其融资需求，现在可以查看企业名称和联系方式。".to_owned()),
        "returned" => (false, "融资需求被退回需求市场", format!("对接机构退回了您的融资需求{because}。需求已重新进入需求市场。")),
        "disbursed" => (false, "融资需求已放款", format!("对接机构已登记放款{because}。欢迎对本次服务进行评价。")),
        "deleted" => (false, "融资需求被机构删除", format!("对接机构删除了您的融资需求{because}。")),
        "withdrawn" => (true, "企业撤回了融资需求", "企业撤回了贵机构正在对接的融资需求。".to_owned()),
        _ => return None,
    };
    let column = if to_taker { "taker_org_id" } else { "org_id" };
    let link = if to_taker {
        format!("/user/market/{id}")
    } else {
        format!("/user/demands/{id}")
    };
    Some(DemandNotice {
        sql: format!(
            "INSERT INTO market_messages (id, org_id, subject, body, link, reference, created_at) SELECT $1, {column}, $2, $3, $4, $5, $6 FROM market_demands WHERE id = $7 AND {column} IS NOT NULL"
        ),
        subject,
        body,
        link,
    })
}
