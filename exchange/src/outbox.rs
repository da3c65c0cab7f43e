//! Delivery of translated messages to their consumers: a durable outbox.
//!
//! A delivery row is committed with its message, so nothing acknowledged is forgotten. A node
//! claims due rows by setting a lease (`exchange.lease`) and counting the attempt in one
//! statement (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so nodes never claim the same row),
//! then POSTs the JSON with `Idempotency-Key: <receipt id>` (or, for `internal:<name>`, hands
//! it to the in-process consumer of that name with the receipt id). A 2xx answer (the
//! consumer's `Ok`) marks it delivered; a failure schedules the next attempt with exponential
//! backoff and jitter, until `exchange.max_attempts`, when the delivery is dead-lettered for an
//! administrator to replay.
//! If the process dies mid-delivery the lease runs out and the delivery is made again with the
//! same key: delivered exactly once to a consumer that honours the key.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};

use crate::error::ExchangeError;
use crate::message::aad;
use crate::send;
use crate::service::Exchange;
use platform::store::{Pool, with_pool};

/// Deliveries claimed per round.
const BATCH: i64 = 32;

#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    target: String,
    attempts: i64,
    partner: String,
    message_id: String,
    message_type: String,
    direction: String,
    translated_enc: Option<Vec<u8>>,
}

/// How one attempt ended.
enum Outcome {
    Delivered,
    /// Try again later (or dead-letter after the last attempt).
    Failed(String),
    /// The consumer refused the message itself (a 4xx other than 408/425/429): sending it
    /// again cannot help.
    Refused(String),
    /// Nothing was sent (the host's circuit is open or its calls are saturated): try later
    /// without counting an attempt.
    Deferred(String),
}

impl Exchange {
    /// Dead-letters deliveries that used every attempt without a result.
    async fn sweep_unsettled(&self, now: i64, max: i64) -> Result<(), ExchangeError> {
        with_pool!(self.db.write(), |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "UPDATE exchange_messages SET status = 'failed', updated_at = $1, error_code = 'exchange.delivery_failed', error_detail = 'no delivery attempt completed' \
                 WHERE id IN (SELECT message FROM exchange_outbox WHERE status = 'pending' AND attempts >= $2 AND lease_until IS NOT NULL AND lease_until < $1)",
            )
            .bind(now)
            .bind(max)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE exchange_outbox SET status = 'dead', lease_until = NULL, last_error = 'no delivery attempt completed (the delivering node stopped or hung each time)' \
                 WHERE status = 'pending' AND attempts >= $2 AND lease_until IS NOT NULL AND lease_until < $1",
            )
            .bind(now)
            .bind(max)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Claims due deliveries for this node: each gets a lease and one more attempt counted.
    async fn claim(&self) -> Result<Vec<Claimed>, ExchangeError> {
        let now = self.clock.now().0;
        let lease = now + i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX / 4);
        let max = i64::from(self.config.max_attempts);
        // A delivery whose attempts all ended without a result (the node died or hung each
        // time) is dead-lettered rather than claimed forever. Such deliveries are rare and the
        // sweep scans the pending ones: once a lease period is enough.
        let lease_ms = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX / 4);
        let last = self.last_sweep.load(std::sync::atomic::Ordering::Relaxed);
        if now - last >= lease_ms {
            self.last_sweep
                .store(now, std::sync::atomic::Ordering::Relaxed);
            self.sweep_unsettled(now, max).await?;
        }
        let pick = "SELECT id FROM exchange_outbox WHERE status = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until < $1) AND attempts < $4 ORDER BY next_at LIMIT $3";
        let sql = match self.db.write() {
            Pool::Postgres(_) => format!(
                "UPDATE exchange_outbox SET lease_until = $2, attempts = attempts + 1 WHERE id IN ({pick} FOR UPDATE SKIP LOCKED) RETURNING id"
            ),
            Pool::Sqlite(_) => format!(
                "UPDATE exchange_outbox SET lease_until = $2, attempts = attempts + 1 WHERE id IN ({pick}) RETURNING id"
            ),
        };
        let ids: Vec<String> = with_pool!(self.db.write(), |p| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                .bind(now)
                .bind(lease)
                .bind(BATCH)
                .bind(max)
                .fetch_all(p)
                .await
        })?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT o.id, o.target, o.attempts, m.partner, m.message_id, m.message_type, m.direction, m.translated_enc \
             FROM exchange_outbox o JOIN exchange_messages m ON m.id = o.message WHERE o.id IN ({})",
            placeholders.join(", ")
        );
        let claimed: Vec<Claimed> = with_pool!(self.db.read(), |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in &ids {
                q = q.bind(id);
            }
            q.fetch_all(p).await
        })?;
        Ok(claimed)
    }

    async fn attempt(&self, client: &outbound::Client, d: &Claimed) -> Outcome {
        let Some(body) = d
            .translated_enc
            .as_deref()
            .and_then(|enc| self.keys.data.decrypt(enc, &aad(&d.id, "translated")).ok())
        else {
            return Outcome::Refused("the stored translation cannot be decrypted".into());
        };
        if d.direction == "outbound" {
            return self.attempt_partner(client, d, body.to_vec()).await;
        }
        if let Some(name) = crate::consumer::internal_name(&d.target) {
            return self.attempt_internal(name, d, &body).await;
        }
        let sent = delivery(client, &d.target, d)
            .header("content-type", "application/json")
            .header("x-partner", d.partner.as_str())
            .body(body.to_vec())
            .send()
            .await;
        outcome_of(sent, "the consumer")
    }

    /// Hands a message to the in-process consumer `name` (`consumer.rs`): its refusal
    /// dead-letters the delivery with its reason, anything else it reports is tried again.
    async fn attempt_internal(&self, name: &str, d: &Claimed, json: &[u8]) -> Outcome {
        let Some(consumer) = self.consumers.get(name) else {
            // Not registered in this process (a node of another version, say): another attempt,
            // perhaps on another node, may find it.
            return Outcome::Failed(format!("no in-process consumer is named `{name}`"));
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
            return Outcome::Refused("the stored translation is not JSON".into());
        };
        let delivered = crate::consumer::Delivered {
            receipt_id: &d.id,
            partner: &d.partner,
            message_type: &d.message_type,
            message_id: &d.message_id,
            json: &value,
        };
        match consumer.apply(delivered).await {
            Ok(()) => Outcome::Delivered,
            Err(crate::consumer::ConsumerError::Retry(e)) => Outcome::Failed(e),
            Err(crate::consumer::ConsumerError::Refused(e)) => Outcome::Refused(e),
        }
    }

    /// Sends a message to a partner: its XML, signed as the partner requires.
    async fn attempt_partner(
        &self,
        client: &outbound::Client,
        d: &Claimed,
        xml: Vec<u8>,
    ) -> Outcome {
        // The partner's current settings: its endpoint and credentials may have changed since
        // the message was accepted, and current credentials only ever go to the current
        // endpoint.
        let Some(partner) = self.partner(&d.partner) else {
            return Outcome::Refused("the partner no longer exists".into());
        };
        if !partner.enabled {
            // Held while an operator has the partner disabled; no attempt is used up.
            return Outcome::Deferred("the partner is disabled".into());
        }
        let Some(out) = &partner.outbound else {
            return Outcome::Refused(
                "the partner no longer receives messages (no outbound_url)".into(),
            );
        };
        if !out.message_types.contains(&d.message_type) {
            return Outcome::Refused(format!(
                "the partner no longer receives {} messages",
                d.message_type
            ));
        }
        let url = &out.url;
        let envelope = self
            .config
            .catalog
            .for_message_type(&d.message_type)
            .map_or(mappings::Envelope::None, mappings::Mapping::envelope);
        let credentials = match self
            .outbound_credentials(client, &partner, &out.auth, url, &xml)
            .await
        {
            Ok(c) => c,
            Err(crate::gateway::CredentialsUnavailable { reason, deferrable }) => {
                return if deferrable {
                    Outcome::Deferred(reason)
                } else {
                    Outcome::Failed(reason)
                };
            }
        };
        let token = credentials
            .iter()
            .find(|(name, _)| *name == "authorization")
            .map(|(_, v)| v.clone());
        let mut req = delivery(client, url.as_str(), d)
            .header("content-type", send::xml_content_type(&xml, envelope));
        if envelope == mappings::Envelope::Soap11 {
            req = req.header("soapaction", "\"\"");
        }
        for (name, value) in credentials {
            req = req.header(name, value);
        }
        let sent = req.body(xml).send().await;
        if matches!(&sent, Ok(res) if res.status().as_u16() == 401)
            && let crate::config::OutboundAuth::GatewayToken { .. } = out.auth
        {
            // The gateway's token expired early or was revoked: the next attempt gets a new one
            // (unless another delivery already did).
            if let Some(refused) = token.as_deref().and_then(|t| t.strip_prefix("Basic ")) {
                self.drop_gateway_token(&partner.id, refused);
            }
            return Outcome::Failed("the partner refused the gateway token (HTTP 401)".into());
        }
        outcome_of(sent, "the partner")
    }

    /// Records how delivery attempts ended, all in one transaction (results that arrive
    /// together are written together: one commit instead of one per delivery).
    async fn settle(&self, results: &[(&Claimed, Outcome)]) -> Result<(), ExchangeError> {
        struct Settlement<'a> {
            d: &'a Claimed,
            outbox_status: &'static str,
            message_status: &'static str,
            error: Option<String>,
            next_at: i64,
            uncount: i64,
        }
        let now = self.clock.now().0;
        let mut plan: Vec<Settlement<'_>> = results
            .iter()
            .map(|(d, outcome)| {
                let attempts = u32::try_from(d.attempts).unwrap_or(u32::MAX);
                let (outbox_status, message_status, error, next_at) = match outcome {
                    Outcome::Delivered => ("delivered", "delivered", None, now),
                    Outcome::Refused(e) => ("dead", "failed", Some(e.as_str()), now),
                    Outcome::Failed(e) if attempts >= self.config.max_attempts => {
                        ("dead", "failed", Some(e.as_str()), now)
                    }
                    Outcome::Failed(e) | Outcome::Deferred(e) => (
                        "pending",
                        "accepted",
                        Some(e.as_str()),
                        now + self.backoff(attempts),
                    ),
                };
                Settlement {
                    d,
                    outbox_status,
                    message_status,
                    error: error.map(|e| e.chars().take(500).collect()),
                    next_at,
                    uncount: i64::from(matches!(outcome, Outcome::Deferred(_))),
                }
            })
            .collect();
        // Rows are locked in one order by every node, so that two batches cannot deadlock.
        plan.sort_by(|a, b| a.d.id.cmp(&b.d.id));
        // Fenced by each claim's attempt count: if the lease ran out and another node (or a
        // replay) took the delivery over, a late result changes nothing.
        let settled: Vec<bool> = with_pool!(self.db.write(), |p| {
            async {
                let mut tx = p.begin().await?;
                let mut settled = Vec::with_capacity(plan.len());
                for s in &plan {
                    let fenced = sqlx::query(
                        "UPDATE exchange_outbox SET status = $2, next_at = $3, lease_until = NULL, last_error = $4, attempts = attempts - $7, \
                         delivered_at = CASE WHEN $2 = 'delivered' THEN $5 ELSE delivered_at END \
                         WHERE id = $1 AND status = 'pending' AND attempts = $6",
                    )
                    .bind(&s.d.id)
                    .bind(s.outbox_status)
                    .bind(s.next_at)
                    .bind(s.error.as_deref())
                    .bind(now)
                    .bind(s.d.attempts)
                    .bind(s.uncount)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if fenced == 1 {
                        let failed = s.message_status == "failed";
                        sqlx::query(
                            "UPDATE exchange_messages SET status = $2, updated_at = $3, error_code = $4, error_detail = $5 WHERE id = $1",
                        )
                        .bind(&s.d.id)
                        .bind(s.message_status)
                        .bind(now)
                        .bind(failed.then_some("exchange.delivery_failed"))
                        .bind(if failed { s.error.as_deref() } else { None })
                        .execute(&mut *tx)
                        .await?;
                    }
                    settled.push(fenced == 1);
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(settled)
            }
            .await
        })?;
        for (s, settled) in plan.iter().zip(settled) {
            let d = s.d;
            if !settled {
                tracing::info!(delivery = %d.id, "a late delivery result was ignored: the delivery was taken over");
                continue;
            }
            let label = match s.outbox_status {
                "delivered" => "delivered",
                "dead" => "dead",
                _ => "retry",
            };
            self.metrics.delivery(&d.partner, label);
            let (shown, attempts) = (s.error.as_deref().unwrap_or(""), d.attempts);
            match label {
                "dead" => {
                    tracing::warn!(delivery = %d.id, partner = %d.partner, attempts, error = shown, "delivery dead-lettered")
                }
                "retry" => {
                    tracing::info!(delivery = %d.id, partner = %d.partner, attempts, error = shown, "delivery failed; will retry")
                }
                _ => tracing::debug!(delivery = %d.id, partner = %d.partner, attempts, "delivered"),
            }
        }
        Ok(())
    }

    /// The wait before attempt `attempts + 1`: `retry_base · 2^(attempts-1)`, at most
    /// `retry_max`, with full jitter in its upper half (so retries of many messages spread).
    fn backoff(&self, attempts: u32) -> i64 {
        let cap = self
            .config
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).min(31)))
            .min(self.config.retry_max);
        let ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX).max(1);
        let jitter = rand::random_range(0..=ms / 2);
        i64::try_from(ms / 2 + jitter).unwrap_or(i64::MAX)
    }

    /// One round: claims due deliveries and makes them concurrently. Returns how many it made.
    pub async fn deliver_due(&self, client: &outbound::Client) -> Result<usize, ExchangeError> {
        let claimed = self.claim().await?;
        let n = claimed.len();
        // One attempt ends well inside its lease, so that no other node takes it over while
        // it is still running.
        let bound = self.config.lease / 2;
        let mut attempts: futures_util::stream::FuturesUnordered<_> = claimed
            .iter()
            .map(|d| async move {
                let outcome = tokio::time::timeout(bound, self.attempt(client, d))
                    .await
                    .unwrap_or_else(|_| Outcome::Failed("no answer within half the lease".into()));
                (d, outcome)
            })
            .collect();
        // Results are recorded as they come, those that arrive together in one transaction.
        while let Some(first) = attempts.next().await {
            let mut ready = vec![first];
            while let Some(Some(more)) = attempts.next().now_or_never() {
                ready.push(more);
            }
            if ready.len() > 1 && self.settle(&ready).await.is_ok() {
                continue;
            }
            // One at a time (a batch that failed, say on a deadlock, must not take every
            // result with it): what cannot be recorded is made again after its lease.
            for one in &ready {
                if let Err(e) = self.settle(std::slice::from_ref(one)).await {
                    tracing::error!(delivery = %one.0.id, error = %telemetry::chain(&e), "cannot record a delivery attempt; it will be made again after its lease");
                }
            }
        }
        Ok(n)
    }

    /// Waits until a message arrives or the poll interval passes.
    async fn idle(&self) {
        let _ = tokio::time::timeout(self.config.poll_interval, self.wake.notified()).await;
    }
}

/// The POST of one delivery attempt to `url`, with what every receiver gets: the idempotency
/// key (the receipt id), the message id and type.
fn delivery(client: &outbound::Client, url: &str, d: &Claimed) -> outbound::RequestBuilder {
    client
        .post(url)
        .header("idempotency-key", d.id.as_str())
        .header("x-message-id", d.message_id.as_str())
        .header("x-message-type", d.message_type.as_str())
        // The outbox retries with its own backoff; the client only retries what was never
        // sent, so one attempt is one POST.
        .retry(outbound::Retry::Unsafe)
}

/// How an answer (or its absence) ends an attempt.
fn outcome_of(sent: Result<outbound::Response, outbound::Error>, who: &str) -> Outcome {
    match sent {
        Ok(res) if res.status().is_success() => Outcome::Delivered,
        Ok(res) => {
            let s = res.status().as_u16();
            if (400..500).contains(&s) && !matches!(s, 408 | 425 | 429) {
                Outcome::Refused(format!("{who} refused it: HTTP {s}"))
            } else {
                Outcome::Failed(format!("HTTP {s}"))
            }
        }
        Err(e @ (outbound::Error::CircuitOpen { .. } | outbound::Error::Saturated { .. })) => {
            Outcome::Deferred(e.to_string())
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The delivery worker of a node: runs until the process stops.
pub async fn run(exchange: Arc<Exchange>, client: outbound::Client) {
    loop {
        match exchange.deliver_due(&client).await {
            Ok(n) if n as i64 >= BATCH => continue,
            Ok(_) => exchange.idle().await,
            Err(e) => {
                tracing::warn!(error = %telemetry::chain(&e), "delivery round failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
