//! The connector registry (REQUIREMENTS B1–B10, E1): definitions live in the store, seeded from
//! the shipped catalog on first start and changed by system administrators — validated,
//! versioned with history and one-step rollback, audited with the state before and after. Every
//! node serves jumps from an in-memory snapshot, rebuilt after its own changes and every
//! `connectors.refresh_interval` (changes and probes made by other nodes), so a jump reads no
//! table.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::definition::{Definition, FieldError, Refusal};
use crate::handoff::HandoffKey;
use crate::status::{Health, Status};
use guomi::Secret;

use crate::config::ConnectorsConfig;
use crate::metrics::ConnectorMetrics;
use platform::audit::{Actor, AuditError, AuditEvent, AuditLog, Outcome};
use platform::clock::{Clock, Millis};
use platform::context::RequestContext;
use platform::keys::Keys;
use platform::paging::{Page, Paged};
use platform::store::{Db, StoreError, begin_write, with_pool};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    #[error("no connector {0}")]
    NotFound(String),
    #[error("a connector {0} exists already")]
    Exists(String),
    #[error("the connector changed meanwhile: it is at version {current}, not {expected}")]
    VersionConflict { current: i64, expected: i64 },
    #[error("the definition is invalid: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("connector {0} has no earlier version to roll back to")]
    NothingToRollBack(String),
    #[error("the stored definition of {code} cannot be read")]
    Corrupt {
        code: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cryptographic failure")]
    Crypto(#[from] guomi::Error),
}

impl From<sqlx::Error> for ConnectorError {
    fn from(e: sqlx::Error) -> Self {
        ConnectorError::Store(StoreError::from(e))
    }
}

pub(crate) fn invalid(field: &str, en: impl Into<String>, zh: impl Into<String>) -> ConnectorError {
    ConnectorError::Invalid(vec![FieldError::new(field, Refusal::new(en, zh))])
}

/// One connector as a node serves it.
#[derive(Debug)]
pub struct Entry {
    pub definition: Definition,
    pub version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub updated_by: Option<String>,
    /// The signed hand-off key, decrypted.
    pub key: Option<Arc<HandoffKey>>,
    /// A key is stored but cannot be decrypted or used (another data key?): jumps that need it
    /// fail instead of going out unsigned.
    pub key_unusable: bool,
    pub health: Option<Health>,
}

impl Entry {
    pub fn status(&self, config: &ConnectorsConfig) -> Status {
        Status::of(&self.definition, &config.allowlist, self.health.as_ref())
    }
}

/// Every connector, in display order (position, then code).
#[derive(Debug, Default)]
pub struct Snapshot {
    pub entries: Vec<Arc<Entry>>,
    by_code: HashMap<String, usize>,
}

impl Snapshot {
    pub(crate) fn new(mut entries: Vec<Arc<Entry>>) -> Snapshot {
        entries.sort_by(|a, b| {
            (a.definition.position, &a.definition.code)
                .cmp(&(b.definition.position, &b.definition.code))
        });
        let by_code = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.definition.code.clone(), i))
            .collect();
        Snapshot { entries, by_code }
    }

    pub fn get(&self, code: &str) -> Option<&Arc<Entry>> {
        self.by_code.get(code).and_then(|i| self.entries.get(*i))
    }
}

/// What the change does to the signed hand-off key.
#[derive(Debug)]
enum KeyOutcome {
    Unchanged,
    Set,
    Generated,
    Removed,
}

impl KeyOutcome {
    fn as_str(&self) -> &'static str {
        match self {
            KeyOutcome::Unchanged => "unchanged",
            KeyOutcome::Set => "set",
            KeyOutcome::Generated => "generated",
            KeyOutcome::Removed => "removed",
        }
    }
}

/// The result of a create or update.
#[derive(Debug)]
pub struct Changed {
    pub entry: Arc<Entry>,
    /// A generated HMAC-SM3 secret, to show once: the partner needs it to verify hand-offs.
    pub generated_secret: Option<Secret>,
}

/// A version of a connector, as the history shows it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: i64,
    /// `seeded`, `created`, `updated`, `deleted` or `rolled_back`.
    pub action: String,
    /// The definition after the change (absent after a deletion).
    #[schema(value_type = Option<Object>)]
    pub definition: Option<serde_json::Value>,
    pub handoff_key_set: bool,
    pub changed_at: String,
    pub changed_by: Option<String>,
    pub request_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    code: String,
    definition: String,
    handoff_key_enc: Option<Vec<u8>>,
    version: i64,
    created_at: i64,
    updated_at: i64,
    updated_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
    action: String,
    definition: Option<String>,
    handoff_key_enc: Option<Vec<u8>>,
    changed_at: i64,
    changed_by: Option<String>,
    request_id: Option<String>,
}

/// A state change to write: the new definition and key (or none: deletion).
struct Write<'a> {
    code: &'a str,
    action: &'static str,
    after: Option<(&'a Definition, Option<Vec<u8>>)>,
    /// `None`: the connector must not exist; `Some(v)`: it must be at version `v`.
    expect: Option<i64>,
}

pub struct Connectors {
    pub(crate) db: Db,
    keys: Keys,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) audit: AuditLog,
    config: ConnectorsConfig,
    pub metrics: ConnectorMetrics,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connectors")
    }
}

fn actor_ref(a: &Actor) -> String {
    match &a.id {
        Some(id) => format!("{}:{id}", a.kind.as_str()),
        None => a.kind.as_str().to_owned(),
    }
}

/// A settled hand-off key: the encrypted key to store, what happened to it, and the secret to
/// show once when one was generated for an HMAC scheme.
struct SettledKey(Option<Vec<u8>>, KeyOutcome, Option<Secret>);

fn key_aad(code: &str) -> Vec<u8> {
    format!("connectors.handoff_key:{code}").into_bytes()
}

impl Connectors {
    pub fn new(
        db: Db,
        keys: Keys,
        clock: Arc<dyn Clock>,
        audit: AuditLog,
        config: ConnectorsConfig,
        metrics: ConnectorMetrics,
    ) -> Self {
        Connectors {
            db,
            keys,
            clock,
            audit,
            config,
            metrics,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
        }
    }

    pub fn config(&self) -> &ConnectorsConfig {
        &self.config
    }

    /// The node's current view of every connector.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn publish(&self, s: Snapshot) {
        for e in &s.entries {
            let up = match &e.health {
                None => -1,
                Some(h) if h.up => 1,
                Some(_) => 0,
            };
            self.metrics
                .connector_up(&e.definition.code, up, e.health.as_ref());
        }
        let s = Arc::new(s);
        match self.snapshot.write() {
            Ok(mut g) => *g = s,
            Err(poisoned) => *poisoned.into_inner() = s,
        }
    }

    /// Seeds the shipped catalog into an empty registry (a store that has never had a connector:
    /// deleting every connector does not bring the catalog back), then loads the snapshot.
    pub async fn start(&self) -> Result<(), ConnectorError> {
        let seeded = self.seed_if_new().await?;
        if seeded > 0 {
            self.audit
                .append(
                    AuditEvent::new("connector.seeded", Outcome::Success)
                        .actor(Actor::system())
                        .details(serde_json::json!({ "connectors": seeded })),
                )
                .await?;
        }
        self.reload().await
    }

    async fn seed_if_new(&self) -> Result<u64, ConnectorError> {
        let seed =
            crate::catalog::seed().map_err(|m| invalid("catalog", m, "内置的外部平台目录有误"))?;
        let now = self.clock.now().0;
        let mut inserted = 0;
        with_pool!(self.db.write(), |p, b| {
            let mut tx = begin_write!(p, b)?;
            let any: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM connector_versions")
                .fetch_one(&mut *tx)
                .await?;
            if any == 0 {
                for d in &seed {
                    let json = definition_json(d);
                    let done = sqlx::query(
                        "INSERT INTO connectors (code, definition, handoff_key_enc, version, created_at, updated_at, updated_by) VALUES ($1, $2, NULL, 1, $3, $3, 'system') ON CONFLICT (code) DO NOTHING",
                    )
                    .bind(&d.code)
                    .bind(&json)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if done == 1 {
                        sqlx::query(
                            "INSERT INTO connector_versions (code, version, action, definition, handoff_key_enc, changed_at, changed_by, request_id) VALUES ($1, 1, 'seeded', $2, NULL, $3, 'system', NULL) ON CONFLICT (code, version) DO NOTHING",
                        )
                        .bind(&d.code)
                        .bind(&json)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        inserted += 1;
                    }
                }
            }
            tx.commit().await?;
            Ok::<_, ConnectorError>(())
        })?;
        Ok(inserted)
    }

    /// Rebuilds the snapshot from the store: definitions, keys and the latest probe of each.
    pub async fn reload(&self) -> Result<(), ConnectorError> {
        let rows: Vec<Row> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(
                "SELECT code, definition, handoff_key_enc, version, created_at, updated_at, updated_by FROM connectors",
            )
            .fetch_all(p)
            .await
        })?;
        let mut latest = self.latest_health().await?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in rows {
            let definition: Definition = match serde_json::from_str(&r.definition) {
                Ok(d) => d,
                Err(source) => {
                    let e = ConnectorError::Corrupt {
                        code: r.code.clone(),
                        source,
                    };
                    tracing::error!(error = %telemetry::chain(&e), "connector left out");
                    continue;
                }
            };
            let (key, key_unusable) = self.open_key(&definition, r.handoff_key_enc.as_deref());
            entries.push(Arc::new(Entry {
                health: latest.remove(&r.code),
                definition,
                version: r.version,
                created_at: Millis(r.created_at),
                updated_at: Millis(r.updated_at),
                updated_by: r.updated_by,
                key,
                key_unusable,
            }));
        }
        self.publish(Snapshot::new(entries));
        Ok(())
    }

    fn open_key(&self, d: &Definition, enc: Option<&[u8]>) -> (Option<Arc<HandoffKey>>, bool) {
        let (Some(scheme), Some(enc)) = (d.handoff.scheme(), enc) else {
            return (None, d.handoff.scheme().is_some());
        };
        let key = self
            .keys
            .data
            .decrypt(enc, &key_aad(&d.code))
            .ok()
            .and_then(|m| std::str::from_utf8(&m).ok().map(str::to_owned))
            .and_then(|m| HandoffKey::from_material(scheme, &m).ok());
        match key {
            Some(k) => (Some(Arc::new(k)), false),
            None => {
                tracing::error!(connector = %d.code, "the stored hand-off key cannot be decrypted or used; jumps to this connector are refused");
                (None, true)
            }
        }
    }

    /// Checks `d` and settles its hand-off key: a key given now, the existing one when the
    /// scheme is unchanged, or a fresh one.
    fn settle_key(
        &self,
        d: &Definition,
        given: Option<&Secret>,
        existing: Option<(&Definition, Option<&[u8]>)>,
    ) -> Result<SettledKey, ConnectorError> {
        let errors = crate::definition::validate(d, &self.config.allowlist);
        if !errors.is_empty() {
            return Err(ConnectorError::Invalid(errors));
        }
        let Some(scheme) = d.handoff.scheme() else {
            if given.is_some() {
                return Err(invalid(
                    "handoff.key",
                    "a key is only used with a signed hand-off (handoff.mode = signed)",
                    "只有签名跳转才使用密钥",
                ));
            }
            let had = existing.is_some_and(|(_, k)| k.is_some());
            let outcome = if had {
                KeyOutcome::Removed
            } else {
                KeyOutcome::Unchanged
            };
            return Ok(SettledKey(None, outcome, None));
        };
        let aad = key_aad(&d.code);
        if let Some(material) = given {
            HandoffKey::from_material(scheme, material.expose())
                .map_err(|e| invalid("handoff.key", e.to_string(), "密钥格式不正确"))?;
            let enc = self.keys.data.encrypt(material.expose().as_bytes(), &aad)?;
            return Ok(SettledKey(Some(enc), KeyOutcome::Set, None));
        }
        if let Some((before, Some(enc))) = existing
            && before.handoff.scheme() == Some(scheme)
        {
            return Ok(SettledKey(Some(enc.to_vec()), KeyOutcome::Unchanged, None));
        }
        let (_, material) = HandoffKey::generate(scheme)
            .map_err(|e| invalid("handoff.key", e.to_string(), "无法生成密钥"))?;
        let enc = self.keys.data.encrypt(material.expose().as_bytes(), &aad)?;
        let shown = (scheme == crate::definition::Scheme::HmacSm3).then_some(material);
        Ok(SettledKey(Some(enc), KeyOutcome::Generated, shown))
    }

    /// Creates a connector. `key` is the hand-off key for a signed hand-off (generated when
    /// absent).
    pub async fn create(
        &self,
        d: Definition,
        key: Option<Secret>,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<Changed, ConnectorError> {
        let SettledKey(enc, outcome, generated_secret) = self.settle_key(&d, key.as_ref(), None)?;
        let version = self
            .write(
                Write {
                    code: &d.code,
                    action: "created",
                    after: Some((&d, enc)),
                    expect: None,
                },
                &actor,
                ctx,
            )
            .await?
            .0;
        self.record_change(
            "connector.created",
            &d.code,
            version,
            None,
            Some(&d),
            &outcome,
            actor,
            ctx,
        )
        .await?;
        let entry = self.after_change(&d.code).await?;
        Ok(Changed {
            entry,
            generated_secret,
        })
    }

    /// Applies `edit` to the stored definition (at `expected_version`, when given).
    pub async fn update(
        &self,
        code: &str,
        edit: impl FnOnce(&mut Definition),
        key: Option<Secret>,
        expected_version: Option<i64>,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<Changed, ConnectorError> {
        let current = self.stored(code).await?;
        let before: Definition = parse(code, &current.definition)?;
        let mut after = before.clone();
        edit(&mut after);
        if after.code != before.code {
            return Err(invalid(
                "code",
                "cannot be changed; create a new connector and delete this one",
                "代码不能修改；请新建外部平台后删除这一个",
            ));
        }
        let SettledKey(enc, outcome, generated_secret) = self.settle_key(
            &after,
            key.as_ref(),
            Some((&before, current.handoff_key_enc.as_deref())),
        )?;
        if after == before && matches!(outcome, KeyOutcome::Unchanged) {
            let entry = self.after_change(code).await?;
            return Ok(Changed {
                entry,
                generated_secret: None,
            });
        }
        let version = self
            .write(
                Write {
                    code,
                    action: "updated",
                    after: Some((&after, enc)),
                    expect: Some(expected_version.unwrap_or(current.version)),
                },
                &actor,
                ctx,
            )
            .await?
            .0;
        self.record_change(
            "connector.updated",
            code,
            version,
            Some(&before),
            Some(&after),
            &outcome,
            actor,
            ctx,
        )
        .await?;
        let entry = self.after_change(code).await?;
        Ok(Changed {
            entry,
            generated_secret,
        })
    }

    /// Deletes a connector; its history stays, and a rollback brings it back.
    pub async fn delete(
        &self,
        code: &str,
        expected_version: Option<i64>,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<(), ConnectorError> {
        let current = self.stored(code).await?;
        let before: Definition = parse(code, &current.definition)?;
        let version = self
            .write(
                Write {
                    code,
                    action: "deleted",
                    after: None,
                    expect: Some(expected_version.unwrap_or(current.version)),
                },
                &actor,
                ctx,
            )
            .await?
            .0;
        let outcome = if current.handoff_key_enc.is_some() {
            KeyOutcome::Removed
        } else {
            KeyOutcome::Unchanged
        };
        self.record_change(
            "connector.deleted",
            code,
            version,
            Some(&before),
            None,
            &outcome,
            actor,
            ctx,
        )
        .await?;
        self.reload().await
    }

    /// Restores the state before the last change (which may bring back a deleted connector, or
    /// delete one whose last change was its re-creation).
    pub async fn rollback(
        &self,
        code: &str,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<Option<Arc<Entry>>, ConnectorError> {
        let history = self.history(code, 2).await?;
        let (last, target) = match history.as_slice() {
            [] => return Err(ConnectorError::NotFound(code.to_owned())),
            [_] => return Err(ConnectorError::NothingToRollBack(code.to_owned())),
            [last, target, ..] => (last, target),
        };
        let before = match &last.definition {
            Some(d) => Some(parse(code, d)?),
            None => None,
        };
        let after = match &target.definition {
            Some(d) => Some(parse(code, d)?),
            None => None,
        };
        if let Some(d) = &after {
            let errors = crate::definition::validate(d, &self.config.allowlist);
            if !errors.is_empty() {
                return Err(ConnectorError::Invalid(errors));
            }
        }
        let outcome = match (&last.handoff_key_enc, &target.handoff_key_enc) {
            (a, b) if a == b => KeyOutcome::Unchanged,
            (_, None) => KeyOutcome::Removed,
            _ => KeyOutcome::Set,
        };
        let version = self
            .write(
                Write {
                    code,
                    action: "rolled_back",
                    after: after.as_ref().map(|d| (d, target.handoff_key_enc.clone())),
                    // Against the state read: a change landing meanwhile makes this a conflict.
                    expect: last.definition.as_ref().map(|_| last.version),
                },
                &actor,
                ctx,
            )
            .await?
            .0;
        let mut details = change_details(version, before.as_ref(), after.as_ref(), &outcome);
        details["restored_version"] = serde_json::json!(target.version);
        self.audit
            .append(
                AuditEvent::new("connector.rolled_back", Outcome::Success)
                    .actor(actor)
                    .target(format!("connector:{code}"))
                    .details(details)
                    .context(ctx),
            )
            .await?;
        self.reload().await?;
        Ok(self.snapshot().get(code).cloned())
    }

    /// The connector's history, newest first.
    pub async fn versions(
        &self,
        code: &str,
        limit: u32,
    ) -> Result<Vec<VersionView>, ConnectorError> {
        let rows = self.history(code, limit).await?;
        if rows.is_empty() {
            return Err(ConnectorError::NotFound(code.to_owned()));
        }
        Ok(rows.into_iter().map(version_view).collect())
    }

    /// A page of the connector's history, newest first.
    pub async fn version_page(
        &self,
        code: &str,
        page: Page,
    ) -> Result<Paged<VersionView>, ConnectorError> {
        let page = page.normalised();
        let (total, rows): (i64, Vec<VersionRow>) = with_pool!(self.db.read(), |p| {
            async {
                let total: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM connector_versions WHERE code = $1")
                        .bind(code)
                        .fetch_one(p)
                        .await?;
                let rows: Vec<VersionRow> = sqlx::query_as(
                    "SELECT version, action, definition, handoff_key_enc, changed_at, changed_by, request_id FROM connector_versions WHERE code = $1 ORDER BY version DESC LIMIT $2 OFFSET $3",
                )
                .bind(code)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(p)
                .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        if total == 0 {
            return Err(ConnectorError::NotFound(code.to_owned()));
        }
        Ok(Paged {
            items: rows.into_iter().map(version_view).collect(),
            total: u64::try_from(total).unwrap_or(0),
            page: page.number,
            size: page.size,
        })
    }

    async fn history(&self, code: &str, limit: u32) -> Result<Vec<VersionRow>, ConnectorError> {
        Ok(with_pool!(self.db.read(), |p| {
            sqlx::query_as(
                "SELECT version, action, definition, handoff_key_enc, changed_at, changed_by, request_id FROM connector_versions WHERE code = $1 ORDER BY version DESC LIMIT $2",
            )
            .bind(code)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await
        })?)
    }

    /// The stored definition of `code`.
    pub(crate) async fn definition(&self, code: &str) -> Result<Definition, ConnectorError> {
        parse(code, &self.stored(code).await?.definition)
    }

    async fn stored(&self, code: &str) -> Result<Row, ConnectorError> {
        let row: Option<Row> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(
                "SELECT code, definition, handoff_key_enc, version, created_at, updated_at, updated_by FROM connectors WHERE code = $1",
            )
            .bind(code)
            .fetch_optional(p)
            .await
        })?;
        row.ok_or_else(|| ConnectorError::NotFound(code.to_owned()))
    }

    /// Writes a change and its version row in one transaction. Returns the new version and the
    /// version the connector was at before (`None` if it did not exist).
    async fn write(
        &self,
        w: Write<'_>,
        actor: &Actor,
        ctx: &RequestContext,
    ) -> Result<(i64, Option<i64>), ConnectorError> {
        let now = self.clock.now().0;
        let by = actor_ref(actor);
        with_pool!(self.db.write(), |p, b| {
            let mut tx = begin_write!(p, b)?;
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM connectors WHERE code = $1")
                    .bind(w.code)
                    .fetch_optional(&mut *tx)
                    .await?;
            match (w.expect, current) {
                (None, Some(_)) => return Err(ConnectorError::Exists(w.code.to_owned())),
                (Some(_), None) => return Err(ConnectorError::NotFound(w.code.to_owned())),
                (Some(expected), Some(current)) if expected != current => {
                    return Err(ConnectorError::VersionConflict { current, expected });
                }
                _ => {}
            }
            let last: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(version), 0) FROM connector_versions WHERE code = $1",
            )
            .bind(w.code)
            .fetch_one(&mut *tx)
            .await?;
            let version = last + 1;
            let json = w.after.as_ref().map(|(d, _)| definition_json(d));
            let enc = w.after.as_ref().and_then(|(_, k)| k.clone());
            match &json {
                Some(json) => {
                    sqlx::query(
                        "INSERT INTO connectors (code, definition, handoff_key_enc, version, created_at, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $5, $6) \
                         ON CONFLICT (code) DO UPDATE SET definition = excluded.definition, handoff_key_enc = excluded.handoff_key_enc, version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    )
                    .bind(w.code)
                    .bind(json)
                    .bind(&enc)
                    .bind(version)
                    .bind(now)
                    .bind(&by)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM connectors WHERE code = $1")
                        .bind(w.code)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            sqlx::query(
                "INSERT INTO connector_versions (code, version, action, definition, handoff_key_enc, changed_at, changed_by, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(w.code)
            .bind(version)
            .bind(w.action)
            .bind(&json)
            .bind(&enc)
            .bind(now)
            .bind(&by)
            .bind(&ctx.request_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                // Two nodes changing one connector at once both read version N; the history's
                // primary key lets only one write N+1.
                let e = StoreError::from(e);
                if e.is_unique_violation() {
                    ConnectorError::VersionConflict {
                        current: version,
                        expected: last,
                    }
                } else {
                    ConnectorError::Store(e)
                }
            })?;
            tx.commit().await?;
            Ok((version, current))
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_change(
        &self,
        event: &'static str,
        code: &str,
        version: i64,
        before: Option<&Definition>,
        after: Option<&Definition>,
        key: &KeyOutcome,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<(), ConnectorError> {
        self.audit
            .append(
                AuditEvent::new(event, Outcome::Success)
                    .actor(actor)
                    .target(format!("connector:{code}"))
                    .details(change_details(version, before, after, key))
                    .context(ctx),
            )
            .await?;
        Ok(())
    }

    async fn after_change(&self, code: &str) -> Result<Arc<Entry>, ConnectorError> {
        self.reload().await?;
        self.snapshot()
            .get(code)
            .cloned()
            .ok_or_else(|| ConnectorError::NotFound(code.to_owned()))
    }

    /// The pseudonymous user id a signed hand-off gives `code`: stable for one account and
    /// connector, unlinkable across connectors, and not the account id.
    pub fn pseudonym(&self, code: &str, account_id: &str) -> String {
        let tag = self.keys.index.tag(&[
            b"connectors.handoff.sub\0",
            code.as_bytes(),
            b"\0",
            account_id.as_bytes(),
        ]);
        hex::encode(&tag[..16])
    }
}

fn version_view(r: VersionRow) -> VersionView {
    VersionView {
        version: r.version,
        action: r.action,
        definition: r
            .definition
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok()),
        handoff_key_set: r.handoff_key_enc.is_some(),
        changed_at: Millis(r.changed_at).to_rfc3339(),
        changed_by: r.changed_by,
        request_id: r.request_id,
    }
}

fn parse(code: &str, json: &str) -> Result<Definition, ConnectorError> {
    serde_json::from_str(json).map_err(|source| ConnectorError::Corrupt {
        code: code.to_owned(),
        source,
    })
}

fn definition_json(d: &Definition) -> String {
    serde_json::to_string(d).unwrap_or_default()
}

fn change_details(
    version: i64,
    before: Option<&Definition>,
    after: Option<&Definition>,
    key: &KeyOutcome,
) -> serde_json::Value {
    serde_json::json!({
        "version": version,
        "before": before,
        "after": after,
        "handoff_key": key.as_str(),
    })
}
