//! What the portal's pages need: the platform (with the compiled pages), the sign-in federation
//! (the providers to offer), the connector registry (网上办事), the organisations, the partner
//! exchange (the console's partner pages), and the home page's figures, kept for a few seconds.

use std::sync::{Arc, RwLock};

use axum::body::Bytes;

use connectors::Connectors;
use exchange::Exchange;
use orgs::Orgs;
use platform::Platform;
use serde::Serialize;
use sso::federation::Federation;

use crate::config::PortalConfig;

/// How long the home page's figures are reused before they are counted again.
const FIGURES_TTL_MS: i64 = 5_000;

/// How long the home page as anonymous visitors see it is reused before it is rendered again:
/// it is the busiest page, and the same for everyone who is not signed in.
const ANONYMOUS_HOME_TTL_MS: i64 = 1_000;

/// The state of the portal's routes. Cheap to clone.
#[derive(Clone)]
pub struct PortalState {
    pub platform: Platform,
    pub federation: Arc<Federation>,
    pub connectors: Arc<Connectors>,
    pub orgs: Arc<Orgs>,
    pub exchange: Arc<Exchange>,
    pub cms: Arc<cms::Cms>,
    pub market: Arc<market::Market>,
    pub config: Arc<PortalConfig>,
    figures: Arc<RwLock<Option<(i64, Figures)>>>,
    anonymous_home: Arc<RwLock<Option<(i64, Bytes)>>>,
}

/// The platform's figures (REQUIREMENTS D10): what the home page and the government's
/// dashboard show. Products, open demands and the financing amount are the marketplace's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Approved enterprises.
    pub enterprises: u64,
    /// Approved financial institutions.
    pub institutions: u64,
    /// Financial products on offer.
    pub products: u64,
    /// Financing demands open in the market.
    pub open_demands: u64,
    /// Cumulative financing disbursed through the platform, in integer fen.
    pub financing_fen: i64,
}

impl PortalState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        platform: Platform,
        federation: Arc<Federation>,
        connectors: Arc<Connectors>,
        orgs: Arc<Orgs>,
        exchange: Arc<Exchange>,
        cms: Arc<cms::Cms>,
        market: Arc<market::Market>,
        config: PortalConfig,
    ) -> PortalState {
        PortalState {
            platform,
            federation,
            connectors,
            orgs,
            exchange,
            cms,
            market,
            config: Arc::new(config),
            figures: Arc::new(RwLock::new(None)),
            anonymous_home: Arc::new(RwLock::new(None)),
        }
    }

    /// The figures, counted at most every few seconds (the home page is the busiest page).
    pub async fn figures(&self) -> Result<Figures, platform::http::problem::ApiError> {
        let now = self.platform.clock.now().0;
        if let Ok(guard) = self.figures.read()
            && let Some((at, f)) = *guard
            && now - at < FIGURES_TTL_MS
        {
            return Ok(f);
        }
        let counts = self.orgs.counts().await?;
        let market = self.market.figures().await?;
        let f = Figures {
            enterprises: counts.enterprises,
            institutions: counts.institutions,
            products: market.products,
            open_demands: market.open_demands,
            financing_fen: market.financing_fen,
        };
        if let Ok(mut guard) = self.figures.write() {
            *guard = Some((now, f));
        }
        Ok(f)
    }
}

impl PortalState {
    /// The home page as anonymous visitors see it, rendered by `render` at most once per
    /// [`ANONYMOUS_HOME_TTL_MS`] (its content is at most that much older than the store).
    pub async fn anonymous_home<F, Fut, E>(&self, render: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Bytes, E>>,
    {
        let now = self.platform.clock.now().0;
        if let Ok(guard) = self.anonymous_home.read()
            && let Some((at, html)) = &*guard
            && now - at < ANONYMOUS_HOME_TTL_MS
        {
            return Ok(html.clone());
        }
        let html = render().await?;
        if let Ok(mut guard) = self.anonymous_home.write() {
            *guard = Some((now, html.clone()));
        }
        Ok(html)
    }
}
