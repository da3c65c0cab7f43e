//! The events that earn (or cost) an organisation points (REQUIREMENTS D12); how many points
//! each gives is the operators' (`market_points_rules`). A leaf: the steps name the rule, the
//! ledger (`points.rs`) writes it.

/// A points rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// An enterprise's demand was approved into the market.
    DemandApproved,
    /// An institution's product was approved (listed).
    ProductApproved,
    /// A loan was disbursed (the enterprise and the institution).
    Disbursed,
    /// Rated 4 or 5 (the rated side).
    RatingPositive,
    /// Rated 1 or 2 (the rated side).
    RatingNegative,
    /// The institution holding the enterprise's demand deleted it, or refused its application.
    CreditRefused,
    /// The organisation's first sign-in in the marketplace (once).
    Registered,
    /// The organisation's first sign-in of the day (Beijing time; once a day per organisation).
    DailySignIn,
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::DemandApproved,
        Rule::ProductApproved,
        Rule::Disbursed,
        Rule::RatingPositive,
        Rule::RatingNegative,
        Rule::CreditRefused,
        Rule::Registered,
        Rule::DailySignIn,
    ];

    /// `market_points_rules.code`.
    pub fn code(self) -> &'static str {
        match self {
            Rule::DemandApproved => "demand_approved",
            Rule::ProductApproved => "product_approved",
            Rule::Disbursed => "disbursed",
            Rule::RatingPositive => "rating_positive",
            Rule::RatingNegative => "rating_negative",
            Rule::CreditRefused => "credit_refused",
            Rule::Registered => "registered",
            Rule::DailySignIn => "daily_sign_in",
        }
    }

    /// The rule a rating's score earns the rated side (none for a 3).
    pub fn of_score(score: i64) -> Option<Rule> {
        match score {
            4.. => Some(Rule::RatingPositive),
            ..=2 => Some(Rule::RatingNegative),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rating_earns_by_its_score() {
        assert_eq!(Rule::of_score(5), Some(Rule::RatingPositive));
        assert_eq!(Rule::of_score(4), Some(Rule::RatingPositive));
        assert_eq!(Rule::of_score(3), None);
        assert_eq!(Rule::of_score(2), Some(Rule::RatingNegative));
        assert_eq!(Rule::of_score(1), Some(Rule::RatingNegative));
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<&str> = Rule::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Rule::ALL.len());
    }
}
