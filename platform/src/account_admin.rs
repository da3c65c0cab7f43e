//! What security administrators do to accounts (REQUIREMENTS E1, A5): enable or disable one —
//! disabling ends its sessions at once, on every node within `sessions.cache_ttl` — and end its
//! sessions, one or all. Each is audited. The JSON endpoints (`api::accounts`) and the console's
//! pages call these functions; they check no permission themselves (their callers authorise).

use crate::accounts::{AccountError, AccountStatus, AccountView};
use crate::admin::Principal;
use crate::audit::{Actor, AuditEvent, Outcome};
use crate::context::RequestContext;
use crate::state::Platform;

/// Enables or disables account `id`.
pub async fn set_status(
    platform: &Platform,
    by: &Principal,
    id: &str,
    status: AccountStatus,
    ctx: &RequestContext,
) -> Result<AccountView, AccountError> {
    let view = platform
        .accounts
        .set_status(id, status, by.actor(), ctx)
        .await?;
    if status == AccountStatus::Disabled {
        platform.sessions.end_for_account(id).await?;
    }
    platform.sessions.refresh_account(id);
    Ok(view)
}

/// Ends every session of account `id`; returns how many there were.
pub async fn end_sessions(
    platform: &Platform,
    by: &Principal,
    id: &str,
    ctx: &RequestContext,
) -> Result<u64, AccountError> {
    platform.accounts.row(id).await?;
    let n = platform.sessions.end_for_account(id).await?;
    record(platform, by.actor(), ctx, id, None, n).await?;
    Ok(n)
}

/// Ends the session of account `id` with the public `handle`: an administrator's act (`by`), or
/// the account's own from its user centre (`by` the account's actor). Another account's handle
/// is "not found".
pub async fn end_session(
    platform: &Platform,
    by: Actor,
    id: &str,
    handle: &str,
    ctx: &RequestContext,
) -> Result<(), AccountError> {
    if !platform.sessions.end_by_handle(id, handle).await? {
        return Err(AccountError::SessionNotFound {
            account: id.to_owned(),
            handle: handle.to_owned(),
        });
    }
    record(platform, by, ctx, id, Some(handle), 1).await
}

async fn record(
    platform: &Platform,
    by: Actor,
    ctx: &RequestContext,
    account: &str,
    handle: Option<&str>,
    n: u64,
) -> Result<(), AccountError> {
    platform
        .audit
        .append(
            AuditEvent::new("session.revoked", Outcome::Success)
                .actor(by)
                .target(format!("account:{account}"))
                .details(serde_json::json!({ "handle": handle, "sessions": n }))
                .context(ctx),
        )
        .await?;
    Ok(())
}
