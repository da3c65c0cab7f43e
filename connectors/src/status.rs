//! What users and administrators are told about a connector: configured or not, enabled or not,
//! and whether its last health probe reached it.

use serde::Serialize;

use crate::definition::{Definition, HostAllowlist};

/// The outcome of one health probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    pub up: bool,
    /// Milliseconds since the Unix epoch.
    pub checked_at: i64,
    pub latency_ms: Option<i64>,
    /// The HTTP status the platform answered with, if it answered.
    pub http_status: Option<u16>,
    /// Why it is down: `timeout`, `connect`, `http_503`, … (never a URL or message from the
    /// remote side).
    pub error: Option<String>,
}

/// A connector's status, as the public list and the jump route see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Enabled, and the last probe reached the platform.
    Available,
    /// Enabled, not probed yet.
    Unknown,
    /// Enabled, and the last probe failed: users see a notice before they jump.
    Unreachable,
    /// Switched off by an administrator.
    Disabled,
    /// No link configured yet (待配置).
    Unconfigured,
    /// Its host was taken off the allowlist after it was configured: no jumps.
    Blocked,
}

impl Status {
    pub fn of(d: &Definition, allowlist: &HostAllowlist, health: Option<&Health>) -> Status {
        let Some(url) = &d.url else {
            return Status::Unconfigured;
        };
        if !d.enabled {
            return Status::Disabled;
        }
        let allowed = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(|h| allowlist.allows(h)))
            .unwrap_or(false);
        if !allowed {
            return Status::Blocked;
        }
        match health {
            None => Status::Unknown,
            Some(h) if h.up => Status::Available,
            Some(_) => Status::Unreachable,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Unknown => "unknown",
            Status::Unreachable => "unreachable",
            Status::Disabled => "disabled",
            Status::Unconfigured => "unconfigured",
            Status::Blocked => "blocked",
        }
    }

    /// For the portal, in the users' language.
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Available => "正常",
            Status::Unknown => "可访问",
            Status::Unreachable => "暂时无法访问",
            Status::Disabled => "已停用",
            Status::Unconfigured => "待配置",
            Status::Blocked => "已停用",
        }
    }

    /// Whether `/go/{code}` leads anywhere.
    pub fn jumpable(self) -> bool {
        matches!(
            self,
            Status::Available | Status::Unknown | Status::Unreachable
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_configuration_allowlist_and_health() {
        let allow = HostAllowlist::new(&["www.crcrfsp.com"]).unwrap();
        let mut d = crate::catalog::seed()
            .unwrap()
            .into_iter()
            .find(|d| d.code == "receivables")
            .unwrap();
        let up = Health {
            up: true,
            checked_at: 1,
            latency_ms: Some(5),
            http_status: Some(200),
            error: None,
        };
        let down = Health {
            up: false,
            error: Some("timeout".into()),
            http_status: None,
            ..up.clone()
        };
        assert_eq!(Status::of(&d, &allow, None), Status::Unknown);
        assert_eq!(Status::of(&d, &allow, Some(&up)), Status::Available);
        assert_eq!(Status::of(&d, &allow, Some(&down)), Status::Unreachable);
        assert!(Status::Unreachable.jumpable());
        assert_eq!(
            Status::of(&d, &HostAllowlist::default(), Some(&up)),
            Status::Blocked
        );
        d.enabled = false;
        assert_eq!(Status::of(&d, &allow, Some(&up)), Status::Disabled);
        d.url = None;
        assert_eq!(Status::of(&d, &allow, None), Status::Unconfigured);
        assert!(!Status::Unconfigured.jumpable() && !Status::Blocked.jumpable());
    }
}
