//! The platform's JSON interface: operations (`/healthz`, `/readyz`, `/metrics`), the
//! administrators and their sessions and tokens, the audit trail, and user accounts for
//! security administrators. Each part is an `OpenApiRouter`, so that a route and its OpenAPI
//! description are declared together.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod me;
pub mod ops;
