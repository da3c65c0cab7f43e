//! The marketplace's part of a sign-in (REQUIREMENTS D12): an enterprise or institution earns
//! the `registered` points at its first sign-in as an approved organisation (once), and the
//! `daily_sign_in` points at the first sign-in of each day in Beijing time (once a day per
//! organisation, however many of its members sign in). Both are ledger entries keyed by what
//! earned them, so a repeated sign-in adds nothing.

use std::sync::Arc;

use orgs::OrgKind;
use platform::accounts::AccountRow;
use platform::context::RequestContext;
use platform::sign_in::{HookFuture, SignInHook};
use platform::subject::VerifiedIdentity;

use crate::error::MarketError;
use crate::rule::Rule;
use crate::service::Market;

/// Awards the sign-in points; runs after the organisations' hook (which binds a company's
/// account to its enterprise).
#[derive(Clone)]
pub struct SignInPoints(pub Arc<Market>);

/// The day (Beijing time) of `ms`, `YYYY-MM-DD`.
fn day_of(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.to_offset(time::macros::offset!(+8)).date().to_string())
        .unwrap_or_default()
}

impl Market {
    /// The sign-in points of the account's organisation, if it is an approved enterprise or
    /// institution of which the account is an active member; nothing otherwise.
    pub async fn signed_in(&self, account_id: &str) -> Result<(), MarketError> {
        let Ok(scope) = self.organisations().scope_for(account_id).await else {
            return Ok(());
        };
        if !matches!(scope.kind(), OrgKind::Enterprise | OrgKind::Institution) {
            return Ok(());
        }
        let org = scope.org_id();
        let day = format!("day:{}", day_of(self.now_ms()));
        self.award(
            &format!("org:{org}"),
            &[(org, Some(account_id), Rule::Registered)],
        )
        .await?;
        self.award(&day, &[(org, Some(account_id), Rule::DailySignIn)])
            .await
    }
}

impl SignInHook for SignInPoints {
    fn name(&self) -> &'static str {
        "market.sign_in_points"
    }

    fn signed_in<'a>(
        &'a self,
        account: &'a AccountRow,
        _identity: &'a VerifiedIdentity,
        _ctx: &'a RequestContext,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            self.0
                .signed_in(&account.id)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_is_beijing_time() {
        // 2026-12-07T16:30:00Z is 00:30 on the 8th in Beijing.
        assert_eq!(day_of(1_796_661_000_000), "2026-12-08");
        assert_eq!(day_of(1_796_659_000_000), "2026-12-07");
    }
}
