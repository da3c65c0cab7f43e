//! What every HTTP request of the hub meets: the middleware (request id, span, problem
//! rendering, metrics, access log, security headers, time limit), the one table of error codes
//! and their rendering, extractors whose rejections are problems, the authenticated principals,
//! metrics, rate limits and form tokens.
//!
//! This module only declares its parts: each part names the sibling it uses directly, so that
//! no file depends on another through this one.

pub mod auth;
pub mod cookie;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod problem;
pub mod ratelimit;
pub mod request_id;
