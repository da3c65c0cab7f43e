//! Ratings (REQUIREMENTS D8): once a demand has ended — disbursed, or deleted by the
//! institution holding it — the enterprise rates that institution and the institution rates
//! the enterprise, each once: a score of 1 to 5 and a comment (up to 500 characters, through
//! the sensitive-word library). The rated side's points follow the score (`points.rs`), in the
//! rating's transaction.
//!
//! A rating never names the organisation that gave it (an institution that never was confirmed
//! must not learn the enterprise from it): it says which side gave it.

use orgs::OrgKind;
use platform::admin::{Permission, Principal};
use platform::audit::{AuditEvent, Outcome};
use platform::context::RequestContext;
use platform::paging::{Page, Paged};
use platform::store::{begin_write, with_pool};
use serde::Serialize;

use crate::error::MarketError;
use crate::model::{Demand, DemandStatus};
use crate::points::{INSERT_ENTRY, RULE_POINTS};
use crate::rule::Rule;
use crate::service::{Market, Member};

/// The longest comment, in characters.
pub const COMMENT_MAX: usize = 500;

/// The scores and their labels, best first (for the form's select).
pub const SCORES: [(i64, &str); 5] = [
    (5, "5 分 · 非常满意"),
    (4, "4 分 · 满意"),
    (3, "3 分 · 一般"),
    (2, "2 分 · 不满意"),
    (1, "1 分 · 非常不满意"),
];

/// One side's rating of the other on one demand.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Rating {
    pub id: String,
    pub demand_id: String,
    /// `enterprise` (the enterprise rated the institution) or `institution`.
    pub from_side: String,
    /// The organisation rated.
    pub to_org_id: String,
    pub score: i64,
    /// Empty while held for the operators' review ([`Rating::comment_held`]).
    pub comment: String,
    /// The comment holds words of the sensitive-word library and waits for an operator: it is
    /// shown to nobody until released.
    pub comment_held: bool,
    pub created_at: i64,
}

/// How an organisation was rated: how many ratings, and their average in tenths (43: 4.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RatingSummary {
    pub count: u64,
    pub average_tenths: i64,
    /// How many times the organisation (an institution) let a feedback deadline pass
    /// (`deadlines.rs`).
    pub overdue: u64,
}

impl RatingSummary {
    /// `4.3`, or `None` without ratings.
    pub fn average(&self) -> Option<String> {
        (self.count > 0)
            .then(|| format!("{}.{}", self.average_tenths / 10, self.average_tenths % 10))
    }
}

/// The score and comment as typed, checked (every problem at once).
pub fn check_rating(score: &str, comment: &str) -> Result<(i64, String), MarketError> {
    let mut errors = Vec::new();
    let score = match score.trim().parse::<i64>() {
        Ok(s) if (1..=5).contains(&s) => s,
        _ => {
            errors.push(("score".to_owned(), "请选择 1 至 5 分的评分。".to_owned()));
            0
        }
    };
    let comment = comment.trim().to_owned();
    if comment.chars().count() > COMMENT_MAX {
        errors.push((
            "comment".to_owned(),
            format!("评价内容不能超过 {COMMENT_MAX} 字。"),
        ));
    }
    if errors.is_empty() {
        Ok((score, comment))
    } else {
        Err(MarketError::Invalid(errors))
    }
}

/// The average of `count` scores summing to `sum`, in tenths, rounded half up.
pub fn average_tenths(sum: i64, count: i64) -> i64 {
    if count <= 0 {
        return 0;
    }
    (sum * 20 + count) / (2 * count)
}

/// Which side of `d` the member is on and the organisation they rate (none: neither side).
fn sides(d: &Demand, m: &Member) -> Option<(&'static str, String)> {
    match m.scope.kind() {
        OrgKind::Enterprise if d.org_id == m.scope.org_id() => {
            d.taker_org_id.clone().map(|taker| ("enterprise", taker))
        }
        OrgKind::Institution if d.taker_org_id.as_deref() == Some(m.scope.org_id()) => {
            Some(("institution", d.org_id.clone()))
        }
        _ => None,
    }
}

/// A demand has ended for rating.
pub fn ended(s: DemandStatus) -> bool {
    matches!(s, DemandStatus::Disbursed | DemandStatus::Deleted)
}

const RATING_COLUMNS: &str =
    "id, demand_id, from_side, to_org_id, score, comment, held_words, created_at";

type RatingRow = (
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    i64,
);

/// A rating as its readers see it: a held comment is withheld.
fn rating(
    (id, demand_id, from_side, to_org_id, score, comment, held, created_at): RatingRow,
) -> Rating {
    let comment_held = held.is_some();
    Rating {
        id,
        demand_id,
        from_side,
        to_org_id,
        score,
        comment: if comment_held { String::new() } else { comment },
        comment_held,
        created_at,
    }
}

/// A rating whose comment waits for the operators, as they see it (with the comment and the
/// words that held it).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HeldRating {
    pub id: String,
    pub demand_id: String,
    pub from_side: String,
    pub score: i64,
    pub comment: String,
    pub held_words: Vec<String>,
    pub created_at: i64,
}

impl Market {
    /// The member rates the other side of an ended demand their organisation was party to,
    /// once (`score` and `comment` as typed). The rated side's points follow in the same
    /// transaction.
    pub async fn rate(
        &self,
        m: &Member,
        demand_id: &str,
        score: &str,
        comment: &str,
        ctx: &RequestContext,
    ) -> Result<Rating, MarketError> {
        let (d, _) = self.demand_for(m, demand_id).await?;
        let Some((side, to_org)) = sides(&d, m) else {
            return Err(MarketError::NotFound("demand", demand_id.to_owned()));
        };
        if !ended(d.status) {
            return Err(MarketError::state(
                "rate",
                "需求放款或被机构删除后，双方才能互相评价。",
            ));
        }
        let (score, comment) = check_rating(score, comment)?;
        let held = self.content().screen(&[("comment", &comment)])?;
        let held_json = (!held.is_empty())
            .then(|| serde_json::to_string(&held).unwrap_or_else(|_| "[]".into()));
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now_ms();
        let from_org = m.scope.org_id().to_owned();
        let account = m.scope.account_id().to_owned();
        let rule = Rule::of_score(score).map(Rule::code);
        let reference = format!("demand:{demand_id}");
        let inserted = with_pool!(self.store().write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let n = sqlx::query("INSERT INTO market_ratings (id, demand_id, from_org_id, from_side, to_org_id, account_id, score, comment, held_words, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (demand_id, from_org_id) DO NOTHING")
                    .bind(&id)
                    .bind(demand_id)
                    .bind(&from_org)
                    .bind(side)
                    .bind(&to_org)
                    .bind(&account)
                    .bind(score)
                    .bind(&comment)
                    .bind(held_json.clone())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    return Ok::<_, MarketError>(false);
                }
                if let Some(code) = rule {
                    let points: Option<i64> = sqlx::query_scalar(RULE_POINTS)
                        .bind(code)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some(delta) = points.filter(|d| *d != 0) {
                        sqlx::query(INSERT_ENTRY)
                            .bind(uuid::Uuid::new_v4().to_string())
                            .bind(&to_org)
                            .bind(None::<String>)
                            .bind(delta)
                            .bind(code)
                            .bind(&reference)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        if !inserted {
            return Err(MarketError::state(
                "rate",
                "贵方已评价过该需求，每个需求只能评价一次。",
            ));
        }
        self.audit_event(
            AuditEvent::new("market.rated", Outcome::Success)
                .actor(m.audit_actor())
                .target(format!("demand:{demand_id}"))
                .details(serde_json::json!({
                    "rating_id": id,
                    "from_side": side,
                    "to_org_id": to_org,
                    "score": score,
                    "held_words": held,
                }))
                .context(ctx),
        )
        .await?;
        Ok(Rating {
            id,
            demand_id: demand_id.to_owned(),
            from_side: side.to_owned(),
            to_org_id: to_org,
            score,
            comment_held: held_json.is_some(),
            comment: if held_json.is_some() {
                String::new()
            } else {
                comment
            },
            created_at: now,
        })
    }

    /// Ratings whose comments wait for the operators (`market.review`), oldest first.
    pub async fn held_ratings(
        &self,
        who: &Principal,
        page: Page,
        ctx: &RequestContext,
    ) -> Result<Paged<HeldRating>, MarketError> {
        self.administrators()
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        let page = page.normalised();
        let sql = format!(
            "SELECT id, demand_id, from_side, score, comment, held_words, created_at FROM market_ratings WHERE held_words IS NOT NULL ORDER BY created_at, id LIMIT {} OFFSET {}",
            page.limit(),
            page.offset()
        );
        type Row = (String, String, String, i64, String, Option<String>, i64);
        let (total, rows): (i64, Vec<Row>) = with_pool!(self.store().read(), |p| {
            async {
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM market_ratings WHERE held_words IS NOT NULL",
                )
                .fetch_one(p)
                .await?;
                let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(p)
                    .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        Ok(Paged::of(
            rows.into_iter()
                .map(
                    |(id, demand_id, from_side, score, comment, held, created_at)| HeldRating {
                        id,
                        demand_id,
                        from_side,
                        score,
                        comment,
                        held_words: held
                            .and_then(|h| serde_json::from_str(&h).ok())
                            .unwrap_or_default(),
                        created_at,
                    },
                )
                .collect(),
            u64::try_from(total).unwrap_or(0),
            page,
        ))
    }

    /// An operator releases a held comment (`publish`: shown from now on) or removes it (the
    /// score stays, the comment is emptied). `market.not_found` for a rating not held.
    pub async fn review_rating(
        &self,
        who: &Principal,
        id: &str,
        publish: bool,
        ctx: &RequestContext,
    ) -> Result<(), MarketError> {
        self.administrators()
            .authorize(who, Permission::MarketReview, ctx)
            .await?;
        let sql = if publish {
            "UPDATE market_ratings SET held_words = NULL WHERE id = $1 AND held_words IS NOT NULL"
        } else {
            "UPDATE market_ratings SET held_words = NULL, comment = '' WHERE id = $1 AND held_words IS NOT NULL"
        };
        let n = with_pool!(self.store().write(), |p| {
            sqlx::query(sql)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        if n != 1 {
            return Err(MarketError::NotFound("rating", id.to_owned()));
        }
        self.audit_event(
            AuditEvent::new(
                if publish {
                    "market.rating_comment_published"
                } else {
                    "market.rating_comment_removed"
                },
                Outcome::Success,
            )
            .actor(who.actor())
            .target(format!("rating:{id}"))
            .context(ctx),
        )
        .await
    }

    /// The ratings of a demand the member's organisation was party to (at most one per side).
    pub async fn ratings_of_demand(
        &self,
        m: &Member,
        demand_id: &str,
    ) -> Result<Vec<Rating>, MarketError> {
        let (d, _) = self.demand_for(m, demand_id).await?;
        if sides(&d, m).is_none() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {RATING_COLUMNS} FROM market_ratings WHERE demand_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<RatingRow> = with_pool!(self.store().read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(demand_id)
                .fetch_all(p)
                .await
        })?;
        Ok(rows.into_iter().map(rating).collect())
    }

    /// The ratings an organisation received, newest first.
    pub async fn ratings_of_org(
        &self,
        org_id: &str,
        page: Page,
    ) -> Result<Paged<Rating>, MarketError> {
        let sql = format!(
            "SELECT {RATING_COLUMNS} FROM market_ratings WHERE to_org_id = $1 ORDER BY created_at DESC, id LIMIT {} OFFSET {}",
            page.limit(),
            page.offset()
        );
        let (total, rows): (i64, Vec<RatingRow>) = with_pool!(self.store().read(), |p| {
            async {
                let total: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM market_ratings WHERE to_org_id = $1")
                        .bind(org_id)
                        .fetch_one(p)
                        .await?;
                let rows: Vec<RatingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(org_id)
                    .fetch_all(p)
                    .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        let page = page.normalised();
        Ok(Paged::of(
            rows.into_iter().map(rating).collect(),
            u64::try_from(total).unwrap_or(0),
            page,
        ))
    }

    /// How many ratings an organisation received and their average in tenths.
    pub async fn rating_summary(&self, org_id: &str) -> Result<RatingSummary, MarketError> {
        let (count, sum, overdue): (i64, Option<i64>, i64) = with_pool!(
            self.store().read(),
            |p| {
                sqlx::query_as(
                "SELECT COUNT(*), CAST(SUM(score) AS BIGINT), (SELECT COUNT(*) FROM market_overdue WHERE org_id = $1) FROM market_ratings WHERE to_org_id = $1",
            )
            .bind(org_id)
            .fetch_one(p)
            .await
            }
        )?;
        Ok(RatingSummary {
            count: u64::try_from(count).unwrap_or(0),
            average_tenths: average_tenths(sum.unwrap_or(0), count),
            overdue: u64::try_from(overdue).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rating_is_a_score_of_one_to_five_and_a_short_comment() {
        assert_eq!(
            check_rating(" 4 ", " 服务很好 ").ok(),
            Some((4, "服务很好".to_owned()))
        );
        assert_eq!(check_rating("1", "").ok(), Some((1, String::new())));
        let long = "好".repeat(COMMENT_MAX + 1);
        let e = check_rating("9", &long)
            .err()
            .map(|e| e.fields())
            .unwrap_or_default();
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["score", "comment"]);
        assert!(check_rating("0", "").is_err());
        assert!(check_rating("4.5", "").is_err());
        assert!(check_rating(&"好".repeat(COMMENT_MAX), "").is_err());
        assert!(check_rating("3", &"好".repeat(COMMENT_MAX)).is_ok());
    }

    #[test]
    fn the_average_is_in_tenths_rounded_half_up() {
        assert_eq!(average_tenths(0, 0), 0);
        assert_eq!(average_tenths(5, 1), 50);
        assert_eq!(average_tenths(9, 2), 45);
        assert_eq!(average_tenths(13, 3), 43);
        assert_eq!(average_tenths(14, 3), 47);
        let s = RatingSummary {
            count: 3,
            average_tenths: 47,
            overdue: 0,
        };
        assert_eq!(s.average().as_deref(), Some("4.7"));
        assert_eq!(RatingSummary::default().average(), None);
    }

    #[test]
    fn only_ended_demands_are_rated() {
        assert!(ended(DemandStatus::Disbursed));
        assert!(ended(DemandStatus::Deleted));
        for s in [
            DemandStatus::Open,
            DemandStatus::Taken,
            DemandStatus::Confirmed,
            DemandStatus::Withdrawn,
        ] {
            assert!(!ended(s));
        }
    }
}
