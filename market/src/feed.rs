//! The exchange tie-in (issue 13): a bank that answers by XML — a financing-demand notice
//! (`financing.demand_notice`) whose `<Demand>` names a demand of this marketplace
//! (`HubDemandId`) and what the bank did (`Status`) — changes the same demand, through the same
//! [`Market`] steps, as the bank's staff on the pages: 抢单 ([`Market::take`]), 退回
//! ([`Market::give_back`]), 放款 ([`Market::disburse`]) and 删除 ([`Market::close`]). A bank
//! answering by XML and one answering on the page end in the same state.
//!
//! - **Who acts.** The configuration maps each partner to the institution it answers for
//!   (`[market.partners]`, [`MarketConfig`]); the steps run as a [`Member`] of that institution
//!   whose account is `partner:<id>` ([`orgs::Orgs::partner_scope`]). Nothing in a message
//!   chooses the institution.
//! - **Exactly once.** The exchange's outbox hands every message over with its receipt id, and
//!   again with the same id when it could not learn the outcome. Each `<Demand>` of a receipt is
//!   recorded in `market_exchange_receipts` once applied; a receipt coming back applies only
//!   what was not recorded. Between a step and its record (a crash) the step itself is the
//!   guard: a step whose target state already holds for this institution (a take of a demand it
//!   holds, a disbursement recorded with the same amount and date, …) counts as applied.
//! - **Refusals.** A step the demand's state does not allow (taken by another institution,
//!   not confirmed yet, …) or an answer that cannot be applied (no loan amount, no reason, …) is
//!   recorded as refused, with a reason in Chinese and English, and the delivery is
//!   dead-lettered with that reason (the message log shows it); it is not retried, but an
//!   administrator's replay tries the refused answers again. A store or audit failure is retried.
//! - **Out of scope.** A `<Demand>` without `HubDemandId` is a demand the bank received itself:
//!   the marketplace does not create demands from messages; it is recorded as ignored.
//!
//! This crate does not know the exchange: the binary adapts [`Feed`] to the exchange's
//! in-process consumer (`internal:market`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use orgs::Orgs;
use platform::audit::{Actor, ActorKind, AuditEvent, Outcome};
use platform::config::Layered;
use platform::context::RequestContext;
use platform::store::with_pool;
use serde::Deserialize;

use crate::error::MarketError;
use crate::model::{Demand, DemandStatus};
use crate::service::{Market, Member};

/// The message type the marketplace applies.
pub const MESSAGE_TYPE: &str = "financing.demand_notice";

/// `[market]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMarket {
    /// `[market.partners]`: partner id = the financial institution it answers for, by its
    /// organisation id or its unified social credit code.
    pub partners: BTreeMap<String, String>,
}

/// `[market]`, validated.
#[derive(Clone, Debug, Default)]
pub struct MarketConfig {
    /// Partner id → the institution's organisation id or credit code.
    pub partners: BTreeMap<String, String>,
}

impl MarketConfig {
    /// The section as operators may see it (credit codes masked).
    pub fn summary(&self) -> serde_json::Value {
        let partners: serde_json::Map<String, serde_json::Value> = self
            .partners
            .iter()
            .map(|(p, org)| {
                let shown = platform::identity::Uscc::parse(org)
                    .map(|u| u.masked())
                    .unwrap_or_else(|_| org.clone());
                (p.clone(), serde_json::Value::from(shown))
            })
            .collect();
        serde_json::json!({ "partners": partners })
    }
}

/// Validates `[market]`.
pub fn validate(raw: RawMarket, l: &mut Layered) -> MarketConfig {
    let mut partners = BTreeMap::new();
    for (partner, org) in raw.partners {
        let key = format!("market.partners.{partner}");
        if !platform::code::valid_code(&partner) {
            l.problem(
                &key,
                "a partner id is lower-case letters, digits and single hyphens (2–40 characters)",
            );
            continue;
        }
        let org = org.trim().to_owned();
        let code = platform::identity::Uscc::parse(&org);
        if code.is_err() && uuid::Uuid::parse_str(&org).is_err() {
            l.problem(
                &key,
                "must be the financial institution's organisation id or its unified social credit code (18 characters, check digit included)",
            );
            continue;
        }
        partners.insert(partner, code.map(|c| c.as_str().to_owned()).unwrap_or(org));
    }
    MarketConfig { partners }
}

/// One message handed over by the exchange.
#[derive(Clone, Copy, Debug)]
pub struct Incoming<'a> {
    /// The exchange's id of the message, the same for every delivery of it.
    pub receipt_id: &'a str,
    pub partner: &'a str,
    pub message_type: &'a str,
    pub message_id: &'a str,
    /// The translation (`financing-demand-notice`'s JSON side).
    pub json: &'a serde_json::Value,
}

/// Why a message was not (wholly) applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// Not now (the store or the audit trail is unavailable): hand it over again later.
    #[error("{0}")]
    Retry(String),
    /// Its answers cannot be applied (the reasons, for people, Chinese then English); those it
    /// could apply were applied.
    #[error("{0}")]
    Refused(String),
}

/// What became of a message's answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Steps made now.
    pub applied: usize,
    /// Answers whose state already held (applied by an earlier delivery, or on the page).
    pub unchanged: usize,
    /// `<Demand>`s that name no demand of the marketplace.
    pub ignored: usize,
    /// Answers recorded by an earlier delivery of the same receipt.
    pub before: usize,
}

/// A step a bank reports, by the marketplace's names (the mapping's `ANSWER_STATUS` table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Take,
    Return,
    Disburse,
    Delete,
}

impl Step {
    fn parse(s: &str) -> Option<Step> {
        match s {
            "taken" => Some(Step::Take),
            "returned" => Some(Step::Return),
            "disbursed" => Some(Step::Disburse),
            "deleted" => Some(Step::Delete),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Step::Take => "taken",
            Step::Return => "returned",
            Step::Disburse => "disbursed",
            Step::Delete => "deleted",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            Step::Take => "抢单",
            Step::Return => "退回",
            Step::Disburse => "登记放款",
            Step::Delete => "删除",
        }
    }

    fn en(self) -> &'static str {
        match self {
            Step::Take => "take",
            Step::Return => "return",
            Step::Disburse => "disbursement",
            Step::Delete => "deletion",
        }
    }
}

/// One `<Demand>` of a message.
struct Answer {
    item: i64,
    /// `HubDemandId`; none: a demand the bank received itself (ignored).
    demand_id: Option<String>,
    status: Option<String>,
    loan_amount: Option<String>,
    loan_date: Option<String>,
    reason: Option<String>,
}

impl Answer {
    fn of(item: usize, v: &serde_json::Value) -> Answer {
        let text = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Answer {
            item: i64::try_from(item).unwrap_or(i64::MAX),
            demand_id: text("hub_demand_id"),
            status: text("status"),
            loan_amount: text("loan_amount"),
            loan_date: text("loan_date"),
            reason: text("reason"),
        }
    }
}

/// How one answer ended, as recorded.
enum Ended {
    Applied,
    /// Its state already held.
    Unchanged,
    Refused(String),
}

impl Ended {
    fn as_str(&self) -> &'static str {
        match self {
            Ended::Applied => "applied",
            Ended::Unchanged => "unchanged",
            Ended::Refused(_) => "refused",
        }
    }
}

/// A row of `market_exchange_receipts`.
struct Receipt<'a> {
    item: i64,
    demand_id: Option<&'a str>,
    action: Option<&'static str>,
    outcome: &'static str,
    detail: Option<&'a str>,
}

/// The marketplace's consumer of partners' messages. Cheap to clone.
#[derive(Clone)]
pub struct Feed {
    market: Market,
    orgs: Arc<Orgs>,
    partners: Arc<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("partners", &self.partners.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Whether a failure is the store's or the audit trail's (try again), not the answer's.
fn transient(e: &MarketError) -> bool {
    match e {
        MarketError::Store(_) | MarketError::Audit(_) => true,
        MarketError::Org(o) => matches!(o, orgs::OrgError::Store(_) | orgs::OrgError::Audit(_)),
        MarketError::Content(c) => matches!(c, cms::CmsError::Store(_)),
        _ => false,
    }
}

fn retry(e: &dyn std::fmt::Display) -> FeedError {
    FeedError::Retry(format!(
        "市场暂时无法处理，稍后重试（the marketplace cannot apply it now: {e}）"
    ))
}

/// A refusal about demand `id`, for people: Chinese, then English.
fn refusal(id: &str, zh: &str, en: &str) -> String {
    format!("需求 {id}：{zh}（demand {id}: {en}）")
}

/// Why `step` was refused, from the marketplace's error.
fn refused(id: &str, step: Step, e: &MarketError) -> String {
    match e {
        MarketError::Taken => refusal(
            id,
            "该需求已被其他机构抢单。",
            "taken by another institution",
        ),
        MarketError::NotFound(..) if step == Step::Take => refusal(
            id,
            "该需求不存在，或不在需求市场中。",
            "no such demand in the market",
        ),
        MarketError::NotFound(..) => refusal(
            id,
            "该需求不存在，或不由本机构办理。",
            "no such demand held by this institution",
        ),
        MarketError::State { message, .. } => refusal(
            id,
            message,
            &format!("its state does not allow the {}", step.en()),
        ),
        MarketError::Invalid(fields) => refusal(
            id,
            &fields
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            &format!(
                "the {} is invalid ({})",
                step.en(),
                fields
                    .iter()
                    .map(|(f, _)| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        other => refusal(
            id,
            &format!("不能{}：{}", step.zh(), other.message_zh()),
            &format!("the {} is refused: {other}", step.en()),
        ),
    }
}

/// An amount in yuan as a decimal text (`"500000.00"`, the mapping's exact decimal) to integer
/// fen, by digits: no floats. At most two decimals (more only if they are zeros); no sign but
/// `+`; at most 10^16 yuan.
pub fn yuan_to_fen(text: &str) -> Result<i64, AmountError> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.starts_with('-') {
        return Err(AmountError::Negative);
    }
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(AmountError::NotDecimal);
    }
    let (cents, rest) = frac.split_at(frac.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return Err(AmountError::BelowFen);
    }
    let int = int.trim_start_matches('0');
    if int.len() > 16 {
        return Err(AmountError::TooLarge);
    }
    let yuan: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| AmountError::TooLarge)?
    };
    let cents: i64 = format!("{cents:0<2}")
        .parse()
        .map_err(|_| AmountError::NotDecimal)?;
    yuan.checked_mul(100)
        .and_then(|f| f.checked_add(cents))
        .ok_or(AmountError::TooLarge)
}

/// Why a decimal text is not an amount of fen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("not a decimal number")]
    NotDecimal,
    #[error("negative")]
    Negative,
    #[error("finer than one fen")]
    BelowFen,
    #[error("too large")]
    TooLarge,
}

impl AmountError {
    pub fn zh(self) -> &'static str {
        match self {
            AmountError::NotDecimal => "不是十进制数",
            AmountError::Negative => "不能为负数",
            AmountError::BelowFen => "最多保留两位小数（到分）",
            AmountError::TooLarge => "数值过大",
        }
    }
}

impl Feed {
    pub fn new(market: Market, orgs: Arc<Orgs>, config: &MarketConfig) -> Feed {
        Feed {
            market,
            orgs,
            partners: Arc::new(config.partners.clone()),
        }
    }

    /// Applies a message's answers once per receipt (see the module's documentation). `Ok`
    /// when every answer was applied, already held, recorded before, or ignored.
    pub async fn apply(&self, m: Incoming<'_>) -> Result<Applied, FeedError> {
        if m.message_type != MESSAGE_TYPE {
            return Err(FeedError::Refused(format!(
                "需求市场只处理融资需求通知（{MESSAGE_TYPE}），不处理 {t}（the marketplace applies {MESSAGE_TYPE} only, not {t}）",
                t = m.message_type
            )));
        }
        let Some(demands) = m.json.get("demands").and_then(serde_json::Value::as_array) else {
            return Err(FeedError::Refused(
                "融资需求通知中没有 demands（no demands in the notice）".into(),
            ));
        };
        let answers: Vec<Answer> = demands
            .iter()
            .enumerate()
            .map(|(i, v)| Answer::of(i, v))
            .collect();
        let before = self.recorded(m.receipt_id).await?;
        let mut out = Applied::default();
        // What names no demand of the marketplace: recorded as ignored, once.
        let ignored: Vec<Receipt<'_>> = answers
            .iter()
            .filter(|a| a.demand_id.is_none() && !before.contains_key(&a.item))
            .map(|a| Receipt {
                item: a.item,
                demand_id: None,
                action: None,
                outcome: "ignored",
                detail: None,
            })
            .collect();
        out.ignored = answers.iter().filter(|a| a.demand_id.is_none()).count();
        self.record(&m, &ignored).await?;
        let due: Vec<&Answer> = answers
            .iter()
            .filter(|a| a.demand_id.is_some())
            .filter(|a| {
                let done = before
                    .get(&a.item)
                    .is_some_and(|o| matches!(o.as_str(), "applied" | "unchanged" | "ignored"));
                if done {
                    out.before += 1;
                }
                !done
            })
            .collect();
        if due.is_empty() {
            return Ok(out);
        }
        let member = self.member(m.partner).await?;
        let mut refusals = Vec::new();
        for a in due {
            let id = a.demand_id.as_deref().unwrap_or_default();
            let (step, ended) = match a.status.as_deref().map(|s| (s, Step::parse(s))) {
                Some((_, Some(step))) => (Some(step), self.answer(&member, step, id, a).await?),
                Some((s, None)) => (
                    None,
                    Ended::Refused(refusal(
                        id,
                        &format!("未知的处理状态 {s}。"),
                        &format!("unknown status {s}"),
                    )),
                ),
                None => (
                    None,
                    Ended::Refused(refusal(
                        id,
                        "缺少处理状态（Status）。",
                        "no Status: say what the bank did",
                    )),
                ),
            };
            let detail = match &ended {
                Ended::Refused(r) => Some(r.as_str()),
                _ => None,
            };
            self.record(
                &m,
                &[Receipt {
                    item: a.item,
                    demand_id: Some(id),
                    action: step.map(Step::as_str),
                    outcome: ended.as_str(),
                    detail,
                }],
            )
            .await?;
            self.audit(&m, a.item, id, step, &ended).await?;
            match ended {
                Ended::Applied => out.applied += 1,
                Ended::Unchanged => out.unchanged += 1,
                Ended::Refused(r) => refusals.push(r),
            }
        }
        if refusals.is_empty() {
            Ok(out)
        } else {
            Err(FeedError::Refused(refusals.join("；")))
        }
    }

    /// The member acting for the institution `partner` answers for.
    async fn member(&self, partner: &str) -> Result<Member, FeedError> {
        let Some(org) = self.partners.get(partner) else {
            return Err(FeedError::Refused(format!(
                "合作方 {partner} 未对应入驻金融机构（[market.partners]）（partner {partner} is not mapped to an institution in [market.partners]）"
            )));
        };
        match self.orgs.partner_scope(org, partner).await {
            Ok(scope) => Ok(Member {
                scope,
                name: format!("合作方 {partner}"),
            }),
            Err(e @ (orgs::OrgError::Store(_) | orgs::OrgError::Audit(_))) => Err(retry(&e)),
            Err(e) => Err(FeedError::Refused(format!(
                "合作方 {partner} 对应的机构不能办理需求：须为已审核通过的金融机构（the institution partner {partner} answers for cannot act: {e}）"
            ))),
        }
    }

    /// Makes one step; a refusal whose target state already holds for this institution counts
    /// as applied.
    async fn answer(
        &self,
        m: &Member,
        step: Step,
        id: &str,
        a: &Answer,
    ) -> Result<Ended, FeedError> {
        let ctx = RequestContext::system();
        let done = match step {
            Step::Take => self.market.take(m, id, &ctx).await,
            Step::Return | Step::Delete => {
                let Some(reason) = a.reason.as_deref() else {
                    return Ok(Ended::Refused(refusal(
                        id,
                        &format!("{}须说明理由（Reason）。", step.zh()),
                        &format!("a {} needs a Reason", step.en()),
                    )));
                };
                if step == Step::Return {
                    self.market.give_back(m, id, reason, &ctx).await
                } else {
                    self.market.close(m, id, reason, &ctx).await
                }
            }
            Step::Disburse => {
                let (fen, date) = match loan(id, a) {
                    Ok(l) => l,
                    Err(why) => return Ok(Ended::Refused(why)),
                };
                let wan = crate::money::fen_to_wan(fen);
                match self.market.disburse(m, id, &wan, &date, &ctx).await {
                    Err(e) if !transient(&e) => {
                        return self.disbursed_before(m, id, fen, &date, &e).await;
                    }
                    other => other,
                }
            }
        };
        let e = match done {
            Ok(_) => return Ok(Ended::Applied),
            Err(e) if transient(&e) => return Err(retry(&e)),
            Err(e) => e,
        };
        let held = self.held(m, id).await?;
        let already = match (step, &held) {
            (Step::Take, Some(d)) => matches!(
                d.status,
                DemandStatus::Taken | DemandStatus::Confirmed | DemandStatus::Disbursed
            ),
            (Step::Delete, Some(d)) => d.status == DemandStatus::Deleted,
            (Step::Return, None) => self.returned_by(m, id).await?,
            _ => false,
        };
        Ok(if already {
            Ended::Unchanged
        } else {
            Ended::Refused(refused(id, step, &e))
        })
    }

    /// A disbursement refused: already recorded by this institution with the same figures
    /// (unchanged), or refused.
    async fn disbursed_before(
        &self,
        m: &Member,
        id: &str,
        fen: i64,
        date: &str,
        e: &MarketError,
    ) -> Result<Ended, FeedError> {
        Ok(match self.held(m, id).await? {
            Some(d) if d.status == DemandStatus::Disbursed => {
                if d.disbursed_fen == Some(fen) && d.disbursed_on.as_deref() == Some(date) {
                    Ended::Unchanged
                } else {
                    Ended::Refused(refusal(
                        id,
                        "该需求已登记过金额或日期不同的放款。",
                        "a disbursement with another amount or date is recorded already",
                    ))
                }
            }
            _ => Ended::Refused(refused(id, Step::Disburse, e)),
        })
    }

    /// The demand, when this institution holds it (taken, confirmed, disbursed or deleted by it).
    async fn held(&self, m: &Member, id: &str) -> Result<Option<Demand>, FeedError> {
        match self.market.demand_for(m, id).await {
            Ok((d, _)) if d.taker_org_id.as_deref() == Some(m.scope.org_id()) => Ok(Some(d)),
            Ok(_) => Ok(None),
            Err(e) if transient(&e) => Err(retry(&e)),
            Err(_) => Ok(None),
        }
    }

    /// Whether this institution was the last to take the demand and returned it since.
    async fn returned_by(&self, m: &Member, id: &str) -> Result<bool, FeedError> {
        let events = match self.market.events(id).await {
            Ok(ev) => ev,
            Err(e) if transient(&e) => return Err(retry(&e)),
            Err(_) => return Ok(false),
        };
        let name = match self.orgs.get(m.scope.org_id()).await {
            Ok(o) => o.name,
            Err(e @ (orgs::OrgError::Store(_) | orgs::OrgError::Audit(_))) => {
                return Err(retry(&e));
            }
            Err(_) => return Ok(false),
        };
        let Some(last_take) = events.iter().rposition(|e| e.action == "taken") else {
            return Ok(false);
        };
        Ok(events[last_take].detail.as_deref() == Some(name.as_str())
            && events[last_take..].iter().any(|e| e.action == "returned"))
    }

    /// The answers of `receipt_id` recorded before: item → outcome.
    async fn recorded(&self, receipt_id: &str) -> Result<HashMap<i64, String>, FeedError> {
        let rows: Vec<(i64, String)> = with_pool!(self.market.store().read(), |p| {
            sqlx::query_as(
                "SELECT item, outcome FROM market_exchange_receipts WHERE receipt_id = $1",
            )
            .bind(receipt_id)
            .fetch_all(p)
            .await
        })
        .map_err(|e| retry(&e))?;
        Ok(rows.into_iter().collect())
    }

    /// Records answers (a refused one recorded before is replaced: a replay tries it again).
    async fn record(&self, m: &Incoming<'_>, rows: &[Receipt<'_>]) -> Result<(), FeedError> {
        if rows.is_empty() {
            return Ok(());
        }
        let now = self.market.now_ms();
        with_pool!(self.market.store().write(), |p| {
            async {
                let mut tx = p.begin().await?;
                for r in rows {
                    sqlx::query(
                        "INSERT INTO market_exchange_receipts (receipt_id, item, partner, message_id, demand_id, action, outcome, detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (receipt_id, item) DO UPDATE SET demand_id = excluded.demand_id, action = excluded.action, outcome = excluded.outcome, detail = excluded.detail, at = excluded.at",
                    )
                    .bind(m.receipt_id)
                    .bind(r.item)
                    .bind(m.partner)
                    .bind(m.message_id)
                    .bind(r.demand_id)
                    .bind(r.action)
                    .bind(r.outcome)
                    .bind(r.detail)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }
            .await
        })
        .map_err(|e| retry(&e))
    }

    /// Records the answer in the audit trail as the partner's (the step itself is audited by
    /// the marketplace as the institution's, account `partner:<id>`).
    async fn audit(
        &self,
        m: &Incoming<'_>,
        item: i64,
        id: &str,
        step: Option<Step>,
        ended: &Ended,
    ) -> Result<(), FeedError> {
        let outcome = match ended {
            Ended::Refused(_) => Outcome::Failure,
            _ => Outcome::Success,
        };
        let mut e = AuditEvent::new("market.partner_answered", outcome)
            .actor(Actor::new(
                ActorKind::Partner,
                Some(m.partner.to_owned()),
                None,
            ))
            .target(format!("demand:{id}"))
            .details(serde_json::json!({
                "receipt_id": m.receipt_id,
                "message_id": m.message_id,
                "item": item,
                "action": step.map(Step::as_str),
                "outcome": ended.as_str(),
            }));
        if let Ended::Refused(r) = ended {
            e = e.reason(r.chars().take(300).collect::<String>());
        }
        self.market.audit_event(e).await.map_err(|e| retry(&e))
    }
}

/// The loan of a disbursement answer: fen (whole yuan: the marketplace records 万元 to the
/// yuan) and the date `YYYY-MM-DD`; or why it cannot be recorded.
fn loan(id: &str, a: &Answer) -> Result<(i64, String), String> {
    let (Some(amount), Some(date)) = (a.loan_amount.as_deref(), a.loan_date.as_deref()) else {
        return Err(refusal(
            id,
            "登记放款须给出放款金额（LoanAmount）和放款日期（LoanDate）。",
            "a disbursement needs LoanAmount and LoanDate",
        ));
    };
    let fen = yuan_to_fen(amount).map_err(|e| {
        refusal(
            id,
            &format!("放款金额{}。", e.zh()),
            &format!("LoanAmount is {e}"),
        )
    })?;
    if fen % 100 != 0 {
        return Err(refusal(
            id,
            "放款金额须精确到元（市场按万元记录到元）。",
            "LoanAmount must be whole yuan (the marketplace records whole yuan)",
        ));
    }
    Ok((fen, date.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_become_fen_by_digits() {
        for (text, fen) in [
            ("500000.00", 50_000_000),
            ("500000", 50_000_000),
            ("0.01", 1),
            ("0.1", 10),
            (".5", 50),
            ("5.", 500),
            ("+12.30", 1_230),
            ("000123.45", 12_345),
            ("1.2300", 123),
            ("0", 0),
            (" 7.05 ", 705),
            // Beyond what an f64 holds exactly.
            ("9007199254740993.01", 900_719_925_474_099_301),
            ("9999999999999999.99", 999_999_999_999_999_999),
        ] {
            assert_eq!(yuan_to_fen(text), Ok(fen), "{text}");
        }
        for (text, e) in [
            ("", AmountError::NotDecimal),
            (".", AmountError::NotDecimal),
            ("1,000.00", AmountError::NotDecimal),
            ("1e6", AmountError::NotDecimal),
            ("1.2.3", AmountError::NotDecimal),
            ("--1", AmountError::Negative),
            ("-0.01", AmountError::Negative),
            ("0.001", AmountError::BelowFen),
            ("10000000000000000", AmountError::TooLarge),
            ("99999999999999999999.00", AmountError::TooLarge),
        ] {
            assert_eq!(yuan_to_fen(text), Err(e), "{text}");
        }
    }

    #[test]
    fn a_loan_is_whole_yuan_with_a_date() {
        let answer = |amount: Option<&str>, date: Option<&str>| Answer {
            item: 0,
            demand_id: Some("d".into()),
            status: Some("disbursed".into()),
            loan_amount: amount.map(str::to_owned),
            loan_date: date.map(str::to_owned),
            reason: None,
        };
        assert_eq!(
            loan("d", &answer(Some("500000.00"), Some("2026-12-05"))),
            Ok((50_000_000, "2026-12-05".to_owned()))
        );
        // As the page would be given it: 万元 to the yuan.
        assert_eq!(crate::money::fen_to_wan(50_000_000), "50");
        assert_eq!(
            crate::money::wan_to_fen(&crate::money::fen_to_wan(12_345_600)),
            Ok(12_345_600)
        );
        let fen = loan("d", &answer(Some("500000.50"), Some("2026-12-05"))).unwrap_err();
        assert!(
            fen.contains("精确到元") && fen.contains("whole yuan"),
            "{fen}"
        );
        let missing = loan("d", &answer(None, Some("2026-12-05"))).unwrap_err();
        assert!(missing.contains("LoanAmount"), "{missing}");
        assert!(loan("d", &answer(Some("1"), None)).is_err());
    }

    #[test]
    fn partners_map_to_an_organisation_id_or_a_credit_code() {
        let mut l = Layered::default();
        let c = validate(
            RawMarket {
                partners: [
                    ("demo-bank", " 91350802MA2YLK3N0B "),
                    ("other", "0193a1f2-7c4e-7d2a-9b1e-3f5a6c7d8e90"),
                    ("Bad_Id", "91350802MA2YLK3N0B"),
                    ("typo", "91350802MA2YLK3N0A"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            },
            &mut l,
        );
        assert_eq!(
            c.partners.keys().collect::<Vec<_>>(),
            ["demo-bank", "other"]
        );
        assert_eq!(c.partners["demo-bank"], "91350802MA2YLK3N0B");
        let keys: Vec<&str> = l.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["market.partners.Bad_Id", "market.partners.typo"]);
        assert_eq!(c.summary()["partners"]["demo-bank"], "9135**********3N0B");
    }

    #[test]
    fn steps_are_the_mappings_status_values() {
        for s in ["taken", "returned", "disbursed", "deleted"] {
            assert_eq!(Step::parse(s).map(Step::as_str), Some(s));
        }
        assert_eq!(Step::parse("confirmed"), None);
    }
}
