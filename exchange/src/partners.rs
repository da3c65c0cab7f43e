//! Partners added, changed and removed by system administrators. They live in the store (their
//! secrets SM4-GCM-encrypted), are checked by the same builder as the configuration file's
//! partners, and join them in the node's view; every node reloads the view periodically. The
//! file's partners are read-only here: the file is their source of truth.

use std::sync::Arc;

use crate::config::{PartnerConfig, PartnerSettings, Source, build_partner};
use crate::error::ExchangeError;
use crate::service::Exchange;
use platform::audit::{Actor, AuditEvent, Outcome};
use platform::config::Secret;
use platform::context::RequestContext;
use platform::store::with_pool;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    definition: String,
    secrets_enc: Vec<u8>,
}

fn aad(id: &str) -> Vec<u8> {
    format!("exchange.partner:{id}").into_bytes()
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PartnerView {
    pub id: String,
    /// `file` (the configuration file: read-only here) or `store` (managed through this API).
    pub source: String,
    pub display_name: String,
    pub enabled: bool,
    /// `hmac-sha256`, `token` or `sm2` (credentials are never shown).
    pub auth: String,
    pub message_types: Vec<String>,
    /// The consumer's origin its messages are delivered to, or `internal:<name>`.
    pub deliver_to: Option<String>,
    /// SHA-256 fingerprints (hex) of the TLS client certificates it must present.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_certificates: Vec<String>,
    /// Whether its Base64-wrapped documents are opened with an SM4 key.
    pub payload_sm4: bool,
    /// `sm2` or `hmac-sha256` when its Base64-wrapped documents must be signed (`SIGN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_signature: Option<String>,
    /// Where the hub sends it messages, when it receives any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound: Option<OutboundView>,
    /// The shared secret or token generated at creation: shown this once, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_secret: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OutboundView {
    /// The partner endpoint's origin.
    pub url: String,
    pub message_types: Vec<String>,
    /// `hmac-sha256`, `token`, `gateway-token` or `none` (credentials are never shown).
    pub auth: String,
}

impl PartnerView {
    /// What administrators are shown of a partner: its settings, never a credential, and only
    /// the origins of the addresses it is reached at.
    pub fn of(p: &PartnerConfig, source: Source) -> PartnerView {
        PartnerView {
            id: p.id.clone(),
            source: source.as_str().to_owned(),
            generated_secret: None,
            display_name: p.display_name.clone(),
            enabled: p.enabled,
            auth: p.auth.kind().to_owned(),
            message_types: p.message_types.clone(),
            deliver_to: p
                .deliver_to
                .as_ref()
                .map(|u| crate::consumer::shown_target(u.as_str())),
            payload_sm4: p.payload_sm4,
            client_certificates: p.client_certificates.iter().map(hex::encode).collect(),
            payload_signature: p.payload_signature.clone(),
            outbound: p.outbound.as_ref().map(|o| OutboundView {
                url: o.url.origin().ascii_serialization(),
                message_types: o.message_types.clone(),
                auth: o.auth.kind().to_owned(),
            }),
        }
    }
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

    fn view(&self) -> Arc<crate::config::PartnerView> {
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
        let mut view: crate::config::PartnerView = self
            .file_partners
            .iter()
            .map(|(id, p)| (id.clone(), (p.clone(), Source::File)))
            .collect();
        for r in rows {
            match self.open_row(&r) {
                Ok(settings) => match build_partner(&r.id, &settings, &self.config.catalog) {
                    Ok(p) => {
                        view.entry(r.id.clone())
                            .or_insert((Arc::new(p), Source::Store));
                    }
                    Err(errors) => {
                        tracing::error!(partner = %r.id, problems = ?errors.iter().map(|(f, _)| *f).collect::<Vec<_>>(), "stored partner no longer valid (a mapping removed?); its messages are refused");
                    }
                },
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

    /// A stored partner: the settings in the clear, with the secrets decrypted into them.
    fn open_row(&self, r: &Row) -> Result<PartnerSettings, ExchangeError> {
        let corrupt = |e: serde_json::Error| ExchangeError::Corrupt(e.to_string());
        let settings: PartnerSettings = serde_json::from_str(&r.definition).map_err(corrupt)?;
        let plain = zeroize::Zeroizing::new(
            self.keys
                .data
                .decrypt(&r.secrets_enc, &aad(&r.id))
                .map_err(ExchangeError::Crypto)?,
        );
        let secrets: PartnerSettings = serde_json::from_slice(&plain).map_err(corrupt)?;
        Ok(settings.with_secrets_of(secrets))
    }

    /// The stored partner, and its encrypted secrets as stored (a compare-and-set token: every
    /// write encrypts with a fresh nonce).
    async fn stored(&self, id: &str) -> Result<Option<(PartnerSettings, Vec<u8>)>, ExchangeError> {
        let row: Option<Row> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(
                "SELECT id, definition, secrets_enc FROM exchange_partners WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await
        })?;
        row.map(|r| self.open_row(&r).map(|settings| (settings, r.secrets_enc)))
            .transpose()
    }

    /// Adds a partner. Returns it and the secret or token generated for it (shown once).
    pub async fn create_partner(
        &self,
        id: &str,
        change: PartnerSettings,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<(Arc<PartnerConfig>, Option<String>), ExchangeError> {
        if self.file_partners.contains_key(id) {
            return Err(ExchangeError::PartnerReadOnly(id.to_owned()));
        }
        let mut stored = PartnerSettings::default();
        let mut change = change;
        let generated = match change.auth.as_deref() {
            Some("hmac-sha256") if change.secret.is_none() => {
                let s = random_secret("")?;
                change.secret = Some(Secret::new(s.clone()));
                Some(s)
            }
            Some("token") if change.token.is_none() => {
                let t = random_secret("hubp_")?;
                change.token = Some(Secret::new(t.clone()));
                Some(t)
            }
            _ => None,
        };
        apply(&mut stored, change);
        let partner = self.check(id, &stored)?;
        let now = self.clock.now().0;
        let definition =
            serde_json::to_string(&stored).map_err(|e| ExchangeError::Corrupt(e.to_string()))?;
        let enc = self.seal(id, &stored)?;
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
        change: PartnerSettings,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<Arc<PartnerConfig>, ExchangeError> {
        if self.file_partners.contains_key(id) {
            return Err(ExchangeError::PartnerReadOnly(id.to_owned()));
        }
        let secrets_changed = change.secrets_given();
        // Read, change, write only if nobody wrote in between (else read again): two
        // administrators changing one partner at once both take effect.
        let mut tries = 0;
        let (before, after, partner) = loop {
            tries += 1;
            let Some((before, seen)) = self.stored(id).await? else {
                return Err(ExchangeError::PartnerNotFound(id.to_owned()));
            };
            let mut after = before.clone();
            apply(&mut after, change.clone());
            let partner = self.check(id, &after)?;
            let definition =
                serde_json::to_string(&after).map_err(|e| ExchangeError::Corrupt(e.to_string()))?;
            let enc = self.seal(id, &after)?;
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
        let Some((before, _)) = self.stored(id).await? else {
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

    /// Checks a partner as the file's are checked, and that an in-process consumer it names is
    /// registered in this process.
    fn check(&self, id: &str, settings: &PartnerSettings) -> Result<PartnerConfig, ExchangeError> {
        let p = build_partner(id, settings, &self.config.catalog).map_err(|errors| {
            ExchangeError::PartnerInvalid(
                errors.into_iter().map(|(f, m)| (f.to_owned(), m)).collect(),
            )
        })?;
        if let Some(name) = p
            .deliver_to
            .as_ref()
            .and_then(|u| crate::consumer::internal_name(u.as_str()))
            && self.consumers.get(name).is_none()
        {
            return Err(ExchangeError::PartnerInvalid(vec![(
                "deliver_to".to_owned(),
                format!(
                    "no in-process consumer is named `{name}` (registered: {})",
                    self.consumers.names().join(", ")
                ),
            )]));
        }
        Ok(p)
    }

    /// The secrets of `settings`, encrypted for the store.
    fn seal(&self, id: &str, settings: &PartnerSettings) -> Result<Vec<u8>, ExchangeError> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&settings.secrets_json())
                .map_err(|e| ExchangeError::Corrupt(e.to_string()))?,
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
        before: Option<&PartnerSettings>,
        after: Option<&PartnerSettings>,
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

/// Applies `change`: given fields replace; an empty string removes an optional setting (the
/// consumer, the SM4 key, the signature scheme and key, the outbound settings), an empty list
/// empties a list. Removing the outbound endpoint removes every outbound setting with it.
fn apply(stored: &mut PartnerSettings, change: PartnerSettings) {
    fn text(to: &mut Option<String>, v: Option<String>) {
        if let Some(v) = v {
            *to = (!v.trim().is_empty()).then_some(v);
        }
    }
    fn secret(to: &mut Option<Secret>, v: Option<Secret>) {
        if let Some(v) = v {
            *to = (!v.expose().trim().is_empty()).then_some(v);
        }
    }
    fn keep_or<T>(to: &mut Option<T>, v: Option<T>) {
        if v.is_some() {
            *to = v;
        }
    }
    keep_or(&mut stored.display_name, change.display_name);
    keep_or(&mut stored.enabled, change.enabled);
    keep_or(&mut stored.auth, change.auth);
    keep_or(&mut stored.access_key, change.access_key);
    keep_or(&mut stored.public_key, change.public_key);
    keep_or(&mut stored.message_types, change.message_types);
    keep_or(&mut stored.payload_sm4_mode, change.payload_sm4_mode);
    keep_or(&mut stored.client_certificates, change.client_certificates);
    keep_or(
        &mut stored.outbound_message_types,
        change.outbound_message_types,
    );
    keep_or(&mut stored.secret, change.secret);
    keep_or(&mut stored.token, change.token);
    text(&mut stored.deliver_to, change.deliver_to);
    text(&mut stored.payload_signature, change.payload_signature);
    text(&mut stored.outbound_auth, change.outbound_auth);
    text(&mut stored.outbound_access_key, change.outbound_access_key);
    text(&mut stored.outbound_token_url, change.outbound_token_url);
    secret(&mut stored.payload_sm4_key, change.payload_sm4_key);
    secret(&mut stored.payload_signing_key, change.payload_signing_key);
    secret(&mut stored.outbound_secret, change.outbound_secret);
    secret(&mut stored.outbound_token, change.outbound_token);
    if let Some(v) = change.outbound_url {
        stored.outbound_url = (!v.trim().is_empty()).then_some(v);
        if stored.outbound_url.is_none() {
            // No endpoint: nothing outbound is left to check or keep.
            stored.outbound_message_types = None;
            stored.outbound_auth = None;
            stored.outbound_access_key = None;
            stored.outbound_token_url = None;
            stored.outbound_secret = None;
            stored.outbound_token = None;
        }
    }
}
