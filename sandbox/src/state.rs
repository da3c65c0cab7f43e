//! The simulators' shared state: their paths, the sessions and tickets they hold, and their
//! clock.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::Error;
use crate::config::SandboxConfig;
use crate::exchange::{self, Exchange};
use crate::personas::Persona;
use crate::signature::Signer;
use crate::store::Expiring;

/// Base path of the simulated provincial platform (its `…/dataset`).
pub const FUJIAN_BASE: &str = "/sandbox/fujian/dataset";
/// Base path of the simulated e-Longyan portal.
pub const ELONGYAN_BASE: &str = "/sandbox/elongyan";
/// e-Longyan's ticket exchange back channel (the hub's `exchange_url` in the demo).
pub const ELONGYAN_EXCHANGE_PATH: &str = "/sandbox/elongyan/AppSerController/invokeservice.do";
/// The provincial platform's back channel.
pub const FUJIAN_EXCHANGE_PATH: &str = "/sandbox/fujian/dataset/AppSerController/invokeservice.do";
/// Base path of the simulated external platforms users jump to (`{base}/{code}`).
pub const PLATFORMS_BASE: &str = "/sandbox/platforms";
/// The cookie of a provincial sandbox session (path `/sandbox/fujian/`).
pub const FUJIAN_SESSION_COOKIE: &str = "SANDBOX_FJ_SESSION";

/// How long a provincial sandbox session lasts.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

pub(crate) struct Sandbox {
    pub(crate) config: SandboxConfig,
    pub(crate) fujian: Exchange,
    pub(crate) elongyan: Exchange,
    /// Provincial browser sessions: session id → persona.
    pub(crate) sessions: Mutex<Expiring<&'static Persona>>,
    /// e-Longyan's signing key, or why it could not be loaded (shown on the jump's error page).
    pub(crate) signer: Result<Signer, Error>,
    /// Hand-off nonces the sandbox platforms have accepted (a partner must refuse a replay).
    pub(crate) handoff_nonces: Mutex<std::collections::HashMap<String, Instant>>,
}

impl Sandbox {
    pub(crate) fn new(config: SandboxConfig) -> Self {
        let fujian = Exchange::new(
            "fujian",
            config.fujian.caller_code.clone(),
            config.fujian.ticket_ttl,
            config.slow_delay,
            exchange::fujian_user_id,
        );
        let elongyan = Exchange::new(
            "elongyan",
            config.elongyan.exchange_caller_code.clone(),
            config.elongyan.ticket_ttl,
            config.slow_delay,
            exchange::elongyan_user_id,
        );
        let signer = Signer::new(&config.elongyan.signature);
        if let Err(e) = &signer {
            tracing::warn!(error = %e, "e-Longyan signing key unusable: jumps will fail");
        }
        Self {
            config,
            fujian,
            elongyan,
            sessions: Mutex::new(Expiring::new()),
            signer,
            handoff_nonces: Mutex::new(std::collections::HashMap::new()),
        }
    }
}

/// The simulators' clock: the only place they read time.
pub(crate) mod clock {
    use super::*;

    /// Monotonic time, for expiries.
    pub(crate) fn now() -> Instant {
        Instant::now()
    }

    /// Milliseconds since the Unix epoch, for entry timestamps.
    pub(crate) fn unix_millis() -> u128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    }

    /// `INVOKELOG_BTIME` of an answer given now.
    pub(crate) fn btime() -> String {
        exchange::beijing_time(time::OffsetDateTime::now_utc())
    }
}
