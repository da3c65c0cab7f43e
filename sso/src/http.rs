//! Outbound HTTP for the providers: one `reqwest` client (no redirects followed: a provider
//! that redirects a back-channel call is misconfigured, and following would leak credentials),
//! bridged to the `oauth2`/`openidconnect` crates' client interface.

use std::future::Future;
use std::time::Duration;

/// The error of a bridged call.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error(transparent)]
    Reqwest(#[from] reqwest::Error),
    #[error(transparent)]
    Http(#[from] http::Error),
}

/// A client for provider calls: timeouts, no redirects, no cookies.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("longyan-hub/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// `http` request → `reqwest` → `http` response, in the shape `oauth2`'s async client expects.
pub fn bridge(
    http: &reqwest::Client,
    timeout: Duration,
) -> impl Fn(
    oauth2::HttpRequest,
)
    -> std::pin::Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, BridgeError>> + Send>>
+ Send
+ Sync
+ 'static {
    let client = http.clone();
    move |req: oauth2::HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let res = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .timeout(timeout)
                .send()
                .await
                .map_err(reqwest::Error::without_url)?;
            let mut out = http::Response::builder().status(res.status());
            if let Some(h) = out.headers_mut() {
                *h = res.headers().clone();
            }
            let bytes = res.bytes().await.map_err(reqwest::Error::without_url)?;
            Ok(out.body(bytes.to_vec())?)
        })
    }
}
