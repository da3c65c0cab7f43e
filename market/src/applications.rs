//! Applications for products (REQUIREMENTS D3, D8): a signed-in enterprise applies online for a
//! listed product with a form pre-filled from its account and company; the institution offering
//! it accepts it, asks for more (what is missing), refuses it (with a reason) or records the
//! loan (amount and date); the enterprise supplements what was asked for or withdraws it. Each
//! step is one conditional UPDATE (the state it starts from, the side allowed to take it) with
//! its history and the in-site message to the other side, in one transaction; it is audited
//! once committed. Only the two organisations read an application.
//!
//! One application per enterprise and product is in progress at a time (a partial unique
//! index). A refusal costs the enterprise the `credit_refused` points; a loan earns both sides
//! the `disbursed` points and counts into the platform's financing total.

use platform::audit::{AuditEvent, Outcome};
use platform::context::RequestContext;
use platform::paging::{Page, Paged};
use platform::store::{begin_write, with_pool};
use serde::{Deserialize, Serialize};

use crate::error::MarketError;
use crate::model::{self, Errors, Product};
use crate::money;
use crate::notice::{Notice, write_notice};
use crate::rule::Rule;
use crate::service::{Market, Member};

/// Where an application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Waiting for the institution's answer.
    Submitted,
    /// The institution asked for more; waiting for the enterprise.
    MoreNeeded,
    /// The institution is handling it (the loan is not recorded yet).
    Accepted,
    Refused,
    Disbursed,
    Withdrawn,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 6] = [
        ApplicationStatus::Submitted,
        ApplicationStatus::MoreNeeded,
        ApplicationStatus::Accepted,
        ApplicationStatus::Refused,
        ApplicationStatus::Disbursed,
        ApplicationStatus::Withdrawn,
    ];

    /// In progress: at most one per enterprise and product.
    pub const IN_PROGRESS: [ApplicationStatus; 3] = [
        ApplicationStatus::Submitted,
        ApplicationStatus::MoreNeeded,
        ApplicationStatus::Accepted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::MoreNeeded => "more_needed",
            ApplicationStatus::Accepted => "accepted",
            ApplicationStatus::Refused => "refused",
            ApplicationStatus::Disbursed => "disbursed",
            ApplicationStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ApplicationStatus::Submitted => "待机构答复",
            ApplicationStatus::MoreNeeded => "待补充材料",
            ApplicationStatus::Accepted => "已受理",
            ApplicationStatus::Refused => "已拒绝",
            ApplicationStatus::Disbursed => "已放款",
            ApplicationStatus::Withdrawn => "已撤回",
        }
    }

    pub fn parse(t: &str) -> Option<ApplicationStatus> {
        ApplicationStatus::ALL.into_iter().find(|s| s.as_str() == t)
    }

    /// The states each step starts from: the rules the pages ask and the store enforces.
    pub fn allows(self, step: Step) -> bool {
        use ApplicationStatus as S;
        match step {
            Step::Accept => matches!(self, S::Submitted | S::MoreNeeded),
            Step::More => self == S::Submitted,
            Step::Refuse => matches!(self, S::Submitted | S::MoreNeeded | S::Accepted),
            Step::Disburse => self == S::Accepted,
            Step::Supplement => self == S::MoreNeeded,
            Step::Withdraw => matches!(self, S::Submitted | S::MoreNeeded),
        }
    }
}

/// A step on an application: the institution's four, the enterprise's two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Accept,
    More,
    Refuse,
    Disburse,
    Supplement,
    Withdraw,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Accept,
        Step::More,
        Step::Refuse,
        Step::Disburse,
        Step::Supplement,
        Step::Withdraw,
    ];

    /// The name in paths (`/user/applications/{id}/{step}`).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Accept => "accept",
            Step::More => "more",
            Step::Refuse => "refuse",
            Step::Disburse => "disburse",
            Step::Supplement => "supplement",
            Step::Withdraw => "withdraw",
        }
    }

    pub fn parse(t: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.as_str() == t)
    }

    /// The institution's steps (the enterprise's otherwise).
    pub fn by_institution(self) -> bool {
        matches!(
            self,
            Step::Accept | Step::More | Step::Refuse | Step::Disburse
        )
    }

    /// The history's action word.
    fn action(self) -> &'static str {
        match self {
            Step::Accept => "accepted",
            Step::More => "more_needed",
            Step::Refuse => "refused",
            Step::Disburse => "disbursed",
            Step::Supplement => "supplemented",
            Step::Withdraw => "withdrawn",
        }
    }

    fn target(self) -> ApplicationStatus {
        match self {
            Step::Accept => ApplicationStatus::Accepted,
            Step::More => ApplicationStatus::MoreNeeded,
            Step::Refuse => ApplicationStatus::Refused,
            Step::Disburse => ApplicationStatus::Disbursed,
            Step::Supplement => ApplicationStatus::Submitted,
            Step::Withdraw => ApplicationStatus::Withdrawn,
        }
    }
}

/// What the history calls an action.
pub fn application_action_label(action: &str) -> &'static str {
    match action {
        "submitted" => "企业提交申请",
        "supplemented" => "企业补充材料",
        "accepted" => "机构受理",
        "more_needed" => "机构要求补充材料",
        "refused" => "机构拒绝",
        "disbursed" => "机构放款",
        "withdrawn" => "企业撤回",
        _ => "其他",
    }
}

/// An application as both of its sides read it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Application {
    pub id: String,
    pub product_id: String,
    pub product_name: String,
    /// The institution offering the product.
    pub inst_org_id: String,
    pub inst_org_name: String,
    /// The enterprise applying.
    pub org_id: String,
    pub org_name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub amount_fen: i64,
    pub term_months: i64,
    pub purpose: String,
    /// The enterprise's latest remark (what it supplemented).
    pub note: String,
    pub status: ApplicationStatus,
    /// The institution's latest answer: what is missing, why it refused, its remark.
    pub answer: Option<String>,
    pub disbursed_fen: Option<i64>,
    pub disbursed_on: Option<String>,
    /// When the side whose turn it is began waiting (the institution's feedback deadline
    /// counts from it).
    pub waiting_since: i64,
    /// The institution's member assigned to it (经办人), if any.
    pub handler_account_id: Option<String>,
    pub handler_name: Option<String>,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One step of an application's history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationEvent {
    pub at: i64,
    pub action: String,
    pub action_label: String,
    /// `enterprise` or `institution`.
    pub side: String,
    pub detail: Option<String>,
}

/// The application form as typed (or sent as JSON): amount in 万元, term in months.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ApplicationForm {
    pub amount: String,
    pub term: String,
    pub purpose: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub note: String,
}

/// A checked application.
#[derive(Clone, Debug)]
struct ApplicationInput {
    amount_fen: i64,
    term_months: i64,
    purpose: String,
    contact_name: String,
    contact_phone: String,
    note: String,
}

impl ApplicationForm {
    /// Checks the form against the product applied for: the amount and the term within its
    /// ranges; field errors in Chinese.
    fn check(&self, p: &Product) -> Result<ApplicationInput, Errors> {
        let mut e = Errors::new();
        let amount_fen = model::amount(&mut e, "amount", &self.amount, "申请金额");
        if amount_fen > 0 && !(p.amount_min_fen..=p.amount_max_fen).contains(&amount_fen) {
            e.push((
                "amount".into(),
                format!(
                    "该产品的额度为 {} 至 {}，请在此范围内填写。",
                    money::show_fen(p.amount_min_fen),
                    money::show_fen(p.amount_max_fen)
                ),
            ));
        }
        let term_months = model::months(&mut e, "term", &self.term, "申请期限");
        if term_months > 0 && !(p.term_min_months..=p.term_max_months).contains(&term_months) {
            e.push((
                "term".into(),
                format!(
                    "该产品的期限为 {} 至 {} 个月，请在此范围内填写。",
                    p.term_min_months, p.term_max_months
                ),
            ));
        }
        let purpose = model::text(&mut e, "purpose", &self.purpose, "资金用途", 1000, true);
        let (contact_name, contact_phone) =
            model::contact(&mut e, &self.contact_name, &self.contact_phone);
        let note = model::text(&mut e, "note", &self.note, "补充说明", 1000, false);
        if !e.is_empty() {
            return Err(e);
        }
        Ok(ApplicationInput {
            amount_fen,
            term_months,
            purpose,
            contact_name,
            contact_phone,
            note,
        })
    }
}

/// What a step carries: the institution's remark, what is missing, the reason, the loan; the
/// enterprise's supplement.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StepForm {
    /// The remark (accept), what is missing (more), the reason (refuse), the supplement
    /// (supplement).
    pub text: String,
    /// The loan in 万元 (disburse).
    pub amount: String,
    /// The loan's date, `YYYY-MM-DD` (disburse).
    pub date: String,
    /// The member's account id (`assign`, the institution's main account).
    pub account: String,
}

const COLUMNS: &str = "id, product_id, product_name, inst_org_id, inst_org_name, org_id, org_name, contact_name, contact_phone, amount_fen, term_months, purpose, note, status, answer, disbursed_fen, disbursed_on, waiting_since, handler_account_id, handler_name, revision, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    product_id: String,
    product_name: String,
    inst_org_id: String,
    inst_org_name: String,
    org_id: String,
    org_name: String,
    contact_name: String,
    contact_phone: String,
    amount_fen: i64,
    term_months: i64,
    purpose: String,
    note: String,
    status: String,
    answer: Option<String>,
    disbursed_fen: Option<i64>,
    disbursed_on: Option<String>,
    waiting_since: i64,
    handler_account_id: Option<String>,
    handler_name: Option<String>,
    revision: i64,
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn application(self) -> Result<Application, MarketError> {
        let status = ApplicationStatus::parse(&self.status).ok_or(MarketError::Forbidden(
            "an application of an unknown status is stored",
        ))?;
        Ok(Application {
            id: self.id,
            product_id: self.product_id,
            product_name: self.product_name,
            inst_org_id: self.inst_org_id,
            inst_org_name: self.inst_org_name,
            org_id: self.org_id,
            org_name: self.org_name,
            contact_name: self.contact_name,
            contact_phone: self.contact_phone,
            amount_fen: self.amount_fen,
            term_months: self.term_months,
            purpose: self.purpose,
            note: self.note,
            status,
            answer: self.answer,
            disbursed_fen: self.disbursed_fen,
            disbursed_on: self.disbursed_on,
            waiting_since: self.waiting_since,
            handler_account_id: self.handler_account_id,
            handler_name: self.handler_name,
            revision: self.revision,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The message a step sends the other side: (subject, body).
fn notice_text(step: Step, a: &Application, detail: Option<&str>) -> (String, String) {
    let because = detail.map(|d| format!("：{d}")).unwrap_or_default();
    let product = &a.product_name;
    match step {
        Step::Accept => (
            "产品申请已受理".into(),
            format!(
                "{}受理了贵企业对“{product}”的申请{because}。",
                a.inst_org_name
            ),
        ),
        Step::More => (
            "产品申请需补充材料".into(),
            format!(
                "{}需要贵企业补充材料{because}。请在申请详情中补充后重新提交。",
                a.inst_org_name
            ),
        ),
        Step::Refuse => (
            "产品申请未获通过".into(),
            format!(
                "{}未通过贵企业对“{product}”的申请{because}。",
                a.inst_org_name
            ),
        ),
        Step::Disburse => (
            "产品申请已放款".into(),
            format!(
                "{}已就贵企业对“{product}”的申请登记放款{because}。",
                a.inst_org_name
            ),
        ),
        Step::Supplement => (
            "企业已补充材料".into(),
            format!(
                "{}已补充对“{product}”的申请材料{because}，请答复。",
                a.org_name
            ),
        ),
        Step::Withdraw => (
            "企业撤回了产品申请".into(),
            format!("{}撤回了对“{product}”的申请。", a.org_name),
        ),
    }
}

/// The page of an application (both sides use the same path).
pub fn application_link(id: &str) -> String {
    format!("/user/applications/{id}")
}

impl Market {
    async fn application_row(&self, id: &str) -> Result<Application, MarketError> {
        let sql = format!("SELECT {COLUMNS} FROM market_applications WHERE id = $1");
        let row: Option<Row> = with_pool!(self.store().read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        row.ok_or_else(|| MarketError::NotFound("application", id.to_owned()))?
            .application()
    }

    /// An application as one of its two sides reads it (anyone else: "not found").
    pub async fn application(&self, m: &Member, id: &str) -> Result<Application, MarketError> {
        let a = self.application_row(id).await?;
        let mine = m.scope.org_id();
        if a.org_id != mine && a.inst_org_id != mine {
            return Err(MarketError::NotFound("application", id.to_owned()));
        }
        Ok(a)
    }

    /// The history of an application the member may read, oldest first.
    pub async fn application_events(
        &self,
        m: &Member,
        id: &str,
    ) -> Result<Vec<ApplicationEvent>, MarketError> {
        let a = self.application(m, id).await?;
        let rows: Vec<(i64, String, String, Option<String>)> = with_pool!(
            self.store().read(),
            |p| {
                sqlx::query_as("SELECT at, action, org_id, detail FROM market_application_events WHERE application_id = $1 ORDER BY seq")
                    .bind(id)
                    .fetch_all(p)
                    .await
            }
        )?;
        Ok(rows
            .into_iter()
            .map(|(at, action, org, detail)| ApplicationEvent {
                at,
                action_label: application_action_label(&action).to_owned(),
                action,
                side: if org == a.inst_org_id {
                    "institution"
                } else {
                    "enterprise"
                }
                .to_owned(),
                detail,
            })
            .collect())
    }

    /// The member's organisation's applications, latest change first: an enterprise's own,
    /// an institution's received; `status` narrows them.
    pub async fn applications(
        &self,
        m: &Member,
        status: Option<ApplicationStatus>,
        mine_only: bool,
        page: Page,
    ) -> Result<Paged<Application>, MarketError> {
        let column = if m.institution().is_ok() {
            "inst_org_id"
        } else {
            m.enterprise()?;
            "org_id"
        };
        let mut only = status
            .map(|s| format!(" AND status = '{}'", s.as_str()))
            .unwrap_or_default();
        if mine_only {
            only.push_str(" AND handler_account_id = $2");
        }
        let from = format!("market_applications WHERE {column} = $1{only}");
        let count = format!("SELECT COUNT(*) FROM {from}");
        let list = format!(
            "SELECT {COLUMNS} FROM {from} ORDER BY updated_at DESC, id LIMIT {} OFFSET {}",
            page.limit(),
            page.offset()
        );
        let org = m.scope.org_id();
        let me = m.scope.account_id();
        let (total, rows): (i64, Vec<Row>) = with_pool!(self.store().read(), |p| {
            async {
                let mut c = sqlx::query_scalar(sqlx::AssertSqlSafe(count.clone())).bind(org);
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(list.clone())).bind(org);
                if mine_only {
                    c = c.bind(me);
                    q = q.bind(me);
                }
                let total: i64 = c.fetch_one(p).await?;
                let rows: Vec<Row> = q.fetch_all(p).await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        Ok(Paged::of(
            rows.into_iter()
                .map(Row::application)
                .collect::<Result<_, _>>()?,
            u64::try_from(total).unwrap_or(0),
            page,
        ))
    }

    /// The enterprise applies for a listed product. Refused with field errors, with
    /// `market.state_conflict` while another application of its for the product is in
    /// progress, with `market.not_found` for a product not on offer.
    pub async fn apply(
        &self,
        m: &Member,
        product_id: &str,
        form: &ApplicationForm,
        ctx: &RequestContext,
    ) -> Result<Application, MarketError> {
        m.enterprise()?;
        let p = self.public_product(product_id).await?;
        let input = form.check(&p).map_err(MarketError::Invalid)?;
        self.screened(&[("purpose", &input.purpose), ("note", &input.note)])?;
        let org = self.organisations().get(m.scope.org_id()).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now_ms();
        let a = Application {
            id: id.clone(),
            product_id: p.id.clone(),
            product_name: p.name.clone(),
            inst_org_id: p.org_id.clone(),
            inst_org_name: p.org_name.clone(),
            org_id: org.id.clone(),
            org_name: org.name.clone(),
            contact_name: input.contact_name,
            contact_phone: input.contact_phone,
            amount_fen: input.amount_fen,
            term_months: input.term_months,
            purpose: input.purpose,
            note: input.note,
            status: ApplicationStatus::Submitted,
            answer: None,
            disbursed_fen: None,
            disbursed_on: None,
            waiting_since: now,
            handler_account_id: None,
            handler_name: None,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        let notice = Notice {
            org_id: a.inst_org_id.clone(),
            subject: "收到新的产品申请".into(),
            body: format!(
                "{}申请了贵机构的产品“{}”，金额 {}，期限 {} 个月。请及时答复。",
                a.org_name,
                a.product_name,
                money::show_fen(a.amount_fen),
                a.term_months
            ),
            link: application_link(&id),
            reference: format!("application:{id}"),
        };
        let actor = format!("account:{}", m.scope.account_id());
        let inserted = with_pool!(self.store().write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let r = sqlx::query("INSERT INTO market_applications (id, product_id, product_name, inst_org_id, inst_org_name, org_id, org_name, account_id, contact_name, contact_phone, amount_fen, term_months, purpose, note, status, answer, disbursed_fen, disbursed_on, waiting_since, revision, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'submitted', NULL, NULL, NULL, $15, 1, $15, $15)")
                    .bind(&a.id).bind(&a.product_id).bind(&a.product_name).bind(&a.inst_org_id).bind(&a.inst_org_name)
                    .bind(&a.org_id).bind(&a.org_name).bind(m.scope.account_id()).bind(&a.contact_name).bind(&a.contact_phone)
                    .bind(a.amount_fen).bind(a.term_months).bind(&a.purpose).bind(&a.note).bind(now)
                    .execute(&mut *tx)
                    .await;
                match r {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok::<_, MarketError>(false),
                    other => { other?; }
                }
                sqlx::query("INSERT INTO market_application_events (application_id, seq, at, action, org_id, actor, detail) VALUES ($1, 1, $2, 'submitted', $3, $4, NULL)")
                    .bind(&a.id).bind(now).bind(&a.org_id).bind(&actor)
                    .execute(&mut *tx).await?;
                write_notice!(&mut *tx, &notice, now)?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        if !inserted {
            return Err(MarketError::state(
                "apply",
                "贵企业对该产品的申请正在办理中，请在“我的产品申请”中查看进度。",
            ));
        }
        self.audit_event(
            AuditEvent::new("market.application_submitted", Outcome::Success)
                .actor(m.audit_actor())
                .target(format!("application:{id}"))
                .details(
                    serde_json::json!({ "product_id": a.product_id, "inst_org_id": a.inst_org_id }),
                )
                .context(ctx),
        )
        .await?;
        Ok(a)
    }

    /// A step on an application by the side it belongs to: the institution's accept, more,
    /// refuse, disburse; the enterprise's supplement and withdraw. A step the state does not
    /// allow (or taken by the other side at the same moment) is `market.state_conflict`.
    pub async fn application_step(
        &self,
        m: &Member,
        id: &str,
        step: Step,
        form: &StepForm,
        ctx: &RequestContext,
    ) -> Result<Application, MarketError> {
        let a = self.application(m, id).await?;
        let mine = m.scope.org_id();
        let (side_column, other) = if step.by_institution() {
            if a.inst_org_id != mine {
                return Err(MarketError::Forbidden(
                    "only the institution offering the product answers an application",
                ));
            }
            ("inst_org_id", a.org_id.clone())
        } else {
            if a.org_id != mine {
                return Err(MarketError::Forbidden(
                    "only the enterprise that applied changes its application",
                ));
            }
            ("org_id", a.inst_org_id.clone())
        };
        let text = form.text.trim();
        let (detail, answer, loan): (Option<String>, Option<String>, Option<(i64, String)>) =
            match step {
                Step::Accept => {
                    let t = self.step_text(text, "text", "受理说明", false)?;
                    (t.clone(), t, None)
                }
                Step::More => {
                    let t = self.step_text(text, "text", "需补充的材料", true)?;
                    (t.clone(), t, None)
                }
                Step::Refuse => {
                    let t = self.step_text(text, "text", "拒绝理由", true)?;
                    (t.clone(), t, None)
                }
                Step::Supplement => (self.step_text(text, "text", "补充内容", true)?, None, None),
                Step::Withdraw => (None, None, None),
                Step::Disburse => {
                    let (fen, date) = self.loan(&form.amount, &form.date)?;
                    (
                        Some(format!("{}，{date}", money::show_fen(fen))),
                        None,
                        Some((fen, date)),
                    )
                }
            };
        let from: Vec<String> = ApplicationStatus::ALL
            .iter()
            .filter(|s| s.allows(step))
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let now = self.now_ms();
        // What the step sets besides the state (each part led by a comma; none for a
        // withdrawal), with its values from `$4` on (`$1` the time,
        // `$2` the id, `$3` the acting side's organisation). The institution's turn begins
        // again when the enterprise supplements.
        let (set, texts, amounts): (&str, Vec<Option<String>>, Vec<Option<i64>>) = match step {
            Step::Supplement => (
                ", note = $4, waiting_since = $1",
                vec![detail.clone()],
                vec![],
            ),
            Step::Disburse => (
                ", disbursed_on = $4, disbursed_fen = $5",
                vec![loan.as_ref().map(|(_, d)| d.clone())],
                vec![loan.as_ref().map(|(f, _)| *f)],
            ),
            Step::Withdraw => ("", vec![], vec![]),
            _ => (", answer = $4", vec![answer.clone()], vec![]),
        };
        let sql = format!(
            "UPDATE market_applications SET status = '{}'{set}, updated_at = $1, revision = revision + 1 WHERE id = $2 AND {side_column} = $3 AND status IN ({})",
            step.target().as_str(),
            from.join(", ")
        );
        let (subject, body) = notice_text(step, &a, detail.as_deref());
        let notice = Notice {
            org_id: other.clone(),
            subject,
            body,
            link: application_link(id),
            reference: format!("application:{id}"),
        };
        let actor = format!("account:{}", m.scope.account_id());
        let done = with_pool!(self.store().write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(now)
                    .bind(id)
                    .bind(mine);
                for t in &texts {
                    q = q.bind(t.clone());
                }
                for a in &amounts {
                    q = q.bind(*a);
                }
                let changed = q.execute(&mut *tx).await?.rows_affected();
                if changed != 1 {
                    return Ok::<_, MarketError>(false);
                }
                sqlx::query("INSERT INTO market_application_events (application_id, seq, at, action, org_id, actor, detail) SELECT id, revision, $2, $3, $4, $5, $6 FROM market_applications WHERE id = $1")
                    .bind(id).bind(now).bind(step.action()).bind(mine).bind(&actor).bind(detail.clone())
                    .execute(&mut *tx).await?;
                write_notice!(&mut *tx, &notice, now)?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        if !done {
            let now_status = self.application_row(id).await?.status;
            return Err(MarketError::state(
                "application",
                format!(
                    "该申请当前为“{}”，不能{}。",
                    now_status.label_zh(),
                    step_label(step)
                ),
            ));
        }
        let mut details = serde_json::json!({ "step": step.as_str() });
        if let Some((fen, date)) = &loan {
            details["amount_fen"] = serde_json::json!(fen);
            details["date"] = serde_json::json!(date);
        }
        if step == Step::Refuse {
            details["reason"] = serde_json::json!(answer);
        }
        self.audit_event(
            AuditEvent::new(
                match step {
                    Step::Accept => "market.application_accepted",
                    Step::More => "market.application_more_needed",
                    Step::Refuse => "market.application_refused",
                    Step::Disburse => "market.application_disbursed",
                    Step::Supplement => "market.application_supplemented",
                    Step::Withdraw => "market.application_withdrawn",
                },
                Outcome::Success,
            )
            .actor(m.audit_actor())
            .target(format!("application:{id}"))
            .details(details)
            .context(ctx),
        )
        .await?;
        let reference = format!("application:{id}");
        match step {
            Step::Refuse => {
                self.award(&reference, &[(&a.org_id, None, Rule::CreditRefused)])
                    .await?;
            }
            Step::Disburse => {
                self.award(
                    &reference,
                    &[
                        (&a.org_id, None, Rule::Disbursed),
                        (mine, Some(m.scope.account_id()), Rule::Disbursed),
                    ],
                )
                .await?;
            }
            _ => {}
        }
        self.application_row(id).await
    }

    /// Screens an application's texts: they go straight to the other side, with no reviewer
    /// between, so words the library holds for review are refused here as under `refuse`
    /// (`content.sensitive_words`, per field).
    fn screened(&self, fields: &[(&str, &str)]) -> Result<(), MarketError> {
        let mut hits = Vec::new();
        for (field, text) in fields {
            let held = self.content().screen(&[(field, text)])?;
            if !held.is_empty() {
                hits.push(((*field).to_owned(), held));
            }
        }
        if hits.is_empty() {
            Ok(())
        } else {
            Err(MarketError::Content(cms::CmsError::Sensitive(hits)))
        }
    }

    /// A step's text: trimmed, at most 500 characters, required or not, through the
    /// sensitive-word library.
    fn step_text(
        &self,
        text: &str,
        field: &str,
        what: &str,
        required: bool,
    ) -> Result<Option<String>, MarketError> {
        let mut e = Errors::new();
        let t = model::text(&mut e, field, text, what, 500, required);
        if !e.is_empty() {
            return Err(MarketError::Invalid(e));
        }
        self.screened(&[(field, &t)])?;
        Ok((!t.is_empty()).then_some(t))
    }
}

/// A step as people say it (in "cannot …").
pub fn step_label(step: Step) -> &'static str {
    match step {
        Step::Accept => "受理",
        Step::More => "要求补充材料",
        Step::Refuse => "拒绝",
        Step::Disburse => "登记放款",
        Step::Supplement => "补充材料",
        Step::Withdraw => "撤回",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_starts_only_from_its_states() {
        use ApplicationStatus as S;
        assert!(S::Submitted.allows(Step::Accept));
        assert!(S::MoreNeeded.allows(Step::Accept));
        assert!(!S::Accepted.allows(Step::Accept));
        assert!(S::Submitted.allows(Step::More));
        assert!(!S::MoreNeeded.allows(Step::More));
        assert!(S::Accepted.allows(Step::Disburse));
        assert!(!S::Submitted.allows(Step::Disburse));
        assert!(S::MoreNeeded.allows(Step::Supplement));
        assert!(!S::Submitted.allows(Step::Supplement));
        assert!(!S::Accepted.allows(Step::Withdraw));
        for s in [S::Refused, S::Disbursed, S::Withdrawn] {
            for step in Step::ALL {
                assert!(!s.allows(step), "{s:?} allows {step:?}");
            }
        }
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        for step in Step::ALL {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
    }

    fn product() -> Product {
        Product {
            id: "p".into(),
            org_id: "i".into(),
            org_name: "银行".into(),
            institution_kind: "bank".into(),
            name: "贷".into(),
            kind: "debt".into(),
            guarantee: vec![],
            loan_method: "online".into(),
            amount_min_fen: 1_000_000,
            amount_max_fen: 100_000_000,
            rate_min_bp: 300,
            rate_max_bp: 600,
            term_min_months: 6,
            term_max_months: 36,
            regions: vec![],
            industries: vec![],
            conditions: String::new(),
            intro: String::new(),
            status: crate::model::ProductStatus::Listed,
            reject_reason: None,
            held_words: vec![],
            revision: 1,
            created_at: 0,
            updated_at: 0,
            listed_at: None,
        }
    }

    #[test]
    fn the_form_is_checked_against_the_product() {
        let ok = ApplicationForm {
            amount: "100".into(),
            term: "12".into(),
            purpose: "采购原料".into(),
            contact_name: "张三".into(),
            contact_phone: "13800000000".into(),
            note: String::new(),
        };
        let input = ok.check(&product()).expect("valid");
        assert_eq!(input.amount_fen, 100_000_000);
        let fields = |f: ApplicationForm| -> Vec<String> {
            f.check(&product())
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|(f, _)| f)
                .collect()
        };
        assert_eq!(
            fields(ApplicationForm {
                amount: "2000".into(),
                ..ok.clone()
            }),
            ["amount"]
        );
        assert_eq!(
            fields(ApplicationForm {
                term: "48".into(),
                ..ok.clone()
            }),
            ["term"]
        );
        assert_eq!(
            fields(ApplicationForm {
                amount: "1.23456".into(),
                contact_phone: "abc".into(),
                purpose: " ".into(),
                ..ok.clone()
            }),
            ["amount", "purpose", "contact_phone"]
        );
    }
}
