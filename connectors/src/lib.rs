//! The registry of external platforms users jump to, link building and signed hand-off, health
//! probes, and the resilient outbound HTTP client shared by the hub's back channels.
//!
//! It is empty until the connectors work lands.
