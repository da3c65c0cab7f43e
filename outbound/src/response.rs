//! A response read to the end (within the size limit) before the call returns, so that a slow
//! body is covered by the attempt's timeout and its connection is released at once.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::Error;

/// A fully buffered response, whatever its status.
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) host: String,
    pub(crate) idempotent: bool,
}

impl fmt::Debug for Response {
    // Bodies and headers may hold tokens: only their size is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("host", &self.host)
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The host (`scheme://host:port`) that answered.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text; invalid UTF-8 is replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The response if its status is below 400, otherwise `Error::Status`.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.status.is_client_error() || self.status.is_server_error() {
            return Err(Error::Status {
                host: self.host,
                status: self.status.as_u16(),
                idempotent: self.idempotent,
            });
        }
        Ok(self)
    }
}

/// The result of a health probe: the host answered `status` after `latency` (to the response
/// head; the body is not read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Probe {
    pub status: u16,
    pub latency: Duration,
}

impl Probe {
    /// Whether the host counts as up: any status below 500 (a login page's 302 or a 403 to
    /// robots still shows a live host).
    pub fn up(&self) -> bool {
        self.status < 500
    }
}
