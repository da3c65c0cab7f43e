//! The Fujian provincial real-name platform (闽政通, PROTOCOLS.md §1): a CAS-family trust-ticket
//! protocol. The browser is sent to a silent check (`checkLoginStatus.do`), then, without a
//! provincial session, to the login page (`goLogin.do`); the platform calls back with a
//! one-time `trustticket`, which the back channel exchanges (`103`, `033`) for the profile.

use std::time::Duration;

use url::Url;

use crate::claims::ClaimMap;
use crate::ticket::TicketExchange;
use crate::{Error, Secret};
use platform::subject::VerifiedIdentity;

#[derive(Clone, Debug)]
pub struct FujianSettings {
    pub provider: String,
    /// `https://mztapp.fujian.gov.cn:8304/dataset` in production.
    pub base_url: Url,
    pub caller_code: Secret,
    /// Try `checkLoginStatus.do` first, so that users with a provincial session pass through.
    pub silent_check: bool,
    pub exchange: TicketExchange,
    pub claims: ClaimMap,
}

impl FujianSettings {
    /// The settings for `base_url`, with the back channel at its standard path.
    pub fn new(
        provider: &str,
        base_url: Url,
        caller_code: Secret,
        timeout: Duration,
    ) -> Result<Self, Error> {
        let exchange_url = endpoint(&base_url, "AppSerController/invokeservice.do")?;
        Ok(FujianSettings {
            provider: provider.to_owned(),
            exchange: TicketExchange::new(provider, exchange_url, caller_code.clone(), timeout),
            base_url,
            caller_code,
            silent_check: true,
            claims: ClaimMap::provincial(),
        })
    }

    /// Where to send the browser first: the silent check, or straight to the login page.
    pub fn start_url(&self, callback: &Url) -> Result<Url, Error> {
        if self.silent_check {
            self.check_url(callback)
        } else {
            self.login_url(callback)
        }
    }

    pub fn check_url(&self, callback: &Url) -> Result<Url, Error> {
        let mut u = endpoint(&self.base_url, "UnifiedController/checkLoginStatus.do")?;
        u.query_pairs_mut()
            .append_pair("checkbackurl", callback.as_str())
            .append_pair("callerCode", self.caller_code.expose());
        Ok(u)
    }

    pub fn login_url(&self, callback: &Url) -> Result<Url, Error> {
        let mut u = endpoint(&self.base_url, "UnifiedController/goLogin.do")?;
        u.query_pairs_mut()
            .append_pair("returnurl", callback.as_str())
            .append_pair("callerCode", self.caller_code.expose());
        Ok(u)
    }

    /// The platform's logout (`uitype=5`), returning to `return_url` afterwards.
    pub fn logout_url(&self, return_url: &Url) -> Result<Url, Error> {
        let mut u = endpoint(&self.base_url, "UnifiedController/goUserCenter.do")?;
        u.query_pairs_mut()
            .append_pair("uitype", "5")
            .append_pair("callerCode", self.caller_code.expose())
            .append_pair("returnurl", return_url.as_str());
        Ok(u)
    }

    /// Exchanges a trust ticket for the verified identity. The caller has made sure the ticket
    /// is used once and arrived with this browser's state.
    pub async fn redeem(
        &self,
        http: &outbound::Client,
        ticket: &str,
    ) -> Result<VerifiedIdentity, Error> {
        let profile = self.exchange.profile(http, ticket).await?;
        self.claims.apply(&self.provider, &profile)
    }
}

/// `{base}/{path}` whatever the base's trailing slash.
pub(crate) fn endpoint(base: &Url, path: &str) -> Result<Url, Error> {
    let joined = format!("{}/{path}", base.as_str().trim_end_matches('/'));
    Url::parse(&joined).map_err(|e| Error::Config(format!("bad provider URL: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FujianSettings {
        FujianSettings::new(
            "fujian",
            Url::parse("https://mztapp.fujian.gov.cn:8304/dataset").unwrap(),
            Secret::new("c0ffee"),
            Duration::from_secs(5),
        )
        .unwrap()
    }

    #[test]
    fn front_channel_urls_have_the_platform_shape() {
        let s = settings();
        let cb = Url::parse("https://hub.example.cn/sso/fujian/callback?state=abc").unwrap();
        assert_eq!(
            s.start_url(&cb).unwrap().as_str(),
            "https://mztapp.fujian.gov.cn:8304/dataset/UnifiedController/checkLoginStatus.do?checkbackurl=https%3A%2F%2Fhub.example.cn%2Fsso%2Ffujian%2Fcallback%3Fstate%3Dabc&callerCode=c0ffee"
        );
        assert!(s.login_url(&cb).unwrap().as_str().starts_with(
            "https://mztapp.fujian.gov.cn:8304/dataset/UnifiedController/goLogin.do?returnurl=https%3A%2F%2Fhub"
        ));
        let out = s
            .logout_url(&Url::parse("https://hub.example.cn/").unwrap())
            .unwrap();
        assert_eq!(out.path(), "/dataset/UnifiedController/goUserCenter.do");
        assert!(
            out.query()
                .unwrap()
                .starts_with("uitype=5&callerCode=c0ffee&returnurl=")
        );
        assert_eq!(
            s.exchange.url.as_str(),
            "https://mztapp.fujian.gov.cn:8304/dataset/AppSerController/invokeservice.do"
        );
        // The test variant's prefix works the same way.
        let t = FujianSettings::new(
            "fj",
            Url::parse("http://10.0.0.1:9089/mztsfrz/dataset/").unwrap(),
            Secret::new("x"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            t.exchange.url.path(),
            "/mztsfrz/dataset/AppSerController/invokeservice.do"
        );
    }
}
