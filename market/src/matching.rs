//! Matching a demand with products, both ways, with the reasons people read: the score is the
//! sum of what fits (amount 25, term 20, rate 20, guarantee 15, region 10, industry 10); a
//! product matches when it scores at least [`THRESHOLD`] and its amount range holds the demand.

use serde::Serialize;

use crate::model::{Demand, Product};
use crate::money::{bp_to_percent, show_fen};

/// The lowest score recommended.
pub const THRESHOLD: u32 = 60;

/// How well a product fits a demand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Match {
    /// 0–100.
    pub score: u32,
    /// What fits, then what does not, for people.
    pub reasons: Vec<String>,
}

impl Match {
    pub fn recommended(&self) -> bool {
        self.score >= THRESHOLD
    }
}

/// The part of a demand matching needs (a stored demand, or one being typed).
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'a> {
    pub amount_fen: i64,
    pub term_months: i64,
    pub max_rate_bp: i64,
    pub guarantee: &'a str,
    pub industry: &'a str,
    pub region: &'a str,
}

impl<'a> From<&'a Demand> for Wanted<'a> {
    fn from(d: &'a Demand) -> Self {
        Wanted {
            amount_fen: d.amount_fen,
            term_months: d.term_months,
            max_rate_bp: d.max_rate_bp,
            guarantee: &d.guarantee,
            industry: &d.industry,
            region: &d.region,
        }
    }
}

/// Scores `p` for `w`. Amount outside the product's range caps the score below the threshold:
/// an institution cannot lend what its product does not offer.
pub fn score(w: &Wanted<'_>, p: &Product) -> Match {
    let mut score = 0;
    let mut fits = Vec::new();
    let mut misses = Vec::new();
    let amount_ok = (p.amount_min_fen..=p.amount_max_fen).contains(&w.amount_fen);
    if amount_ok {
        score += 25;
        fits.push("融资金额在产品额度范围内".to_owned());
    } else {
        misses.push(format!(
            "融资金额不在产品额度 {}–{} 内",
            show_fen(p.amount_min_fen),
            show_fen(p.amount_max_fen)
        ));
    }
    if (p.term_min_months..=p.term_max_months).contains(&w.term_months) {
        score += 20;
        fits.push("期限符合".to_owned());
    } else {
        misses.push(format!(
            "期限需在 {}–{} 个月",
            p.term_min_months, p.term_max_months
        ));
    }
    if p.rate_min_bp <= w.max_rate_bp {
        score += 20;
        fits.push(format!(
            "最低年利率 {}% 在可接受范围内",
            bp_to_percent(p.rate_min_bp)
        ));
    } else {
        misses.push(format!(
            "最低年利率 {}% 高于可接受的 {}%",
            bp_to_percent(p.rate_min_bp),
            bp_to_percent(w.max_rate_bp)
        ));
    }
    if p.guarantee.iter().any(|g| g == w.guarantee) {
        score += 15;
        fits.push("接受该担保方式".to_owned());
    } else {
        misses.push("不接受该担保方式".to_owned());
    }
    if p.regions.is_empty() || p.regions.iter().any(|r| r == w.region) {
        score += 10;
        fits.push("服务所在区域".to_owned());
    } else {
        misses.push("不服务所在区域".to_owned());
    }
    if p.industries.is_empty() || p.industries.iter().any(|i| i == w.industry) {
        score += 10;
        fits.push("适用所属行业".to_owned());
    } else {
        misses.push("不适用所属行业".to_owned());
    }
    if !amount_ok {
        score = score.min(THRESHOLD - 1);
    }
    fits.extend(misses);
    Match {
        score,
        reasons: fits,
    }
}

/// The score of [`score`] without its reasons: what ranking many products needs.
pub fn points(w: &Wanted<'_>, p: &Product) -> u32 {
    let amount_ok = (p.amount_min_fen..=p.amount_max_fen).contains(&w.amount_fen);
    let mut score = 0;
    if amount_ok {
        score += 25;
    }
    if (p.term_min_months..=p.term_max_months).contains(&w.term_months) {
        score += 20;
    }
    if p.rate_min_bp <= w.max_rate_bp {
        score += 20;
    }
    if p.guarantee.iter().any(|g| g == w.guarantee) {
        score += 15;
    }
    if p.regions.is_empty() || p.regions.iter().any(|r| r == w.region) {
        score += 10;
    }
    if p.industries.is_empty() || p.industries.iter().any(|i| i == w.industry) {
        score += 10;
    }
    if amount_ok {
        score
    } else {
        score.min(THRESHOLD - 1)
    }
}

/// The best `n` of `products` for `w` that are recommended, best first (ties: newest first),
/// each with its reasons (written for those `n` only).
pub fn best<'p>(w: &Wanted<'_>, products: &'p [Product], n: usize) -> Vec<(&'p Product, Match)> {
    let mut all: Vec<(&Product, u32)> = products
        .iter()
        .map(|p| (p, points(w, p)))
        .filter(|(_, s)| *s >= THRESHOLD)
        .collect();
    let rank = |a: &(&Product, u32), b: &(&Product, u32)| {
        b.1.cmp(&a.1).then(b.0.listed_at.cmp(&a.0.listed_at))
    };
    if all.len() > n && n > 0 {
        all.select_nth_unstable_by(n - 1, rank);
        all.truncate(n);
    }
    all.sort_by(rank);
    all.truncate(n);
    all.into_iter().map(|(p, _)| (p, score(w, p))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProductStatus;

    fn product(min: i64, max: i64, rate: i64, guarantee: &[&str]) -> Product {
        Product {
            id: "p".into(),
            org_id: "o".into(),
            org_name: "银行".into(),
            institution_kind: "bank".into(),
            name: "贷".into(),
            kind: "debt".into(),
            guarantee: guarantee.iter().map(|g| (*g).to_owned()).collect(),
            loan_method: "online".into(),
            amount_min_fen: min,
            amount_max_fen: max,
            rate_min_bp: rate,
            rate_max_bp: rate + 100,
            term_min_months: 6,
            term_max_months: 36,
            regions: vec!["xinluo".into()],
            industries: vec![],
            conditions: String::new(),
            intro: String::new(),
            status: ProductStatus::Listed,
            reject_reason: None,
            held_words: vec![],
            revision: 1,
            created_at: 0,
            updated_at: 0,
            listed_at: Some(0),
        }
    }

    fn wanted(amount: i64) -> Wanted<'static> {
        Wanted {
            amount_fen: amount,
            term_months: 12,
            max_rate_bp: 500,
            guarantee: "credit",
            industry: "manufacturing",
            region: "xinluo",
        }
    }

    #[test]
    fn a_product_that_fits_everything_scores_100() {
        let m = score(
            &wanted(100_000_000),
            &product(1_000_000, 500_000_000, 400, &["credit"]),
        );
        assert_eq!(m.score, 100, "{m:?}");
        assert!(m.recommended());
    }

    #[test]
    fn each_miss_is_explained_and_costs_its_weight() {
        let m = score(
            &wanted(100_000_000),
            &product(1_000_000, 500_000_000, 600, &["mortgage"]),
        );
        assert_eq!(m.score, 65, "{m:?}");
        assert!(
            m.reasons.iter().any(|r| r.contains("高于可接受的 5%")),
            "{m:?}"
        );
        assert!(m.reasons.iter().any(|r| r == "不接受该担保方式"), "{m:?}");
    }

    #[test]
    fn an_amount_outside_the_range_is_never_recommended() {
        let m = score(
            &wanted(900_000_000),
            &product(1_000_000, 500_000_000, 400, &["credit"]),
        );
        assert_eq!(m.score, THRESHOLD - 1, "{m:?}");
        assert!(!m.recommended());
    }

    #[test]
    fn points_agree_with_the_explained_score() {
        for (amount, rate, g) in [
            (100_000_000, 400, "credit"),
            (900_000_000, 600, "mortgage"),
            (100, 100, "credit"),
        ] {
            let p = product(1_000_000, 500_000_000, rate, &[g]);
            let w = wanted(amount);
            assert_eq!(points(&w, &p), score(&w, &p).score);
        }
    }

    #[test]
    fn best_orders_by_score_and_drops_the_rest() {
        let good = product(0, 500_000_000, 400, &["credit"]);
        let mut fair = product(0, 500_000_000, 600, &["credit"]);
        fair.id = "fair".into();
        let mut bad = product(0, 100, 400, &["credit"]);
        bad.id = "bad".into();
        let all = [fair, bad, good];
        let best = best(&wanted(100_000_000), &all, 5);
        let ids: Vec<&str> = best.iter().map(|(p, _)| p.id.as_str()).collect();
        assert_eq!(ids, ["p", "fair"]);
    }
}
