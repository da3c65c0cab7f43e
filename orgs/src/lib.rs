//! Organisations and portal roles (REQUIREMENTS E1, G1).
//!
//! An organisation — an enterprise, a financial institution, a government department, an
//! intermediary or the platform's operator — is registered by an account (which becomes its
//! main account) and reviewed by the operators (`pending` → `approved` | `rejected`; a rejected
//! one is corrected and resubmitted; the operators disable and enable approved ones). A legal
//! person's sign-in through the provincial platform binds the company's account to its
//! enterprise, creating it approved when it is new. Main accounts add and disable sub
//! accounts; an account belongs to one organisation at most. What an account is in the portal
//! ([`PortalRole`]) follows from its organisation's kind and its place there.
//!
//! An organisation's own data is reached only through an [`OrgScope`], which only
//! [`Orgs::scope_for`] makes (an active member of an approved organisation) and which every
//! such query is limited by: another organisation's rows cannot be returned or changed.
//!
//! Credit codes are kept as the platform keeps identity numbers (G4): a blind index (the same
//! as a legal person's account's) for uniqueness and search, SM4-GCM ciphertext bound to the
//! organisation, and a masked copy. Every change is audited.

mod error;
mod model;
mod service;
mod sign_in;
mod validate;

pub use error::OrgError;
pub use model::{
    Counts, Decision, MemberRole, MemberStatus, MemberView, Membership, NewOrganisation, OrgFilter,
    OrgKind, OrgScope, OrgStatus, Organisation, PortalRole,
};
pub use platform::paging::{Page, Paged};
pub use service::Orgs;
pub use sign_in::BindEnterprise;
