//! The back-channel ticket exchange of the provincial platform (PROTOCOLS.md §1), also used by
//! e-Longyan's ticket relay: `POST invokeservice.do` with one form field holding a JSON request,
//! service `103` (ticket → user id and token), then `033` (user id and token → profile).
//! Failures often arrive as HTTP 200 with `"success": false`.

use std::time::Duration;

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
    pub async fn profile(&self, http: &reqwest::Client, ticket: &str) -> Result<Value, Error> {
        let answer = self
            .call(
                http,
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

    async fn call(&self, http: &reqwest::Client, request: Value) -> Result<Answer, Error> {
        let unavailable =
            |source: Box<dyn std::error::Error + Send + Sync>| Error::ProviderUnavailable {
                provider: self.provider.clone(),
                source,
            };
        let res = http
            .post(self.url.clone())
            .timeout(self.timeout)
            .form(&[(self.form_field.as_str(), request.to_string())])
            .send()
            .await
            .map_err(|e| unavailable(Box::new(e.without_url())))?;
        let status = res.status();
        if status.is_server_error() {
            return Err(unavailable(format!("HTTP {status}").into()));
        }
        let body: Value = res
            .json()
            .await
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
