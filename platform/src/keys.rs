//! The three keys of a hub (audit seal, data encryption, blind index) and the start-up proof that
//! they are the keys the store was written with. A node started with another key would append
//! audit records that break the chain, or fail to decrypt what others wrote; it must not start.

use std::sync::Arc;

use guomi::{FieldCipher, Mac};

use crate::clock::Clock;
use crate::config::{KeyBytes, KeySetting};
use crate::store::{Db, StoreError, with_pool};

const AUDIT: &[u8] = b"hub.key-check.audit.v1";
const INDEX: &[u8] = b"hub.key-check.index.v1";
const DATA: &[u8] = b"hub.key-check.data.v1";
const DATA_AAD: &[u8] = b"key_check:data";

#[derive(Clone)]
pub struct Keys {
    /// Seals the audit chain.
    pub audit: Arc<dyn Mac>,
    /// Encrypts stored sensitive fields.
    pub data: Arc<dyn FieldCipher>,
    /// Blind indexes of sensitive identifiers.
    pub index: Arc<dyn Mac>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyCheckError {
    #[error(
        "the configured {setting} is not the key this store was written with; every node must use the same keys (check {setting} or its _file variant)"
    )]
    Mismatch { setting: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cryptographic failure")]
    Crypto(#[from] guomi::Error),
}

impl Keys {
    /// The token of forms shown to the holder of `secret` (a session cookie's value) for
    /// `purpose` (`user`, `admin`): 128 bits of HMAC-SM3 under the index key over the secret's
    /// SM3 digest, so that a token reveals nothing of the session it is bound to.
    pub fn form_token(&self, purpose: &str, secret: &str) -> String {
        let digest = guomi::sm3(secret.as_bytes());
        hex::encode(
            &self
                .index
                .tag(&[b"form:", purpose.as_bytes(), b":", &digest])[..16],
        )
    }

    /// Proves each key against its check value, recording the value at the first start.
    pub async fn check(&self, db: &Db, clock: &dyn Clock) -> Result<(), KeyCheckError> {
        let audit = self.audit.tag(&[AUDIT]);
        if !self
            .check_one(db, clock, "audit", &audit, |v| v == audit.as_slice())
            .await?
        {
            return Err(KeyCheckError::Mismatch {
                setting: "audit.hmac_key",
            });
        }
        let index = self.index.tag(&[INDEX]);
        if !self
            .check_one(db, clock, "index", &index, |v| v == index.as_slice())
            .await?
        {
            return Err(KeyCheckError::Mismatch {
                setting: "crypto.index_key",
            });
        }
        let data = self.data.encrypt(DATA, DATA_AAD)?;
        let cipher = self.data.clone();
        let data_ok = self
            .check_one(db, clock, "data", &data, move |v| {
                cipher
                    .decrypt(v, DATA_AAD)
                    .is_ok_and(|p| p.as_slice() == DATA)
            })
            .await?;
        if !data_ok {
            return Err(KeyCheckError::Mismatch {
                setting: "crypto.data_key",
            });
        }
        Ok(())
    }

    /// Stores `value` under `name` unless a value is there already, then tests what is stored.
    async fn check_one(
        &self,
        db: &Db,
        clock: &dyn Clock,
        name: &str,
        value: &[u8],
        matches: impl Fn(&[u8]) -> bool,
    ) -> Result<bool, KeyCheckError> {
        let existing: Option<Vec<u8>> = with_pool!(db.read(), |p| {
            sqlx::query_scalar("SELECT value FROM key_check WHERE name = $1")
                .bind(name)
                .fetch_optional(p)
                .await
        })
        .map_err(StoreError::from)?;
        if let Some(v) = existing {
            return Ok(matches(&v));
        }
        if name == "audit" && !self.head_is_sealed_with_this_key(db).await? {
            // A store from before key checks: its sealed head tells whether the key is right.
            return Ok(false);
        }
        let now = clock.now().0;
        with_pool!(db.write(), |p| {
            sqlx::query("INSERT INTO key_check (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(value)
                .bind(now)
                .execute(p)
                .await
                .map(|_| ())
        })
        .map_err(StoreError::from)?;
        // Another node may have won the race: test what is stored now.
        let stored: Vec<u8> = with_pool!(db.read(), |p| {
            sqlx::query_scalar("SELECT value FROM key_check WHERE name = $1")
                .bind(name)
                .fetch_one(p)
                .await
        })
        .map_err(StoreError::from)?;
        Ok(matches(&stored))
    }

    async fn head_is_sealed_with_this_key(&self, db: &Db) -> Result<bool, KeyCheckError> {
        let (seq, hash, mac): (i64, Vec<u8>, Vec<u8>) = with_pool!(db.read(), |p| {
            sqlx::query_as("SELECT seq, hash, mac FROM audit_head WHERE id = 1")
                .fetch_one(p)
                .await
        })
        .map_err(StoreError::from)?;
        Ok(seq == 0 || crate::audit::head_seal_matches(self.audit.as_ref(), seq, &hash, &mac))
    }
}

/// Why a key could not be read from, or generated into, the data directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    #[error("cannot read or create the key file {path}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the key file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot generate a key")]
    Random(#[source] guomi::Error),
}

/// Key material from the configuration, or from the data directory, generated on first start
/// (embedded single-node store only; validation refuses this with PostgreSQL).
pub fn resolve_key(setting: &KeySetting) -> Result<KeyBytes, KeyFileError> {
    match setting {
        KeySetting::Given(k) => Ok(k.clone()),
        KeySetting::Generated { path, len } => {
            let err = |source| KeyFileError::Unreadable {
                path: path.display().to_string(),
                source,
            };
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let k = KeyBytes::from_hex(&text).map_err(|message| KeyFileError::Invalid {
                        path: path.display().to_string(),
                        message,
                    })?;
                    if k.as_bytes().len() != *len {
                        return Err(KeyFileError::Invalid {
                            path: path.display().to_string(),
                            message: format!("has {} bytes, expected {len}", k.as_bytes().len()),
                        });
                    }
                    Ok(k)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let bytes = guomi::random_vec(*len).map_err(KeyFileError::Random)?;
                    write_private(path, hex::encode(&bytes).as_bytes()).map_err(err)?;
                    tracing::info!(path = %path.display(), "generated a key; back it up with the data directory");
                    Ok(KeyBytes::from_vec(bytes))
                }
                Err(e) => Err(err(e)),
            }
        }
    }
}

/// Writes a new file readable by the owner only.
fn write_private(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}
