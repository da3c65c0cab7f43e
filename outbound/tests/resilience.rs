//! The client against real local servers that fail, hang, refuse connections and recover.
//!
//! The servers are raw TCP on `127.0.0.1:0`, so that they can misbehave in ways a framework
//! would not allow (answer the head and stall the body), and count what reaches them: requests,
//! and requests in flight at once. Every response closes its connection, so each attempt is a
//! new connection and a hanging one is seen to end when the client gives up.

// A test binary: its helpers fail by panicking, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use outbound::{Circuit, Client, Error, Fault, Retry, Settings};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server saw it.
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
enum Reply {
    /// Answers with this status, extra headers and body (with a `content-length`).
    Answer(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Reads the request and never answers.
    Hang,
    /// Sends the head announcing 100 bytes and 10 of them, then nothing.
    StallBody,
    /// 200 without `content-length`: this many bytes, then the connection closes.
    Unsized(usize),
}

fn status(code: u16) -> Reply {
    Reply::Answer(code, vec![], vec![])
}

type Behaviour = dyn Fn(usize, &Head) -> Reply + Send + Sync;

struct Shared {
    hits: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    behaviour: Box<Behaviour>,
}

struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Server {
    /// A server answering request number `n` (from 0) with `behaviour(n, head)`.
    async fn start(behaviour: impl Fn(usize, &Head) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            hits: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            behaviour: Box::new(behaviour),
        });
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handle(s.clone(), stream));
            }
        });
        Server { addr, shared }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn host(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn handle(shared: Arc<Shared>, mut stream: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let text = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut head = Head {
        method,
        target,
        headers,
        body: vec![],
    };
    let len: usize = head
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    head.body = buf[head_end..head_end + len].to_vec();

    let n = shared.hits.fetch_add(1, Ordering::SeqCst);
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    match (shared.behaviour)(n, &head) {
        Reply::Answer(code, extra, body) => {
            let mut out = format!(
                "HTTP/1.1 {code} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in extra {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            let _ = stream.write_all(out.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
        Reply::Hang => wait_for_close(&mut stream).await,
        Reply::StallBody => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")
                .await;
            let _ = stream.flush().await;
            wait_for_close(&mut stream).await;
        }
        Reply::Unsized(size) => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
                .await;
            let _ = stream.write_all(&vec![b'x'; size]).await;
            let _ = stream.shutdown().await;
        }
    }
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
}

/// Waits until the client closes the connection (it gave up).
async fn wait_for_close(stream: &mut TcpStream) {
    let mut b = [0u8; 256];
    while let Ok(n) = stream.read(&mut b).await {
        if n == 0 {
            return;
        }
    }
}

/// A port on which nothing listens: connections are refused.
fn refused_url(path: &str) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}{path}")
}

/// Short timeouts and backoff; a breaker that does not interfere unless a test wants it.
fn settings() -> Settings {
    Settings {
        connect_timeout: Duration::from_millis(200),
        timeout: Duration::from_millis(500),
        max_attempts: 3,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        breaker_threshold: 100,
        breaker_cool_down: Duration::from_millis(250),
        ..Settings::default()
    }
}

fn client(s: Settings) -> Client {
    Client::new(s).unwrap()
}

fn metrics(client: &Client) -> String {
    let mut registry = Registry::default();
    client.register_metrics(&mut registry);
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    out
}

/// The value of one sample in the metrics text, 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

fn circuit(client: &Client, server: &Server) -> (Circuit, u32) {
    let h = client
        .hosts()
        .into_iter()
        .find(|h| h.host == server.host())
        .unwrap();
    (h.circuit, h.consecutive_failures)
}

#[tokio::test]
async fn safe_calls_are_retried_then_the_last_answer_is_returned() {
    let server = Server::start(|_, _| status(503)).await;
    let c = client(settings());
    let res = c.get(&server.url("/status")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(server.hits(), 3);
    let m = metrics(&c);
    let host = server.host();
    assert_eq!(
        sample(&m, &format!("outbound_retries_total{{host=\"{host}\"}}")),
        2.0
    );
    // A POST declared idempotent (it carries an idempotency key) is retried too.
    let res = c
        .post(&server.url("/deliver"))
        .header("idempotency-key", "k-1")
        .retry(Retry::Safe)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(server.hits(), 6);
    // The last answer becomes an error on request, which may be retried later.
    let e = res.error_for_status().unwrap_err();
    assert!(matches!(e, Error::Status { status: 503, .. }), "{e}");
    assert_eq!(e.fault(), Fault::Theirs);
    assert!(e.retry_safe());
}

#[tokio::test]
async fn a_recovering_host_is_retried_into_success() {
    let server = Server::start(|n, _| {
        if n < 2 {
            status(502)
        } else {
            Reply::Answer(200, vec![], b"{\"ok\":true}".to_vec())
        }
    })
    .await;
    let res = client(settings())
        .get(&server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().unwrap()["ok"], true);
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn unsafe_calls_are_not_retried_after_an_answer_or_a_timeout() {
    let failing = Server::start(|_, _| status(503)).await;
    let c = client(settings());
    let res = c
        .post(&failing.url("/token"))
        .form(&[("code", "c")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(failing.hits(), 1);

    let hanging = Server::start(|_, _| Reply::Hang).await;
    let e = c
        .post(&hanging.url("/token"))
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert_eq!(e.fault(), Fault::Network);
    assert!(!e.retry_safe(), "the token may have been spent");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hanging.hits(), 1);

    // The same timeout on an idempotent call is retried, and may be retried later.
    let e = c
        .get(&hanging.url("/keys"))
        .timeout(Duration::from_millis(150))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(e.retry_safe());
    assert_eq!(hanging.hits(), 4);
}

#[tokio::test]
async fn connection_failures_are_retried_even_for_unsafe_calls() {
    // Nothing was sent, so even a ticket exchange may be tried again.
    let url = refused_url("/exchange");
    let c = client(settings());
    let e = c.post(&url).body("t").send().await.unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e}");
    assert_eq!(e.fault(), Fault::Network);
    assert!(e.retry_safe());
    let host = e.host().unwrap().to_owned();
    let m = metrics(&c);
    assert_eq!(
        sample(
            &m,
            &format!("outbound_requests_total{{host=\"{host}\",outcome=\"connect\"}}")
        ),
        3.0
    );
    assert_eq!(
        sample(&m, &format!("outbound_retries_total{{host=\"{host}\"}}")),
        2.0
    );
}

#[tokio::test]
async fn a_hanging_host_times_out_in_time() {
    let server = Server::start(|_, _| Reply::Hang).await;
    let c = client(Settings {
        max_attempts: 1,
        timeout: Duration::from_millis(200),
        ..settings()
    });
    let started = Instant::now();
    let e = c.get(&server.url("/")).send().await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(e, Error::Timeout { after, .. } if after == Duration::from_millis(200)),
        "{e}"
    );
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_millis(600), "{took:?}");
    // The server sees the client give up.
    for _ in 0..50 {
        if server.in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.in_flight(), 0);
}

#[tokio::test]
async fn a_stalled_body_times_out() {
    let server = Server::start(|_, _| Reply::StallBody).await;
    let c = client(Settings {
        max_attempts: 1,
        ..settings()
    });
    let started = Instant::now();
    let e = c
        .get(&server.url("/"))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_millis(800));
}

#[tokio::test]
async fn a_dead_host_does_not_multiply_traffic() {
    let server = Server::start(|_, _| status(503)).await;
    let c = client(Settings {
        breaker_threshold: 5,
        breaker_cool_down: Duration::from_secs(30),
        ..settings()
    });
    let mut open = 0;
    for i in 0..20 {
        match c.get(&server.url("/")).send().await {
            Ok(res) => assert_eq!((i, res.status().as_u16()), (0, 503)),
            Err(e @ Error::CircuitOpen { .. }) => {
                assert_eq!(e.fault(), Fault::Theirs);
                assert!(e.retry_safe());
                open += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    // Three attempts for the first call, two for the second, whose retry met the open circuit.
    assert_eq!(server.hits(), 5);
    assert_eq!(open, 19);
    assert_eq!(circuit(&c, &server), (Circuit::Open, 5));
    let m = metrics(&c);
    let host = server.host();
    assert_eq!(
        sample(&m, &format!("outbound_retries_total{{host=\"{host}\"}}")),
        3.0
    );
    assert_eq!(
        sample(
            &m,
            &format!("outbound_requests_total{{host=\"{host}\",outcome=\"circuit_open\"}}")
        ),
        19.0
    );
    assert_eq!(
        sample(&m, &format!("outbound_circuit_state{{host=\"{host}\"}}")),
        2.0
    );

    // The same for a host that refuses connections, with calls that are retried on connect
    // failures only.
    let url = refused_url("/");
    for _ in 0..20 {
        let _ = c.post(&url).send().await;
    }
    let host = url.trim_end_matches('/');
    assert_eq!(
        sample(
            &metrics(&c),
            &format!("outbound_requests_total{{host=\"{host}\",outcome=\"connect\"}}")
        ),
        5.0
    );
}

#[tokio::test]
async fn after_the_cool_down_exactly_one_trial_goes_through() {
    let server = Server::start(|_, _| status(503)).await;
    let c = client(Settings {
        breaker_threshold: 2,
        breaker_cool_down: Duration::from_millis(250),
        ..settings()
    });
    let e = c.get(&server.url("/")).send().await.unwrap_err();
    assert!(matches!(e, Error::CircuitOpen { .. }), "{e}");
    assert_eq!(server.hits(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let results = join_all((0..5).map(|_| c.get(&server.url("/")).send())).await;
    assert_eq!(server.hits(), 3, "one trial, not five");
    for r in results {
        // The trial failed and reopened the circuit, which stopped its retries too.
        assert!(matches!(r, Err(Error::CircuitOpen { .. })), "{r:?}");
    }
    assert_eq!(circuit(&c, &server).0, Circuit::Open);
}

#[tokio::test]
async fn a_recovered_host_closes_the_circuit_through_its_trial() {
    let server = Server::start(|n, _| if n < 2 { status(500) } else { status(200) }).await;
    let c = client(Settings {
        max_attempts: 1,
        breaker_threshold: 2,
        breaker_cool_down: Duration::from_millis(200),
        ..settings()
    });
    for _ in 0..2 {
        assert_eq!(c.get(&server.url("/")).send().await.unwrap().status(), 500);
    }
    assert_eq!(circuit(&c, &server).0, Circuit::Open);
    let e = c.get(&server.url("/")).send().await.unwrap_err();
    assert!(matches!(e, Error::CircuitOpen { .. }), "{e}");
    assert_eq!(server.hits(), 2);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(c.get(&server.url("/")).send().await.unwrap().status(), 200);
    assert_eq!(circuit(&c, &server), (Circuit::Closed, 0));
    assert_eq!(c.get(&server.url("/")).send().await.unwrap().status(), 200);
    assert_eq!(server.hits(), 4);
}

#[tokio::test]
async fn probes_pass_an_open_circuit_and_a_successful_one_closes_it() {
    let server = Server::start(|n, _| if n < 2 { status(503) } else { status(302) }).await;
    let c = client(Settings {
        max_attempts: 1,
        breaker_threshold: 2,
        breaker_cool_down: Duration::from_secs(30),
        ..settings()
    });
    for _ in 0..2 {
        let _ = c.get(&server.url("/")).send().await;
    }
    assert!(matches!(
        c.get(&server.url("/")).send().await,
        Err(Error::CircuitOpen { .. })
    ));
    let p = c
        .probe(&server.url("/health"), Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(p.status, 302);
    assert!(p.up(), "a redirect is a live host");
    assert_eq!(server.hits(), 3);
    assert_eq!(circuit(&c, &server), (Circuit::Closed, 0));
    assert_eq!(c.get(&server.url("/")).send().await.unwrap().status(), 302);

    // A failing probe reports the status and keeps the circuit open.
    let failing = Server::start(|_, _| status(503)).await;
    let c = client(Settings {
        max_attempts: 1,
        breaker_threshold: 1,
        breaker_cool_down: Duration::from_secs(30),
        ..settings()
    });
    let _ = c.get(&failing.url("/")).send().await;
    let p = c
        .probe(&failing.url("/"), Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(p.status, 503);
    assert!(!p.up());
    assert_eq!(circuit(&c, &failing), (Circuit::Open, 2));
    // A probe does not retry, and reports a refused connection as an error.
    let e = c
        .probe(&refused_url("/"), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e}");
    let hanging = Server::start(|_, _| Reply::Hang).await;
    let e = c
        .probe(&hanging.url("/"), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert_eq!(hanging.hits(), 1);
}

#[tokio::test]
async fn the_concurrency_cap_holds_and_the_rest_are_saturated() {
    let server = Server::start(|_, _| Reply::Hang).await;
    let c = client(Settings {
        max_attempts: 1,
        max_concurrency_per_host: 2,
        ..settings()
    });
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let c = c.clone();
            let url = server.url("/");
            tokio::spawn(
                async move { c.get(&url).timeout(Duration::from_millis(800)).send().await },
            )
        })
        .collect();
    for _ in 0..200 {
        if server.in_flight() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.in_flight(), 2);
    assert_eq!(c.hosts()[0].in_flight, 2);
    let started = Instant::now();
    let rest = join_all((0..4).map(|_| {
        c.get(&server.url("/"))
            .timeout(Duration::from_millis(150))
            .send()
    }))
    .await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    for r in rest {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Saturated { limit: 2, .. }), "{e}");
        assert_eq!(e.fault(), Fault::Ours);
        assert!(e.retry_safe(), "nothing was sent");
    }
    for t in slow {
        assert!(matches!(t.await.unwrap(), Err(Error::Timeout { .. })));
    }
    assert_eq!(server.max_in_flight(), 2);
    assert_eq!(server.hits(), 2);
    assert_eq!(c.hosts()[0].in_flight, 0);
    // Saturation says nothing about the host's health.
    assert_eq!(circuit(&c, &server), (Circuit::Closed, 2));
}

#[tokio::test]
async fn request_ids_are_carried_inside_the_scope_only() {
    let server = Server::start(|_, head| {
        Reply::Answer(
            200,
            vec![],
            head.header("x-request-id")
                .unwrap_or("")
                .as_bytes()
                .to_vec(),
        )
    })
    .await;
    let c = client(settings());
    let inside = outbound::scope_request_id("req-42".into(), async {
        let plain = c.get(&server.url("/")).send().await.unwrap().text();
        let own = c
            .get(&server.url("/"))
            .header("x-request-id", "mine")
            .send()
            .await
            .unwrap()
            .text();
        let bridged = c
            .execute(
                http::Request::get(server.url("/")).body(vec![]).unwrap(),
                Retry::Safe,
                None,
            )
            .await
            .unwrap();
        (plain, own, String::from_utf8(bridged.into_body()).unwrap())
    })
    .await;
    assert_eq!(inside, ("req-42".into(), "mine".into(), "req-42".into()));
    let outside = c.get(&server.url("/")).send().await.unwrap().text();
    assert_eq!(outside, "");
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let server = Server::start(|_, head| {
        if head.target == "/elsewhere" {
            status(200)
        } else {
            Reply::Answer(302, vec![("location", "/elsewhere".into())], vec![])
        }
    })
    .await;
    let res = client(settings())
        .get(&server.url("/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/elsewhere");
    assert_eq!(server.hits(), 1);
    assert!(res.error_for_status().is_ok(), "3xx is not an error");

    let missing = Server::start(|_, _| status(404)).await;
    let e = client(settings())
        .get(&missing.url("/nope"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap_err();
    assert!(matches!(e, Error::Status { status: 404, .. }), "{e}");
    assert_eq!(e.fault(), Fault::Ours);
    assert!(!e.retry_safe());
    assert_eq!(missing.hits(), 1, "a 404 is not retried");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = Server::start(|_, head| match head.target.as_str() {
        "/announced" => Reply::Answer(200, vec![], vec![b'x'; 2000]),
        "/streamed" => Reply::Unsized(2000),
        _ => Reply::Answer(200, vec![], vec![b'x'; 1024]),
    })
    .await;
    let c = client(Settings {
        max_response_bytes: 1024,
        ..settings()
    });
    for path in ["/announced", "/streamed"] {
        let e = c.get(&server.url(path)).send().await.unwrap_err();
        assert!(
            matches!(e, Error::ResponseTooLarge { limit: 1024, .. }),
            "{path}: {e}"
        );
        assert!(!e.retry_safe());
        assert_eq!(e.fault(), Fault::Theirs);
    }
    assert_eq!(server.hits(), 2, "not retried");
    let res = c.get(&server.url("/exact")).send().await.unwrap();
    assert_eq!(res.bytes().len(), 1024);
    // The host answered: its circuit is not affected.
    assert_eq!(circuit(&c, &server), (Circuit::Closed, 0));
}

#[tokio::test]
async fn errors_never_show_a_path_or_query() {
    let c = client(Settings {
        max_attempts: 1,
        ..settings()
    });
    let hanging = Server::start(|_, _| Reply::Hang).await;
    let refused = refused_url("/cas/validate?ticket=SECRET");
    let errors = [
        c.get(&refused).send().await.unwrap_err(),
        c.get(&hanging.url("/cas/validate?ticket=SECRET"))
            .timeout(Duration::from_millis(100))
            .send()
            .await
            .unwrap_err(),
        c.get("http://[::1/cas?ticket=SECRET")
            .send()
            .await
            .unwrap_err(),
        c.post(&hanging.url("/p"))
            .header("x-bad\n", "SECRET")
            .send()
            .await
            .unwrap_err(),
    ];
    for e in &errors {
        let mut text = format!("{e} {e:?}");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(" {s} {s:?}"));
            source = s.source();
        }
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains("/cas"), "{text}");
    }
    assert!(
        errors[0]
            .to_string()
            .starts_with(&format!("upstream {} could not be reached", {
                errors[0].host().unwrap()
            }))
    );
    assert!(matches!(errors[2], Error::InvalidRequest { .. }));
    assert_eq!(errors[2].fault(), Fault::Ours);
    assert!(!errors[2].retry_safe());
    assert!(matches!(errors[3], Error::InvalidRequest { .. }));
}

#[tokio::test]
async fn requests_carry_what_the_builder_was_given() {
    let server = Server::start(|_, head| {
        let seen = format!(
            "{} {} {} {} {}",
            head.method,
            head.target,
            head.header("content-type").unwrap_or("-"),
            head.header("authorization").unwrap_or("-"),
            String::from_utf8_lossy(&head.body)
        );
        Reply::Answer(200, vec![], seen.into_bytes())
    })
    .await;
    let c = client(settings());
    let form = c
        .post(&server.url("/f?a=1"))
        .query(&[("b", "2 3")])
        .basic_auth("hub", Some("pw"))
        .form(&[("POSTPARAM_JSON", "{\"k\":1}")])
        .send()
        .await
        .unwrap()
        .text();
    assert_eq!(
        form,
        "POST /f?a=1&b=2+3 application/x-www-form-urlencoded Basic aHViOnB3 POSTPARAM_JSON=%7B%22k%22%3A1%7D"
    );
    let json = c
        .post(&server.url("/j"))
        .bearer_auth("tok")
        .json(&serde_json::json!({"a": 1}))
        .send()
        .await
        .unwrap()
        .text();
    assert_eq!(json, "POST /j application/json Bearer tok {\"a\":1}");
    let user_agent = Server::start(|_, head| {
        Reply::Answer(
            201,
            vec![],
            head.header("user-agent").unwrap_or("").as_bytes().to_vec(),
        )
    })
    .await;
    let res = c
        .execute(
            http::Request::post(user_agent.url("/"))
                .body(b"x".to_vec())
                .unwrap(),
            Retry::Unsafe,
            Some(Duration::from_millis(300)),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert!(res.body().starts_with(b"longyan-hub/"));
}

#[tokio::test]
async fn metrics_name_each_host() {
    let server = Server::start(|n, _| if n == 0 { status(503) } else { status(200) }).await;
    let c = client(settings());
    c.get(&server.url("/")).send().await.unwrap();
    let m = metrics(&c);
    let host = server.host();
    for (series, value) in [
        (
            format!("outbound_requests_total{{host=\"{host}\",outcome=\"success\"}}"),
            1.0,
        ),
        (
            format!("outbound_requests_total{{host=\"{host}\",outcome=\"http_5xx\"}}"),
            1.0,
        ),
        (format!("outbound_retries_total{{host=\"{host}\"}}"), 1.0),
        (
            format!("outbound_request_duration_seconds_count{{host=\"{host}\"}}"),
            2.0,
        ),
        (format!("outbound_circuit_state{{host=\"{host}\"}}"), 0.0),
        (format!("outbound_in_flight{{host=\"{host}\"}}"), 0.0),
    ] {
        assert!(m.contains(&series), "{series} missing from\n{m}");
        assert_eq!(sample(&m, &series), value, "{series}");
    }
    assert!(!m.contains("/\""), "no paths in labels");
}

#[test]
fn settings_are_checked() {
    let e = Client::new(Settings {
        max_concurrency_per_host: 0,
        ..Settings::default()
    })
    .unwrap_err();
    assert!(matches!(e, Error::Setup { .. }), "{e}");
    let d = Settings::default();
    assert_eq!(
        (d.timeout, d.max_attempts, d.breaker_threshold),
        (Duration::from_secs(10), 3, 5)
    );
    assert!(d.user_agent.starts_with("longyan-hub/"));
}
