//! The resilient outbound HTTP client shared by the sign-in back channels, the connectors'
//! health probes and partner delivery.
//!
//! It is empty until the connectors work lands.
