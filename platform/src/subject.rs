//! Who signed in, as a provider asserted it after verification: a natural person, or a legal
//! person (enterprise) acting through a natural person (经办人, the agent).

use crate::identity::{Certificate, Uscc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectKind {
    Personal,
    LegalPerson,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Personal => "personal",
            SubjectKind::LegalPerson => "legal_person",
        }
    }
}

/// A natural person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    /// Absent for providers that do not assert one (many OpenID Connect providers).
    pub certificate: Option<Certificate>,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

/// An enterprise or other legal person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    pub name: String,
    pub uscc: Uscc,
    /// 法定代表人: the legal representative's name, when asserted.
    pub legal_representative: Option<String>,
}

/// A verified sign-in: produced only by a provider adapter (the `sso` crate) after it has checked
/// the ticket, signature or token, so that linking and sessions can take it as proof. The
/// constructors are public because the adapters live in another crate; nothing else calls them
/// (tests use [`VerifiedIdentity::for_tests`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedIdentity {
    provider: String,
    subject: String,
    kind: SubjectKind,
    person: Person,
    company: Option<Company>,
    provider_session: Option<String>,
    id_token: Option<String>,
}

impl VerifiedIdentity {
    /// For provider adapters, after verification.
    pub fn new(provider: &str, subject: String, person: Person, company: Option<Company>) -> Self {
        VerifiedIdentity {
            provider: provider.to_owned(),
            subject,
            kind: if company.is_some() {
                SubjectKind::LegalPerson
            } else {
                SubjectKind::Personal
            },
            person,
            company,
            provider_session: None,
            id_token: None,
        }
    }

    pub fn with_provider_session(mut self, sid: Option<String>) -> Self {
        self.provider_session = sid;
        self
    }

    pub fn with_id_token(mut self, token: String) -> Self {
        self.id_token = Some(token);
        self
    }

    /// The configured provider id (`fujian`, `elongyan`, …).
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The provider's stable identifier of the user (`USER_ID`, `sub`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn kind(&self) -> SubjectKind {
        self.kind
    }

    /// The natural person: the user, or for a legal person the agent acting for it.
    pub fn person(&self) -> &Person {
        &self.person
    }

    pub fn company(&self) -> Option<&Company> {
        self.company.as_ref()
    }

    /// The provider's session id (OpenID Connect `sid`), for back-channel logout.
    pub fn provider_session(&self) -> Option<&str> {
        self.provider_session.as_deref()
    }

    /// The raw ID token, kept for RP-initiated logout (`id_token_hint`).
    pub fn id_token(&self) -> Option<&str> {
        self.id_token.as_deref()
    }

    /// Builds an identity without a provider (tests of code that consumes identities).
    #[doc(hidden)]
    pub fn for_tests(
        provider: &str,
        subject: &str,
        person: Person,
        company: Option<Company>,
    ) -> Self {
        Self::new(provider, subject.to_owned(), person, company)
    }
}
