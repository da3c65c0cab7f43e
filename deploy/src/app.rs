//! The simulators' shared state and their router.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::{get, post};

use crate::config::SandboxConfig;
use crate::exchange::{self, Exchange};
use crate::personas::Persona;
use crate::signature::Signer;
use crate::store::Expiring;
use crate::{Error, elongyan, fujian, platform};

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

/// Both simulators, every route under its full path so that the router can be merged into
/// another application (`hub demo`) or served alone (the `sandbox` binary).
///
/// Provincial platform (PROTOCOLS.md §1), under [`FUJIAN_BASE`]:
/// - `GET  …/UnifiedController/checkLoginStatus.do?checkbackurl=&callerCode=`
/// - `GET  …/UnifiedController/goLogin.do?returnurl=&callerCode=[&persona=&fault=]`
/// - `POST …/UnifiedController/doLogin` (form: `persona`, `returnurl`, `fault`)
/// - `GET  …/UnifiedController/goUserCenter.do?uitype=5&callerCode=&returnurl=`
/// - `GET  …/UnifiedController/goRegist.do?returnurl=&callerCode=`
/// - `POST …/AppSerController/invokeservice.do` (services 103 and 033)
///
/// e-Longyan (PROTOCOLS.md §2, docs/ELONGYAN.md), under [`ELONGYAN_BASE`]:
/// - `GET  /sandbox/elongyan/` — the portal page
/// - `GET  /sandbox/elongyan/jump?persona=&target=&mode=ticket|signed[&fault=]`
/// - `POST /sandbox/elongyan/AppSerController/invokeservice.do` (services 103 and 033)
///
/// External platforms users jump to (connectors), under [`PLATFORMS_BASE`]:
/// - `GET  /sandbox/platforms/{code}` — a platform's entry page; verifies a signed hand-off
///   (docs/HANDOFF.md) with the demo secret and shows what it received
///
/// The internal consumer of partner messages, under [`crate::CONSUMER_BASE`]:
/// - `POST /sandbox/consumer/messages` — applies each `Idempotency-Key` once
/// - `GET  /sandbox/consumer/` — what it has applied
pub fn router(config: SandboxConfig) -> Router {
    let state = Arc::new(Sandbox::new(config));
    let uc = |op: &str| format!("{FUJIAN_BASE}/UnifiedController/{op}");
    Router::new()
        .route(&uc("checkLoginStatus.do"), get(fujian::check_login_status))
        .route(&uc("goLogin.do"), get(fujian::go_login))
        .route(&uc("doLogin"), post(fujian::do_login))
        .route(&uc("goUserCenter.do"), get(fujian::go_user_center))
        .route(&uc("goRegist.do"), get(fujian::go_regist))
        .route(FUJIAN_EXCHANGE_PATH, post(fujian::invoke_service))
        .route(ELONGYAN_BASE, get(elongyan::portal))
        .route(&format!("{ELONGYAN_BASE}/"), get(elongyan::portal))
        .route(&format!("{ELONGYAN_BASE}/jump"), get(elongyan::jump))
        .route(ELONGYAN_EXCHANGE_PATH, post(elongyan::invoke_service))
        .route(&format!("{PLATFORMS_BASE}/{{code}}"), get(platform::entry))
        .with_state(state)
        .merge(crate::consumer::router())
}
