//! The organisations' part of a sign-in: a legal person (a company, through its 经办人) joins
//! the enterprise of its unified social credit code (REQUIREMENTS A3, E1).

use std::sync::Arc;

use platform::accounts::AccountRow;
use platform::context::RequestContext;
use platform::sign_in::{HookFuture, SignInHook};
use platform::subject::{SubjectKind, VerifiedIdentity};

use crate::service::Orgs;

/// Binds a legal person's account to its enterprise at every sign-in (nothing changes, and
/// nothing is recorded, when it is bound already).
#[derive(Clone, Debug)]
pub struct BindEnterprise(pub Arc<Orgs>);

impl SignInHook for BindEnterprise {
    fn name(&self) -> &'static str {
        "orgs.bind_enterprise"
    }

    fn signed_in<'a>(
        &'a self,
        account: &'a AccountRow,
        identity: &'a VerifiedIdentity,
        ctx: &'a RequestContext,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            let company = match (identity.kind(), identity.company()) {
                (SubjectKind::LegalPerson, Some(c)) => c,
                _ => return Ok(()),
            };
            self.0
                .bind_enterprise(&account.id, company.uscc.as_str(), &company.name, ctx)
                .await
                .map(|_| ())
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}
