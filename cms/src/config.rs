//! `[content]`: what to do with sensitive words, the upload limit, where files are kept (a
//! local directory, or an S3-compatible object store for several nodes) and where this node
//! keeps its search index.

use std::path::{Path, PathBuf};

use platform::config::{Layered, Secret};
use serde::Deserialize;

use crate::words::SensitiveAction;

/// Where uploaded files are kept.
#[derive(Clone, Debug)]
pub enum StorageConfig {
    /// A directory of this node (one node, or a directory every node mounts).
    Local { dir: PathBuf },
    /// An S3-compatible object store shared by every node.
    S3 {
        endpoint: Option<String>,
        bucket: String,
        region: String,
        access_key_id: String,
        secret_access_key: Secret,
        allow_http: bool,
    },
}

/// The validated content settings.
#[derive(Clone, Debug)]
pub struct ContentConfig {
    pub sensitive_action: SensitiveAction,
    pub max_upload_bytes: usize,
    pub storage: StorageConfig,
    /// This node's search index (derived from the store; rebuilt when absent).
    pub search_dir: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawContent {
    pub sensitive_action: Option<String>,
    pub max_upload_bytes: Option<u64>,
    pub storage: Option<String>,
    pub files_dir: Option<PathBuf>,
    pub search_dir: Option<PathBuf>,
    pub s3_endpoint: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<Secret>,
    pub s3_allow_http: Option<bool>,
}

const DEFAULT_MAX_UPLOAD: u64 = 20 * 1024 * 1024;

/// Validates `[content]`.
pub fn validate(raw: RawContent, data_dir: &Path, l: &mut Layered) -> ContentConfig {
    let sensitive_action = match raw.sensitive_action.as_deref() {
        None => SensitiveAction::Refuse,
        Some(t) => SensitiveAction::parse(t).unwrap_or_else(|| {
            l.problem(
                "content.sensitive_action",
                "must be `refuse` (refuse the submission, words marked) or `review` (hold it for a reviewer)",
            );
            SensitiveAction::Refuse
        }),
    };
    let max = raw.max_upload_bytes.unwrap_or(DEFAULT_MAX_UPLOAD);
    if max == 0 || max > 512 * 1024 * 1024 {
        l.problem(
            "content.max_upload_bytes",
            "must be between 1 byte and 512 MiB",
        );
    }
    let storage = match raw.storage.as_deref().unwrap_or("local") {
        "local" => StorageConfig::Local {
            dir: raw.files_dir.unwrap_or_else(|| data_dir.join("files")),
        },
        "s3" => {
            let mut need = |key: &str, v: Option<String>| {
                v.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| {
                    l.problem(
                        &format!("content.{key}"),
                        "is required with `storage = \"s3\"`",
                    );
                    String::new()
                })
            };
            let bucket = need("s3_bucket", raw.s3_bucket);
            let access_key_id = need("s3_access_key_id", raw.s3_access_key_id);
            let secret_access_key = need(
                "s3_secret_access_key",
                raw.s3_secret_access_key.map(|s| s.expose().to_owned()),
            );
            StorageConfig::S3 {
                endpoint: raw.s3_endpoint,
                bucket,
                region: raw.s3_region.unwrap_or_else(|| "us-east-1".to_owned()),
                access_key_id,
                secret_access_key: Secret::new(secret_access_key),
                allow_http: raw.s3_allow_http.unwrap_or(false),
            }
        }
        _ => {
            l.problem("content.storage", "must be `local` or `s3`");
            StorageConfig::Local {
                dir: data_dir.join("files"),
            }
        }
    };
    ContentConfig {
        sensitive_action,
        max_upload_bytes: usize::try_from(max).unwrap_or(usize::MAX),
        storage,
        search_dir: raw.search_dir.unwrap_or_else(|| data_dir.join("search")),
    }
}

impl ContentConfig {
    /// Settings for a hub whose data lives in `data_dir` (tests and tools).
    pub fn defaults(data_dir: &Path) -> ContentConfig {
        ContentConfig {
            sensitive_action: SensitiveAction::Refuse,
            max_upload_bytes: usize::try_from(DEFAULT_MAX_UPLOAD).unwrap_or(usize::MAX),
            storage: StorageConfig::Local {
                dir: data_dir.join("files"),
            },
            search_dir: data_dir.join("search"),
        }
    }

    /// The section as operators may see it (the secret key is not shown).
    pub fn summary(&self) -> serde_json::Value {
        let storage = match &self.storage {
            StorageConfig::Local { dir } => serde_json::json!({
                "kind": "local", "dir": dir.display().to_string(),
            }),
            StorageConfig::S3 {
                endpoint,
                bucket,
                region,
                allow_http,
                ..
            } => serde_json::json!({
                "kind": "s3", "endpoint": endpoint, "bucket": bucket, "region": region,
                "allow_http": allow_http, "secret_access_key": "(set)",
            }),
        };
        serde_json::json!({
            "sensitive_action": self.sensitive_action.as_str(),
            "max_upload_bytes": self.max_upload_bytes,
            "storage": storage,
            "search_dir": self.search_dir.display().to_string(),
        })
    }
}
