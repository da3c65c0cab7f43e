//! Outbound HTTP for the providers goes through the hub's resilient client
//! ([`outbound::Client`]: timeouts, retries of retry-safe calls only, a circuit breaker per
//! host, no redirects followed — a provider that redirects a back-channel call is
//! misconfigured, and following would leak credentials). This module bridges that client to
//! the `oauth2`/`openidconnect` crates' client interface.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use outbound::Retry;

/// `http` request → [`outbound::Client::execute`] → `http` response, in the shape `oauth2`'s
/// async client expects. Each call site says whether its request may be repeated: discovery
/// and keys are `Retry::Safe`, the code exchange is `Retry::Unsafe` (a code is single-use).
///
/// A 5xx answer becomes `outbound::Error::Status`: the provider is failing, whatever its body
/// says. Left to them, the `oauth2` crates would read an HTML error page from the token
/// endpoint as a malformed token response (OAuth 2.0 errors are 4xx with a JSON body, and those
/// pass through).
pub fn bridge(
    http: &outbound::Client,
    retry: Retry,
    timeout: Duration,
) -> impl Fn(
    oauth2::HttpRequest,
) -> Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, outbound::Error>> + Send>>
+ Send
+ Sync
+ 'static {
    let client = http.clone();
    move |req: oauth2::HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let host = outbound::host_of(&req.uri().to_string()).unwrap_or_default();
            let res = client.execute(req, retry, Some(timeout)).await?;
            if res.status().is_server_error() {
                return Err(outbound::Error::Status {
                    host,
                    status: res.status().as_u16(),
                    idempotent: retry == Retry::Safe,
                });
            }
            Ok(res)
        })
    }
}

/// A 5xx answer as the outbound error that says so (the provider is failing); any other
/// answer as it is, for the caller to read (error bodies of 4xx answers are meaningful).
pub(crate) fn server_error(res: outbound::Response) -> Result<outbound::Response, outbound::Error> {
    if res.status().is_server_error() {
        res.error_for_status()
    } else {
        Ok(res)
    }
}

/// A back channel on loopback for tests: answers request `n` (from 0) with `answer(n, body)`,
/// a status and a body, and keeps the request bodies it received.
#[cfg(test)]
pub(crate) mod loopback {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    pub(crate) struct Server {
        pub(crate) url: String,
        pub(crate) bodies: Arc<Mutex<Vec<String>>>,
    }

    pub(crate) async fn serve(
        answer: impl Fn(usize, &str) -> (u16, String) + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (end, len) = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (i + 4, len);
                    }
                    let n = stream.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                };
                while buf.len() < end + len {
                    let n = stream.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[end..end + len]).into_owned();
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(body.clone());
                    seen.len() - 1
                };
                let (status, text) = answer(n, &body);
                let out = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
                stream.write_all(out.as_bytes()).await.unwrap();
                let _ = stream.shutdown().await;
            }
        });
        Server { url, bodies }
    }

    /// A client that retries without noticeable delay.
    pub(crate) fn client() -> outbound::Client {
        outbound::Client::new(outbound::Settings {
            backoff_base: std::time::Duration::from_millis(1),
            backoff_max: std::time::Duration::from_millis(5),
            ..outbound::Settings::default()
        })
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_token_endpoint_is_unavailable_and_not_called_twice() {
        let server = loopback::serve(|_, _| (503, "<html>busy</html>".into())).await;
        let http = loopback::client();
        let call = bridge(&http, Retry::Unsafe, Duration::from_secs(2));
        let req = http::Request::post(format!("{}token", server.url))
            .body(b"code=c".to_vec())
            .unwrap();
        let e = call(req).await.unwrap_err();
        assert!(
            matches!(e, outbound::Error::Status { status: 503, .. }),
            "{e}"
        );
        assert_eq!(e.host(), outbound::host_of(&server.url).as_deref());
        assert!(e.retry_safe(), "a 503 says the code was not used");
        assert_eq!(server.bodies.lock().unwrap().len(), 1);

        // Discovery is retried, and a 4xx error document passes through to the crates.
        let server = loopback::serve(|n, _| {
            if n == 0 {
                (502, String::new())
            } else {
                (400, r#"{"error":"invalid_grant"}"#.into())
            }
        })
        .await;
        let call = bridge(&http, Retry::Safe, Duration::from_secs(2));
        let req = http::Request::get(server.url.clone()).body(vec![]).unwrap();
        let res = call(req).await.unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(server.bodies.lock().unwrap().len(), 2);
    }
}
