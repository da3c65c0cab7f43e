//! What else happens when someone signs in. Feature crates that keep their own data about
//! accounts (organisations bind a company's account to its enterprise, say) register a
//! [`SignInHook`] with the platform; the sign-in federation runs every hook after the account
//! is resolved and before the session starts.
//!
//! A hook's failure does not refuse the sign-in: the person is who the provider said, and
//! locking a company out because its organisation record is in an odd state would help nobody.
//! The failure is logged with its code and the hook runs again at the next sign-in.

use std::future::Future;
use std::pin::Pin;

use crate::accounts::AccountRow;
use crate::context::RequestContext;
use crate::subject::VerifiedIdentity;

/// The future a hook returns.
pub type HookFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + Send + 'a>>;

/// Something to do after an account has signed in.
pub trait SignInHook: Send + Sync {
    /// A short name for logs (`orgs.bind_enterprise`).
    fn name(&self) -> &'static str;

    /// Runs after `account` signed in as `identity`.
    fn signed_in<'a>(
        &'a self,
        account: &'a AccountRow,
        identity: &'a VerifiedIdentity,
        ctx: &'a RequestContext,
    ) -> HookFuture<'a>;
}

/// Runs every hook in order; failures are logged, never returned.
pub async fn run(
    hooks: &[std::sync::Arc<dyn SignInHook>],
    account: &AccountRow,
    identity: &VerifiedIdentity,
    ctx: &RequestContext,
) {
    for h in hooks {
        if let Err(e) = h.signed_in(account, identity, ctx).await {
            tracing::warn!(
                hook = h.name(),
                account = %account.id,
                error = %e,
                "a sign-in step failed; the sign-in goes on and the step is tried again next time"
            );
        }
    }
}
