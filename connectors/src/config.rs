//! `[connectors]`: which hosts links may point to besides the catalog's, where users sign in
//! first, and the health probes.

use std::time::Duration;

use platform::config::{HumanDuration, Layered, positive};
use serde::Deserialize;

use crate::definition::HostAllowlist;

/// The external platforms users jump to: which hosts links may point to, where users sign in
/// first, and the health probes.
#[derive(Clone, Debug)]
pub struct ConnectorsConfig {
    /// The catalog's hosts plus `connectors.allowed_hosts`.
    pub allowlist: HostAllowlist,
    /// The provider users are sent to when a connector requires sign-in: the configured one, or
    /// the first provider where a sign-in can start; `None` when there is none.
    pub sign_in_provider: Option<String>,
    pub probes: bool,
    pub probe_interval: Duration,
    pub probe_timeout: Duration,
    /// How long probe results are kept.
    pub health_history: Duration,
    /// How often a node reloads definitions and health from the store (changes made on another
    /// node, probes run by another node).
    pub refresh_interval: Duration,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConnectors {
    pub allowed_hosts: Vec<String>,
    pub sign_in_provider: Option<String>,
    pub probes: Option<bool>,
    pub probe_interval: Option<HumanDuration>,
    pub probe_timeout: Option<HumanDuration>,
    pub health_history: Option<HumanDuration>,
    pub refresh_interval: Option<HumanDuration>,
}

/// Validates `[connectors]`. `providers` are the configured identity providers, each with
/// whether users can start a sign-in there (an e-Longyan entry cannot).
pub fn validate(
    raw: RawConnectors,
    providers: &[(String, bool)],
    l: &mut Layered,
) -> ConnectorsConfig {
    let mut allowlist = crate::catalog::allowlist::<&str>(&[]).unwrap_or_default();
    for h in &raw.allowed_hosts {
        if let Err(m) = allowlist.add(h) {
            l.problem("connectors.allowed_hosts", m);
        }
    }
    if let Some(id) = &raw.sign_in_provider {
        match providers.iter().find(|(p, _)| p == id) {
            None => l.problem(
                "connectors.sign_in_provider",
                format!("`{id}` is not a configured provider (providers.{id})"),
            ),
            Some((_, false)) => l.problem(
                "connectors.sign_in_provider",
                format!("`{id}` is an e-Longyan entry: users cannot start a sign-in there"),
            ),
            Some(_) => {}
        }
    }
    // Without a choice, the first provider where users can start a sign-in.
    let sign_in_provider = raw.sign_in_provider.clone().or_else(|| {
        providers
            .iter()
            .find(|(_, startable)| *startable)
            .map(|(id, _)| id.clone())
    });
    let probe_interval = positive(l, "connectors.probe_interval", raw.probe_interval, 60);
    let probe_timeout = positive(l, "connectors.probe_timeout", raw.probe_timeout, 5);
    if probe_timeout >= probe_interval {
        l.problem(
            "connectors.probe_timeout",
            "must be shorter than connectors.probe_interval",
        );
    }
    let health_history = positive(
        l,
        "connectors.health_history",
        raw.health_history,
        7 * 86_400,
    );
    let refresh_interval = positive(l, "connectors.refresh_interval", raw.refresh_interval, 5);
    if refresh_interval > Duration::from_secs(300) {
        l.problem(
            "connectors.refresh_interval",
            "must be at most 5m: it delays a disabled connector on other nodes",
        );
    }
    ConnectorsConfig {
        allowlist,
        sign_in_provider,
        probes: raw.probes.unwrap_or(true),
        probe_interval,
        probe_timeout,
        health_history,
        refresh_interval,
    }
}

impl ConnectorsConfig {
    /// The section as operators may see it.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "allowed_hosts": self.allowlist.patterns(),
            "sign_in_provider": self.sign_in_provider,
            "probes": self.probes,
            "probe_interval_s": self.probe_interval.as_secs(),
            "probe_timeout_ms": self.probe_timeout.as_millis() as u64,
            "health_history_s": self.health_history.as_secs(),
            "refresh_interval_ms": self.refresh_interval.as_millis() as u64,
        })
    }
}
