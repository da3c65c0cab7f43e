//! Message schemas (XSD, JSON Schema) and the wire types that cross crate boundaries.
//!
//! This crate is data at the bottom of the dependency graph: it holds the schema catalogue that
//! partner messages are validated against and the plain types that `mappings`, `sso`,
//! `connectors` and `hub` exchange. It performs no I/O and knows nothing about HTTP or storage.
//! It is empty until the exchange work lands.
