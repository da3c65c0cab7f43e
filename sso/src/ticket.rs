//! The back-channel ticket exchange of the provincial platform (PROTOCOLS.md §1), also used by
//! e-Longyan's ticket relay: `POST invokeservice.do` with one form field holding a JSON request,
//! service `103` (ticket → user id and token), then `033` (user id and token → profile).
//! Failures often arrive as HTTP 200 with `"success": false`.

use std::time::Duration;

use outbound::Retry;
use serde_json::{Value, json};

use crate::{Error, Secret};

/// How to reach and speak to a ticket back channel. Names are configurable because the real
/// platforms' interface documents are not public.
#[derive(Clone, Debug)]
pub struct TicketExchange {
    pub provider: String,
    pub url: url::Url,
    pub caller_code: Secret,
    pub timeout: Duration,
    pub form_field: String,
    pub ticket_service: String,
    pub profile_service: String,
}

impl TicketExchange {
    pub fn new(provider: &str, url: url::Url, caller_code: Secret, timeout: Duration) -> Self {
        TicketExchange {
            provider: provider.to_owned(),
            url,
            caller_code,
            timeout,
            form_field: "POSTPARAM_JSON".into(),
            ticket_service: "103".into(),
            profile_service: "033".into(),
        }
    }

    /// Exchanges a trust ticket for the user's profile (the `data` object of `033`).
    ///
    /// `103` trades the single-use ticket: the platform consumes it on the first attempt that
    /// reaches it, whatever the outcome, so it is never sent twice (`Retry::Unsafe`: retried
    /// only if no connection could be opened). `033` only reads the profile with the user id
    /// and token that `103` returned; the token stays valid for further calls (PROTOCOLS.md §1,
    /// and the sandbox's `profile` accepts it again), so it is `Retry::Safe` and a transient
    /// failure there does not waste the user's sign-in.
    pub async fn profile(&self, http: &outbound::Client, ticket: &str) -> Result<Value, Error> {
        let answer = self
            .call(
                http,
                Retry::Unsafe,
                json!({
                    "INVOKESERVICE_CODE": self.ticket_service,
                    "INVOKECALLER_CODE": self.caller_code.expose(),
                    "TRUST_TICKET": ticket,
                }),
            )
            .await?;
        let data = match answer {
            Answer::Ok(data) => data,
            // The platform does not say whether a ticket was unknown, used or expired.
            Answer::Refused(message) => return Err(Error::TicketInvalid { message }),
        };
        let user_id = data.get("USER_ID").cloned().unwrap_or(Value::Null);
        let token = data.get("USER_TOKEN").cloned().unwrap_or(Value::Null);
        if !user_id.is_string() || !token.is_string() {
            return Err(self.malformed("103 answer without USER_ID and USER_TOKEN"));
        }
        match self
            .call(
                http,
                Retry::Safe,
                json!({
                    "INVOKESERVICE_CODE": self.profile_service,
                    "INVOKECALLER_CODE": self.caller_code.expose(),
                    "USER_ID": user_id,
                    "USER_TOKEN": token,
                }),
            )
            .await?
        {
            Answer::Ok(profile) if profile.is_object() => Ok(profile),
            Answer::Ok(_) => Err(self.malformed("033 answer without a profile object")),
            Answer::Refused(message) => Err(Error::ProviderRefused {
                provider: self.provider.clone(),
                message,
            }),
        }
    }

    async fn call(
        &self,
        http: &outbound::Client,
        retry: Retry,
        request: Value,
    ) -> Result<Answer, Error> {
        let res = http
            .post(self.url.as_str())
            .timeout(self.timeout)
            .retry(retry)
            .form(&[(self.form_field.as_str(), request.to_string())])
            .send()
            .await
            .and_then(crate::http::server_error)
            .map_err(|e| Error::ProviderUnavailable {
                provider: self.provider.clone(),
                source: Box::new(e),
            })?;
        let body: Value = res
            .json()
            .map_err(|_| self.malformed("the answer is not JSON"))?;
        match body.get("success") {
            Some(Value::Bool(true)) => {
                Ok(Answer::Ok(body.get("data").cloned().unwrap_or(Value::Null)))
            }
            Some(Value::String(s)) if s == "true" => {
                Ok(Answer::Ok(body.get("data").cloned().unwrap_or(Value::Null)))
            }
            Some(_) => Ok(Answer::Refused(
                body.get("msg")
                    .and_then(Value::as_str)
                    .unwrap_or("refused without a message")
                    .chars()
                    .take(200)
                    .collect(),
            )),
            None => Err(self.malformed("the answer has no `success` field")),
        }
    }

    fn malformed(&self, what: &str) -> Error {
        Error::ProviderRefused {
            provider: self.provider.clone(),
            message: format!("malformed back-channel answer: {what}"),
        }
    }
}

enum Answer {
    Ok(Value),
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::loopback;

    /// The service code of a back-channel request body.
    fn service(body: &str) -> String {
        let json = url::form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == "POSTPARAM_JSON")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let v: Value = serde_json::from_str(&json).unwrap();
        v["INVOKESERVICE_CODE"].as_str().unwrap().to_owned()
    }

    fn exchange(url: &str) -> TicketExchange {
        TicketExchange::new(
            "fujian",
            url::Url::parse(url).unwrap(),
            Secret::new("c0ffee"),
            Duration::from_secs(2),
        )
    }

    #[tokio::test]
    async fn the_profile_read_is_retried_but_the_ticket_is_sent_once() {
        let server = loopback::serve(|n, body| match (n, service(body).as_str()) {
            (_, "103") => (
                200,
                r#"{"success":true,"data":{"USER_ID":"u1","USER_TOKEN":"t1"}}"#.into(),
            ),
            (1, "033") => (503, String::new()),
            (_, "033") => (
                200,
                r#"{"success":true,"data":{"USER_ID":"u1","USER_NAME":"x"}}"#.into(),
            ),
            _ => (400, String::new()),
        })
        .await;
        let profile = exchange(&server.url)
            .profile(&loopback::client(), "ST-1")
            .await
            .unwrap();
        assert_eq!(profile["USER_NAME"], "x");
        let calls: Vec<String> = server
            .bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| service(b))
            .collect();
        assert_eq!(calls, ["103", "033", "033"]);
    }

    #[tokio::test]
    async fn a_failing_ticket_exchange_is_not_repeated() {
        let server = loopback::serve(|_, _| (503, String::new())).await;
        let e = exchange(&server.url)
            .profile(&loopback::client(), "ST-1")
            .await
            .unwrap_err();
        let upstream = e.outbound().unwrap();
        assert!(
            matches!(upstream, outbound::Error::Status { status: 503, .. }),
            "{upstream}"
        );
        assert!(!telemetry::chain(&e).contains("ST-1"));
        assert_eq!(
            server.bodies.lock().unwrap().len(),
            1,
            "the ticket is single-use"
        );
    }
}
