//! Feedback deadlines (时限规则, REQUIREMENTS D8): the operators set how many hours an
//! institution has to give feedback — on a demand it took (放款, 退回 or 删除), on an
//! application it received (受理, 补充材料 or 拒绝). A scheduled job ([`Market::remind_overdue`],
//! run by every hub node) finds the steps whose time has passed and reminds the institution by
//! in-site message, once per step: the reminder and its `market_overdue` row are written in one
//! transaction whose insert is keyed by the step (the demand or application and when the
//! institution's turn began), so of several nodes running the job at the same moment exactly
//! one sends it. The overdue rows count against the institution in its rating summary.

use platform::admin::{Permission, Principal};
use platform::audit::{Actor, AuditEvent, Outcome};
use platform::context::RequestContext;
use platform::store::{begin_write, with_pool};
use serde::Serialize;

use crate::error::MarketError;
use crate::money;
use crate::notice::{Notice, write_notice};
use crate::service::{Market, admin_reference};

/// The longest deadline an operator may set: 90 days.
pub const HOURS_MAX: i64 = 24 * 90;

/// The most overdue steps one run reminds of (the next run takes the rest).
const BATCH: i64 = 200;

/// A deadline rule.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Deadline {
    /// `demand_feedback` or `application_feedback`.
    pub code: String,
    pub label_zh: String,
    /// Hours the institution has; 0: no deadline.
    pub hours: i64,
    pub updated_at: Option<i64>,
}

/// A deadline as typed by an operator: whole hours from 0 (none) to [`HOURS_MAX`].
pub fn check_hours(text: &str) -> Result<i64, MarketError> {
    match text.trim().parse::<i64>() {
        Ok(h) if (0..=HOURS_MAX).contains(&h) => Ok(h),
        _ => Err(MarketError::field(
            "hours",
            format!("请填写 0 至 {HOURS_MAX} 之间的整数小时数（0 表示不设时限）。"),
        )),
    }
}

/// A step whose deadline has passed.
struct Late {
    reference: String,
    started_at: i64,
    org_id: String,
    rule: &'static str,
    due_at: i64,
    notice: Notice,
}

const HOUR_MS: i64 = 3_600_000;

impl Market {
    /// The deadline rules, in a fixed order.
    pub async fn deadlines(&self) -> Result<Vec<Deadline>, MarketError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = with_pool!(self.store().read(), |p| {
            sqlx::query_as(
                "SELECT code, label_zh, hours, updated_at FROM market_deadlines ORDER BY code",
            )
            .fetch_all(p)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(code, label_zh, hours, updated_at)| Deadline {
                code,
                label_zh,
                hours,
                updated_at,
            })
            .collect())
    }

    async fn hours(&self, code: &str) -> Result<i64, MarketError> {
        Ok(self
            .deadlines()
            .await?
            .into_iter()
            .find(|d| d.code == code)
            .map_or(0, |d| d.hours))
    }

    /// The operators change a deadline (`hours` as typed); it applies to every step still
    /// waiting, from the next run of the reminder job.
    pub async fn set_deadline(
        &self,
        who: &Principal,
        code: &str,
        hours: &str,
        ctx: &RequestContext,
    ) -> Result<Deadline, MarketError> {
        self.administrators()
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        let hours = check_hours(hours)?;
        let before = self
            .deadlines()
            .await?
            .into_iter()
            .find(|d| d.code == code)
            .ok_or_else(|| MarketError::NotFound("deadline", code.to_owned()))?;
        let now = self.now_ms();
        let by = admin_reference(who);
        with_pool!(self.store().write(), |p| {
            sqlx::query("UPDATE market_deadlines SET hours = $1, updated_at = $2, updated_by = $3 WHERE code = $4")
                .bind(hours)
                .bind(now)
                .bind(&by)
                .bind(code)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        self.audit_event(
            AuditEvent::new("market.deadline_changed", Outcome::Success)
                .actor(who.actor())
                .target(format!("deadline:{code}"))
                .details(serde_json::json!({ "from": before.hours, "to": hours }))
                .context(ctx),
        )
        .await?;
        Ok(Deadline {
            hours,
            updated_at: Some(now),
            ..before
        })
    }

    /// Reminds every institution whose feedback is overdue, once per step; returns how many
    /// reminders this call sent. Safe to run on several nodes at once (each step's reminder is
    /// sent by the one node whose insert of its overdue row succeeded).
    pub async fn remind_overdue(&self) -> Result<u64, MarketError> {
        let now = self.now_ms();
        let mut late = Vec::new();
        let demand_hours = self.hours("demand_feedback").await?;
        if demand_hours > 0 {
            let cutoff = now - demand_hours * HOUR_MS;
            let rows: Vec<(String, String, i64, i64)> = with_pool!(self.store().read(), |p| {
                sqlx::query_as("SELECT d.id, d.taker_org_id, d.taken_at, d.amount_fen FROM market_demands d WHERE d.status IN ('taken', 'confirmed') AND d.taker_org_id IS NOT NULL AND d.taken_at <= $1 AND NOT EXISTS (SELECT 1 FROM market_overdue o WHERE o.reference = 'demand:' || d.id AND o.started_at = d.taken_at) ORDER BY d.taken_at LIMIT $2")
                    .bind(cutoff)
                    .bind(BATCH)
                    .fetch_all(p)
                    .await
            })?;
            for (id, org_id, taken_at, amount_fen) in rows {
                late.push(Late {
                    reference: format!("demand:{id}"),
                    started_at: taken_at,
                    org_id: org_id.clone(),
                    rule: "demand_feedback",
                    due_at: taken_at + demand_hours * HOUR_MS,
                    notice: Notice {
                        org_id,
                        subject: "融资需求反馈超时提醒".into(),
                        body: format!(
                            "贵机构抢单的融资需求（{}）已超过 {demand_hours} 小时未反馈对接结果，请尽快登记放款、退回或删除。超时记录将显示在贵机构的评价中。",
                            money::show_fen(amount_fen)
                        ),
                        link: format!("/user/market/{id}"),
                        reference: format!("demand:{id}"),
                    },
                });
            }
        }
        let app_hours = self.hours("application_feedback").await?;
        if app_hours > 0 {
            let cutoff = now - app_hours * HOUR_MS;
            let rows: Vec<(String, String, i64, String, String)> = with_pool!(
                self.store().read(),
                |p| {
                    sqlx::query_as("SELECT a.id, a.inst_org_id, a.waiting_since, a.product_name, a.org_name FROM market_applications a WHERE a.status = 'submitted' AND a.waiting_since <= $1 AND NOT EXISTS (SELECT 1 FROM market_overdue o WHERE o.reference = 'application:' || a.id AND o.started_at = a.waiting_since) ORDER BY a.waiting_since LIMIT $2")
                        .bind(cutoff)
                        .bind(BATCH)
                        .fetch_all(p)
                        .await
                }
            )?;
            for (id, org_id, since, product, enterprise) in rows {
                late.push(Late {
                    reference: format!("application:{id}"),
                    started_at: since,
                    org_id: org_id.clone(),
                    rule: "application_feedback",
                    due_at: since + app_hours * HOUR_MS,
                    notice: Notice {
                        org_id,
                        subject: "产品申请答复超时提醒".into(),
                        body: format!(
                            "{enterprise}对贵机构产品“{product}”的申请已超过 {app_hours} 小时未答复，请尽快受理、要求补充材料或拒绝。超时记录将显示在贵机构的评价中。"
                        ),
                        link: crate::applications::application_link(&id),
                        reference: format!("application:{id}"),
                    },
                });
            }
        }
        let mut sent = 0;
        for l in &late {
            if self.remind(l, now).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Records one overdue step and sends its reminder, unless another node already did.
    async fn remind(&self, l: &Late, now: i64) -> Result<bool, MarketError> {
        let sent = with_pool!(self.store().write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let inserted = sqlx::query("INSERT INTO market_overdue (reference, started_at, org_id, rule, due_at, reminded_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (reference, started_at) DO NOTHING")
                    .bind(&l.reference)
                    .bind(l.started_at)
                    .bind(&l.org_id)
                    .bind(l.rule)
                    .bind(l.due_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if inserted != 1 {
                    return Ok::<_, MarketError>(false);
                }
                write_notice!(&mut *tx, &l.notice, now)?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        if sent {
            self.audit_event(
                AuditEvent::new("market.feedback_overdue", Outcome::Success)
                    .actor(Actor::system())
                    .target(l.reference.clone())
                    .details(serde_json::json!({
                        "org_id": l.org_id,
                        "rule": l.rule,
                        "due_at": l.due_at,
                    })),
            )
            .await?;
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_bounded_whole_numbers() {
        assert_eq!(check_hours("0").ok(), Some(0));
        assert_eq!(check_hours(" 72 ").ok(), Some(72));
        assert_eq!(check_hours("2160").ok(), Some(HOURS_MAX));
        for bad in ["-1", "2161", "1.5", "", "三天"] {
            assert_eq!(
                check_hours(bad).err().map(|e| e.fields()[0].0.clone()),
                Some("hours".to_owned()),
                "{bad}"
            );
        }
    }
}
