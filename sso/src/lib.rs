//! Identity federation: provider adapters (the Fujian provincial trust-ticket protocol, the
//! e-Longyan entry, OpenID Connect, OAuth 2.0), the subject model (personal / legal person and
//! agent), claim mapping, and the validation of identity numbers and redirect targets.
//!
//! Adapters turn what a provider sent into a [`VerifiedIdentity`] and nothing else: they keep
//! no state between requests beyond cached provider metadata, read no environment variables and
//! know no HTTP status codes. The hub owns flows, single-use checks, accounts and sessions.

mod claims;
mod elongyan;
mod error;
mod fujian;
pub mod http;
mod identity;
mod oauth2;
mod oidc;
mod redirect;
mod subject;
mod ticket;

pub use claims::{ClaimMap, text as claim_text};
pub use elongyan::{
    DEFAULT_ENCRYPTED_FIELDS, DEFAULT_SIGNED_FIELDS, DEFAULT_TICKET_FIELDS, ElongyanSettings,
    Entry, EntryMode, SignatureScheme,
};
pub use error::{Error, ErrorKind};
pub use fujian::FujianSettings;
pub use guomi::Secret;
pub use identity::{
    CertType, Certificate, CitizenId, InvalidId, Uscc, mask_id, mask_mobile, mask_name,
};
pub use oauth2::{ClientAuth, OAuth2Settings, TokenPlacement};
pub use oidc::{AuthRequest, DEFAULT_ALGORITHMS, LogoutClaims, OidcProvider, OidcSettings};
pub use redirect::safe_target;
pub use subject::{Company, Person, SubjectKind, VerifiedIdentity};
pub use ticket::TicketExchange;

/// An error and its causes on one line, for messages that cross into logs.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}
