//! The XML⇄JSON mapping engine.
//!
//! Mapping definitions are data (`mappings/catalog/*.toml`): one declarative definition per
//! message type gives both directions. The engine streams, validates against the message's
//! schema and never touches the network or the store. It is empty until the exchange work lands.
