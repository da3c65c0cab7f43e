//! The simulators' router.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::config::SandboxConfig;
use crate::{elongyan, fujian, platforms};

use crate::state::{
    ELONGYAN_BASE, ELONGYAN_EXCHANGE_PATH, FUJIAN_BASE, FUJIAN_EXCHANGE_PATH, PLATFORMS_BASE,
    Sandbox,
};

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
        .route(&format!("{PLATFORMS_BASE}/{{code}}"), get(platforms::entry))
        .with_state(state)
        .merge(crate::consumer::router())
}
