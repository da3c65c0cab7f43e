//! The points ledger (REQUIREMENTS D12): every award is an entry (organisation, member, delta,
//! the rule's code, what earned it, when); a balance is the SUM of the entries, never a stored
//! counter. The operators set how many points each rule gives (`market_points_rules`). An event
//! awards a rule at most once per organisation and reference (a unique index), so repeating an
//! award is harmless. A rating's award is written in the rating's transaction; the steps of
//! `service.rs` (approvals, disbursement, deletion) award right after theirs has committed and
//! been audited.
//!
//! Registration and the first sign-in of the day are awarded by the sign-in hook
//! (`sign_in.rs`).

use platform::admin::{Permission, Principal};
use platform::audit::{AuditEvent, Outcome};
use platform::context::RequestContext;
use platform::paging::{Page, Paged};
use platform::store::{begin_write, with_pool};
use serde::Serialize;

use crate::error::MarketError;
pub use crate::rule::Rule;
use crate::service::{Market, admin_reference};

/// The most points one rule may give or take.
pub const RULE_LIMIT: i64 = 1000;

/// The points a rule gives now (none: unknown rule).
pub(crate) const RULE_POINTS: &str = "SELECT points FROM market_points_rules WHERE code = $1";

/// One ledger entry; repeated for the same organisation, rule and reference it adds nothing.
pub(crate) const INSERT_ENTRY: &str = "INSERT INTO market_points (id, org_id, account_id, delta, reason, reference, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, reason, reference) DO NOTHING";

/// A rule: how many points an event gives.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PointsRule {
    pub code: String,
    pub label_zh: String,
    pub points: i64,
    pub updated_at: Option<i64>,
}

/// One entry of an organisation's ledger.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PointsEntry {
    pub id: String,
    pub org_id: String,
    /// The member whose step earned it (none: the organisation's).
    pub account_id: Option<String>,
    pub delta: i64,
    /// The rule's code.
    pub reason: String,
    /// The rule's label (the code when the rule is gone).
    pub reason_label: String,
    /// `demand:<id>` or `product:<id>`.
    pub reference: String,
    pub at: i64,
}

/// An organisation's points: the balance (the ledger's sum) and a page of entries, newest first.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Points {
    pub balance: i64,
    pub entries: Paged<PointsEntry>,
}

/// Who earns which rule for a step: (organisation, member, rule code).
pub(crate) type Credit<'a> = (&'a str, Option<&'a str>, Rule);

/// A rule's points as typed by an operator: a whole number within ±[`RULE_LIMIT`].
pub fn check_points(text: &str) -> Result<i64, MarketError> {
    match text.trim().parse::<i64>() {
        Ok(p) if (-RULE_LIMIT..=RULE_LIMIT).contains(&p) => Ok(p),
        _ => Err(MarketError::field(
            "points",
            format!("请填写 -{RULE_LIMIT} 至 {RULE_LIMIT} 之间的整数分值。"),
        )),
    }
}

impl Market {
    /// Awards the rules of a step that has succeeded (`reference`: `demand:<id>` or
    /// `product:<id>`), in one transaction; a rule of 0 points writes nothing.
    pub(crate) async fn award(
        &self,
        reference: &str,
        credits: &[Credit<'_>],
    ) -> Result<(), MarketError> {
        let now = self.now_ms();
        with_pool!(self.store().write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                for (org_id, account_id, rule) in credits {
                    let code = rule.code();
                    let points: Option<i64> = sqlx::query_scalar(RULE_POINTS)
                        .bind(code)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(delta) = points.filter(|d| *d != 0) else {
                        continue;
                    };
                    sqlx::query(INSERT_ENTRY)
                        .bind(uuid::Uuid::new_v4().to_string())
                        .bind(*org_id)
                        .bind(*account_id)
                        .bind(delta)
                        .bind(code)
                        .bind(reference)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<_, MarketError>(())
            }
            .await
        })
    }

    /// An organisation's balance and a page of its ledger, newest first. Callers scope it (a
    /// member reads their own organisation's).
    pub async fn points(&self, org_id: &str, page: Page) -> Result<Points, MarketError> {
        let sql = format!(
            "SELECT e.id, e.org_id, e.account_id, e.delta, e.reason, r.label_zh, e.reference, e.at FROM market_points e LEFT JOIN market_points_rules r ON r.code = e.reason WHERE e.org_id = $1 ORDER BY e.at DESC, e.id LIMIT {} OFFSET {}",
            page.limit(),
            page.offset()
        );
        type Row = (
            String,
            String,
            Option<String>,
            i64,
            String,
            Option<String>,
            String,
            i64,
        );
        let (balance, total, rows): (Option<i64>, i64, Vec<Row>) = with_pool!(
            self.store().read(),
            |p| {
                async {
                    let (balance, total): (Option<i64>, i64) = sqlx::query_as(
                        "SELECT CAST(SUM(delta) AS BIGINT), COUNT(*) FROM market_points WHERE org_id = $1",
                    )
                    .bind(org_id)
                    .fetch_one(p)
                    .await?;
                    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(org_id)
                        .fetch_all(p)
                        .await?;
                    Ok::<_, sqlx::Error>((balance, total, rows))
                }
                .await
            }
        )?;
        let page = page.normalised();
        Ok(Points {
            balance: balance.unwrap_or(0),
            entries: Paged::of(
                rows.into_iter()
                    .map(
                        |(id, org_id, account_id, delta, reason, label, reference, at)| {
                            PointsEntry {
                                reason_label: label.unwrap_or_else(|| reason.clone()),
                                id,
                                org_id,
                                account_id,
                                delta,
                                reason,
                                reference,
                                at,
                            }
                        },
                    )
                    .collect(),
                u64::try_from(total).unwrap_or(0),
                page,
            ),
        })
    }

    /// The rules, in a fixed order.
    pub async fn points_rules(&self) -> Result<Vec<PointsRule>, MarketError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = with_pool!(self.store().read(), |p| {
            sqlx::query_as(
                "SELECT code, label_zh, points, updated_at FROM market_points_rules ORDER BY code",
            )
            .fetch_all(p)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(code, label_zh, points, updated_at)| PointsRule {
                code,
                label_zh,
                points,
                updated_at,
            })
            .collect())
    }

    /// The operators change how many points a rule gives (`points` as typed); later awards
    /// use it, earlier entries stay as they were.
    pub async fn set_rule(
        &self,
        who: &Principal,
        code: &str,
        points: &str,
        ctx: &RequestContext,
    ) -> Result<PointsRule, MarketError> {
        self.administrators()
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        let points = check_points(points)?;
        let now = self.now_ms();
        let by = admin_reference(who);
        let before: Option<i64> = with_pool!(self.store().write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let before: Option<i64> = sqlx::query_scalar(RULE_POINTS)
                    .bind(code)
                    .fetch_optional(&mut *tx)
                    .await?;
                if before.is_some() {
                    sqlx::query("UPDATE market_points_rules SET points = $1, updated_at = $2, updated_by = $3 WHERE code = $4")
                        .bind(points)
                        .bind(now)
                        .bind(&by)
                        .bind(code)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<_, MarketError>(before)
            }
            .await
        })?;
        let Some(before) = before else {
            return Err(MarketError::NotFound("points rule", code.to_owned()));
        };
        self.audit_event(
            AuditEvent::new("market.points_rule_changed", Outcome::Success)
                .actor(who.actor())
                .target(format!("points_rule:{code}"))
                .details(serde_json::json!({ "from": before, "to": points }))
                .context(ctx),
        )
        .await?;
        self.points_rules()
            .await?
            .into_iter()
            .find(|r| r.code == code)
            .ok_or_else(|| MarketError::NotFound("points rule", code.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_points_are_bounded_whole_numbers() {
        assert_eq!(check_points(" -5 ").ok(), Some(-5));
        assert_eq!(check_points("1000").ok(), Some(1000));
        for bad in ["", "1.5", "abc", "1001", "-1001"] {
            let e = check_points(bad)
                .err()
                .map(|e| e.fields())
                .unwrap_or_default();
            assert_eq!(e.len(), 1, "{bad}");
            assert_eq!(e[0].0, "points");
        }
    }
}
