//! Identity federation: provider adapters (the Fujian provincial trust-ticket protocol, the
//! e-Longyan entry, OpenID Connect, OAuth 2.0), the subject model (personal / legal person and
//! agent), linking rules and the session model.
//!
//! It reads no environment variables and maps no errors to HTTP status codes: `hub` assembles it.
//! It is empty until the federated sign-in work lands.
