//! Partners added, changed and removed by system administrators. They live in the store (their
//! secrets SM4-GCM-encrypted), are checked by the same builder as the configuration file's
//! partners, and join them in the node's view; every node reloads the view periodically. The
//! file's partners are read-only here: the file is their source of truth.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{PartnerConfig, PartnerSpec, build_partner};
use crate::service::{Exchange, ExchangeError};
use platform::audit::{Actor, AuditEvent, Outcome};
use platform::config::Secret;
use platform::context::RequestContext;
use platform::store::with_pool;

/// What is stored in the clear: everything but the secrets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredPartner {
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    pub auth: Option<String>,
    pub access_key: Option<String>,
    /// SM2 public key (PEM or hex): not a secret.
    pub public_key: Option<String>,
    pub message_types: Vec<String>,
    pub deliver_to: Option<String>,
    pub payload_sm4_mode: Option<String>,
    #[serde(default)]
    pub payload_signature: Option<String>,
    /// SHA-256 fingerprints of its TLS client certificates.
    #[serde(default)]
    pub client_certificates: Vec<String>,
    /// The partner's endpoint for messages the hub sends it.
    #[serde(default)]
    pub outbound_url: Option<String>,
    #[serde(default)]
    pub outbound_message_types: Vec<String>,
    #[serde(default)]
    pub outbound_auth: Option<String>,
    #[serde(default)]
    pub outbound_access_key: Option<String>,
    #[serde(default)]
    pub outbound_token_url: Option<String>,
}

/// The secrets, stored encrypted.
#[derive(Clone, Default, Serialize, Deserialize)]
struct StoredSecrets {
    secret: Option<String>,
    token: Option<String>,
    payload_sm4_key: Option<String>,
    #[serde(default)]
    payload_signing_key: Option<String>,
    #[serde(default)]
    outbound_secret: Option<String>,
    #[serde(default)]
    outbound_token: Option<String>,
}

fn spec(p: &StoredPartner, s: &StoredSecrets) -> PartnerSpec {
    PartnerSpec {
        display_name: p.display_name.clone(),
        enabled: p.enabled,
        auth: p.auth.clone(),
        access_key: p.access_key.clone(),
        secret: s.secret.clone().map(Secret::new),
        token: s.token.clone().map(Secret::new),
        public_key: p.public_key.clone(),
        message_types: p.message_types.clone(),
        deliver_to: p.deliver_to.clone(),
        payload_sm4_key: s.payload_sm4_key.clone().map(Secret::new),
        payload_sm4_mode: p.payload_sm4_mode.clone(),
        payload_signature: p.payload_signature.clone(),
        client_certificates: p.client_certificates.clone(),
        payload_signing_key: s.payload_signing_key.clone().map(Secret::new),
        outbound_url: p.outbound_url.clone(),
        outbound_message_types: p.outbound_message_types.clone(),
        outbound_auth: p.outbound_auth.clone(),
        outbound_access_key: p.outbound_access_key.clone(),
        outbound_secret: s.outbound_secret.clone().map(Secret::new),
        outbound_token: s.outbound_token.clone().map(Secret::new),
        outbound_token_url: p.outbound_token_url.clone(),
    }
}

/// A partner's settings as an administrator sends them: every field optional on change;
/// secrets replaced only when given.
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerChange {
    /// Creation: lower-case letters, digits and single hyphens, the `{partner}` of
    /// `/exchange/{partner}/…`. Change: absent (or the same id).
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    /// `hmac-sha256`, `token` or `sm2`.
    pub auth: Option<String>,
    pub access_key: Option<String>,
    /// HMAC-SHA256 shared secret (≥ 16 bytes); generated and shown once when absent.
    pub secret: Option<String>,
    /// Bearer token (≥ 24 characters); generated and shown once when absent.
    pub token: Option<String>,
    pub public_key: Option<String>,
    pub message_types: Option<Vec<String>>,
    /// The consumer's URL; an empty string removes it.
    pub deliver_to: Option<String>,
    /// 32 hex digits; an empty string removes it.
    pub payload_sm4_key: Option<String>,
    /// `ecb` or `cbc`.
    pub payload_sm4_mode: Option<String>,
    /// `sm2` or `hmac-sha256`: its Base64-wrapped documents are signed; an empty string: not.
    pub payload_signature: Option<String>,
    /// `sm2`: the hub's SM2 private key (PEM or hex) for documents it sends; `hmac-sha256`: the
    /// shared key. Write-only; an empty string removes it.
    pub payload_signing_key: Option<String>,
    /// SHA-256 fingerprints (hex) of the TLS client certificates it must present (mutual TLS);
    /// an empty list: none required.
    pub client_certificates: Option<Vec<String>>,
    /// The partner's endpoint for messages the hub sends it (XML); an empty string removes it
    /// and the other outbound settings.
    pub outbound_url: Option<String>,
    pub outbound_message_types: Option<Vec<String>>,
    /// `hmac-sha256`, `token`, `gateway-token` or `none`.
    pub outbound_auth: Option<String>,
    /// `hmac-sha256`: the hub's access key; `gateway-token`: the app key.
    pub outbound_access_key: Option<String>,
    /// `hmac-sha256`: the shared secret; `gateway-token`: the app code. Write-only.
    pub outbound_secret: Option<String>,
    /// `token`: the bearer token the hub sends. Write-only.
    pub outbound_token: Option<String>,
    /// `gateway-token`: the gateway's get-token URL.
    pub outbound_token_url: Option<String>,
}

impl std::fmt::Debug for PartnerChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerChange")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// Where a partner is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    File,
    Store,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::Store => "store",
        }
    }
}

/// A node's partners by id, with where each is defined.
pub type PartnerView = HashMap<String, (Arc<PartnerConfig>, Source)>;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    definition: String,
    secrets_enc: Vec<u8>,
}

fn aad(id: &str) -> Vec<u8> {
    format!("exchange.partner:{id}").into_bytes()
}

fn random_secret(prefix: &str) -> Result<String, ExchangeError> {
    let bytes: [u8; 32] = guomi::random_bytes().map_err(ExchangeError::Crypto)?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

impl Exchange {
    /// The node's view: the file's partners and the stored ones.
    pub fn partner(&self, id: &str) -> Option<Arc<PartnerConfig>> {
        self.view().get(id).map(|(p, _)| p.clone())
    }

    /// Every partner with where it is defined, by id.
    pub fn partners(&self) -> Vec<(Arc<PartnerConfig>, Source)> {
        let mut v: Vec<_> = self.view().values().cloned().collect();
        v.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        v
    }

    fn view(&self) -> Arc<PartnerView> {
        match self.partners.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Rebuilds the view from the file's partners and the store. Reloads take turns, so a
    /// periodic reload that read the store before a change cannot publish its older view after
    /// the change's own reload.
    pub async fn reload_partners(&self) -> Result<(), ExchangeError> {
        let _turn = self.reload_turn.lock().await;
        let rows: Vec<Row> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT id, definition, secrets_enc FROM exchange_partners")
                .fetch_all(p)
                .await
        })?;
        let mut view: PartnerView = self
            .file_partners
            .iter()
            .map(|(id, p)| (id.clone(), (p.clone(), Source::File)))
            .collect();
        for r in rows {
            match self.open_row(&r) {
                Ok((stored, secrets)) => {
                    match build_partner(&r.id, &spec(&stored, &secrets), &self.config.catalog) {
                        Ok(p) => {
                            view.entry(r.id.clone())
                                .or_insert((Arc::new(p), Source::Store));
                        }
                        Err(errors) => {
                            tracing::error!(partner = %r.id, problems = ?errors.iter().map(|(f, _)| *f).collect::<Vec<_>>(), "stored partner no longer valid (a mapping removed?); its messages are refused");
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(partner = %r.id, error = %telemetry::chain(&e), "stored partner cannot be read");
                }
            }
        }
        let view = Arc::new(view);
        match self.partners.write() {
            Ok(mut g) => *g = view,
            Err(poisoned) => *poisoned.into_inner() = view,
        }
        Ok(())
    }

    fn open_row(&self, r: &Row) -> Result<(StoredPartner, StoredSecrets), ExchangeError> {
        let stored: StoredPartner = serde_json::from_str(&r.definition)
            .map_err(|e| ExchangeError::Corrupt(e.to_string()))?;
        let plain = self
            .keys
            .data
            .decrypt(&r.secrets_enc, &aad(&r.id))
            .map_err(ExchangeError::Crypto)?;
        let secrets: StoredSecrets =
            serde_json::from_slice(&plain).map_err(|e| ExchangeError::Corrupt(e.to_string()))?;
        Ok((stored, secrets))
    }

    /// The stored partner, and its encrypted secrets as stored (a compare-and-set token: every
    /// write encrypts with a fresh nonce).
    async fn stored(
        &self,
        id: &str,
    ) -> Result<Option<(StoredPartner, StoredSecrets, Vec<u8>)>, ExchangeError> {
        let row: Option<Row> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(
                "SELECT id, definition, secrets_enc FROM exchange_partners WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await
        })?;
        row.map(|r| {
            self.open_row(&r)
                .map(|(stored, secrets)| (stored, secrets, r.secrets_enc))
        })
        .transpose()
    }

    /// Adds a partner. Returns it and the secret or token generated for it (shown once).
    pub async fn create_partner(
        &self,
        id: &str,
        change: PartnerChange,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<(Arc<PartnerConfig>, Option<String>), ExchangeError> {
        if self.file_partners.contains_key(id) {
            return Err(ExchangeError::PartnerReadOnly(id.to_owned()));
        }
        let mut stored = StoredPartner::default();
        let mut secrets = StoredSecrets::default();
        let mut change = change;
        let generated = match change.auth.as_deref() {
            Some("hmac-sha256") if change.secret.is_none() => {
                let s = random_secret("")?;
                change.secret = Some(s.clone());
                Some(s)
            }
            Some("token") if change.token.is_none() => {
                let t = random_secret("hubp_")?;
                change.token = Some(t.clone());
                Some(t)
            }
            _ => None,
        };
        apply(&mut stored, &mut secrets, change);
        let partner = self.check(id, &stored, &secrets)?;
        let now = self.clock.now().0;
        let definition =
            serde_json::to_string(&stored).map_err(|e| ExchangeError::Corrupt(e.to_string()))?;
        let enc = self.seal(id, &secrets)?;
        let inserted = with_pool!(self.db.write(), |p| {
            sqlx::query(
                "INSERT INTO exchange_partners (id, definition, secrets_enc, created_at, updated_at, updated_by) VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(&definition)
            .bind(&enc)
            .bind(now)
            .bind(actor_ref(&actor))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        if inserted == 0 {
            return Err(ExchangeError::PartnerExists(id.to_owned()));
        }
        self.record(
            "exchange.partner_created",
            id,
            None,
            Some(&stored),
            &[],
            actor,
            ctx,
        )
        .await?;
        self.reload_partners().await?;
        Ok((Arc::new(partner), generated))
    }

    /// Changes a stored partner.
    pub async fn update_partner(
        &self,
        id: &str,
        change: PartnerChange,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<Arc<PartnerConfig>, ExchangeError> {
        if self.file_partners.contains_key(id) {
            return Err(ExchangeError::PartnerReadOnly(id.to_owned()));
        }
        let secrets_changed: Vec<&'static str> = [
            ("secret", change.secret.is_some()),
            ("token", change.token.is_some()),
            ("payload_sm4_key", change.payload_sm4_key.is_some()),
            ("payload_signing_key", change.payload_signing_key.is_some()),
            ("outbound_secret", change.outbound_secret.is_some()),
            ("outbound_token", change.outbound_token.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, changed)| changed.then_some(k))
        .collect();
        // Read, change, write only if nobody wrote in between (else read again): two
        // administrators changing one partner at once both take effect.
        let mut tries = 0;
        let (before, after, partner) = loop {
            tries += 1;
            let Some((before, mut secrets, seen)) = self.stored(id).await? else {
                return Err(ExchangeError::PartnerNotFound(id.to_owned()));
            };
            let mut after = before.clone();
            apply(&mut after, &mut secrets, change.clone());
            let partner = self.check(id, &after, &secrets)?;
            let definition =
                serde_json::to_string(&after).map_err(|e| ExchangeError::Corrupt(e.to_string()))?;
            let enc = self.seal(id, &secrets)?;
            let now = self.clock.now().0;
            let written = with_pool!(self.db.write(), |p| {
                sqlx::query(
                    "UPDATE exchange_partners SET definition = $2, secrets_enc = $3, updated_at = $4, updated_by = $5 WHERE id = $1 AND secrets_enc = $6",
                )
                .bind(id)
                .bind(&definition)
                .bind(&enc)
                .bind(now)
                .bind(actor_ref(&actor))
                .bind(&seen)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
            })?;
            if written == 1 {
                break (before, after, partner);
            }
            if tries >= 5 {
                // Five writers in a row beat this one: a transient condition, answered 503.
                return Err(ExchangeError::Store(
                    platform::store::StoreError::Unavailable(sqlx::Error::PoolTimedOut),
                ));
            }
        };
        self.record(
            "exchange.partner_updated",
            id,
            Some(&before),
            Some(&after),
            &secrets_changed,
            actor,
            ctx,
        )
        .await?;
        self.reload_after_change().await;
        Ok(Arc::new(partner))
    }

    /// Removes a stored partner; its messages stay in the log.
    pub async fn delete_partner(
        &self,
        id: &str,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<(), ExchangeError> {
        if self.file_partners.contains_key(id) {
            return Err(ExchangeError::PartnerReadOnly(id.to_owned()));
        }
        let Some((before, _, _)) = self.stored(id).await? else {
            return Err(ExchangeError::PartnerNotFound(id.to_owned()));
        };
        with_pool!(self.db.write(), |p| {
            sqlx::query("DELETE FROM exchange_partners WHERE id = $1")
                .bind(id)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        self.record(
            "exchange.partner_deleted",
            id,
            Some(&before),
            None,
            &[],
            actor,
            ctx,
        )
        .await?;
        self.reload_partners().await
    }

    /// Publishes a committed change on this node. A failure is logged, not returned: the
    /// change is made (and a generated secret must still reach the administrator); the
    /// periodic reload publishes it at the latest.
    async fn reload_after_change(&self) {
        if let Err(e) = self.reload_partners().await {
            tracing::error!(error = %telemetry::chain(&e), "cannot publish a partner change on this node yet; the periodic reload will");
        }
    }

    fn check(
        &self,
        id: &str,
        stored: &StoredPartner,
        secrets: &StoredSecrets,
    ) -> Result<PartnerConfig, ExchangeError> {
        build_partner(id, &spec(stored, secrets), &self.config.catalog).map_err(|errors| {
            ExchangeError::PartnerInvalid(
                errors.into_iter().map(|(f, m)| (f.to_owned(), m)).collect(),
            )
        })
    }

    fn seal(&self, id: &str, secrets: &StoredSecrets) -> Result<Vec<u8>, ExchangeError> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(secrets).map_err(|e| ExchangeError::Corrupt(e.to_string()))?,
        );
        self.keys
            .data
            .encrypt(&plain, &aad(id))
            .map_err(ExchangeError::Crypto)
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        event: &'static str,
        id: &str,
        before: Option<&StoredPartner>,
        after: Option<&StoredPartner>,
        secrets_changed: &[&'static str],
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<(), ExchangeError> {
        self.audit
            .append(
                AuditEvent::new(event, Outcome::Success)
                    .actor(actor)
                    .target(format!("partner:{id}"))
                    .details(serde_json::json!({
                        "before": before,
                        "after": after,
                        "secrets_changed": secrets_changed,
                    }))
                    .context(ctx),
            )
            .await?;
        Ok(())
    }
}

fn actor_ref(a: &Actor) -> String {
    match &a.id {
        Some(id) => format!("{}:{id}", a.kind.as_str()),
        None => a.kind.as_str().to_owned(),
    }
}

/// Applies `change`: given fields replace; an empty `deliver_to` or `payload_sm4_key` removes.
fn apply(stored: &mut StoredPartner, secrets: &mut StoredSecrets, change: PartnerChange) {
    let nonempty = |v: String| (!v.trim().is_empty()).then_some(v);
    if let Some(v) = change.display_name {
        stored.display_name = Some(v);
    }
    if let Some(v) = change.enabled {
        stored.enabled = Some(v);
    }
    if let Some(v) = change.auth {
        stored.auth = Some(v);
    }
    if let Some(v) = change.access_key {
        stored.access_key = Some(v);
    }
    if let Some(v) = change.public_key {
        stored.public_key = Some(v);
    }
    if let Some(v) = change.message_types {
        stored.message_types = v;
    }
    if let Some(v) = change.deliver_to {
        stored.deliver_to = nonempty(v);
    }
    if let Some(v) = change.payload_sm4_mode {
        stored.payload_sm4_mode = Some(v);
    }
    if let Some(v) = change.secret {
        secrets.secret = Some(v);
    }
    if let Some(v) = change.token {
        secrets.token = Some(v);
    }
    if let Some(v) = change.payload_sm4_key {
        secrets.payload_sm4_key = nonempty(v);
    }
    if let Some(v) = change.client_certificates {
        stored.client_certificates = v;
    }
    if let Some(v) = change.payload_signature {
        stored.payload_signature = nonempty(v);
    }
    if let Some(v) = change.payload_signing_key {
        secrets.payload_signing_key = nonempty(v);
    }
    if let Some(v) = change.outbound_message_types {
        stored.outbound_message_types = v;
    }
    if let Some(v) = change.outbound_auth {
        stored.outbound_auth = nonempty(v);
    }
    if let Some(v) = change.outbound_access_key {
        stored.outbound_access_key = nonempty(v);
    }
    if let Some(v) = change.outbound_token_url {
        stored.outbound_token_url = nonempty(v);
    }
    if let Some(v) = change.outbound_secret {
        secrets.outbound_secret = nonempty(v);
    }
    if let Some(v) = change.outbound_token {
        secrets.outbound_token = nonempty(v);
    }
    if let Some(v) = change.outbound_url {
        stored.outbound_url = nonempty(v);
        if stored.outbound_url.is_none() {
            // No endpoint: nothing outbound is left to check or keep.
            stored.outbound_message_types.clear();
            stored.outbound_auth = None;
            stored.outbound_access_key = None;
            stored.outbound_token_url = None;
            secrets.outbound_secret = None;
            secrets.outbound_token = None;
        }
    }
}
