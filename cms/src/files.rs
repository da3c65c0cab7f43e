//! Uploaded images and attachments: the type is read from the content's signature (never from
//! the name), the size is limited, and the bytes go to an object store — a local directory by
//! default, an S3-compatible store for several nodes. The contract of the store is small: put
//! an object under a key, get it back whole, delete it; keys are the files' uuids.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::config::StorageConfig;
use crate::error::CmsError;

/// The types accepted, by the signature `infer` reads: images shown in articles, documents
/// attached to them.
const IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];
const DOCUMENTS: &[&str] = &[
    "application/pdf",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/x-ole-storage",
];

/// What an upload is, read from its bytes: (content type, is an image).
pub fn sniff(bytes: &[u8], max: usize) -> Result<(String, bool), CmsError> {
    if bytes.is_empty() {
        return Err(CmsError::FileRejected("文件为空。".to_owned()));
    }
    if bytes.len() > max {
        return Err(CmsError::FileRejected(format!(
            "文件超过 {} 的大小限制。",
            human_size(max)
        )));
    }
    let Some(kind) = infer::get(bytes) else {
        return Err(CmsError::FileRejected(
            "无法识别文件类型：只能上传 PNG、JPEG、GIF、WebP 图片或 PDF、Office 文档、ZIP 压缩包。"
                .to_owned(),
        ));
    };
    let mime = kind.mime_type();
    if IMAGES.contains(&mime) {
        Ok((mime.to_owned(), true))
    } else if DOCUMENTS.contains(&mime) {
        Ok((mime.to_owned(), false))
    } else {
        Err(CmsError::FileRejected(format!(
            "不支持该文件类型（{mime}）：只能上传 PNG、JPEG、GIF、WebP 图片或 PDF、Office 文档、ZIP 压缩包。"
        )))
    }
}

pub fn human_size(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// A file name fit for storing and for a download's header: path and control characters
/// dropped, at most 100 characters.
pub fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() {
        "附件".to_owned()
    } else {
        cleaned
    }
}

/// The object store of uploaded files.
#[derive(Clone, Debug)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
}

impl FileStore {
    pub fn open(config: &StorageConfig) -> Result<FileStore, CmsError> {
        let store: Arc<dyn ObjectStore> = match config {
            StorageConfig::Local { dir } => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    CmsError::Storage(format!("cannot create {}: {e}", dir.display()))
                })?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(dir)
                        .map_err(|e| CmsError::Storage(e.to_string()))?,
                )
            }
            StorageConfig::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                // A store that does not answer fails the upload within seconds (the default
                // retries for minutes, longer than any request may take).
                let retry = object_store::RetryConfig {
                    max_retries: 2,
                    retry_timeout: std::time::Duration::from_secs(10),
                    ..object_store::RetryConfig::default()
                };
                let client = object_store::ClientOptions::new()
                    .with_connect_timeout(std::time::Duration::from_secs(3))
                    .with_timeout(std::time::Duration::from_secs(30));
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_retry(retry)
                    .with_client_options(client)
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key.expose())
                    .with_allow_http(*allow_http);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                Arc::new(b.build().map_err(|e| CmsError::Storage(e.to_string()))?)
            }
        };
        Ok(FileStore { store })
    }

    fn key(id: &str) -> ObjectPath {
        ObjectPath::from(format!("content/{id}"))
    }

    pub async fn put(&self, id: &str, bytes: Bytes) -> Result<(), CmsError> {
        self.store
            .put(&Self::key(id), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| CmsError::Storage(e.to_string()))
    }

    pub async fn get(&self, id: &str) -> Result<Bytes, CmsError> {
        match self.store.get(&Self::key(id)).await {
            Ok(r) => r
                .bytes()
                .await
                .map_err(|e| CmsError::Storage(e.to_string())),
            Err(object_store::Error::NotFound { .. }) => Err(CmsError::FileNotFound(id.to_owned())),
            Err(e) => Err(CmsError::Storage(e.to_string())),
        }
    }

    pub async fn delete(&self, id: &str) -> Result<(), CmsError> {
        match self.store.delete(&Self::key(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(CmsError::Storage(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
    ];

    #[test]
    fn the_content_decides_not_the_name() {
        assert_eq!(sniff(PNG, 1000).unwrap(), ("image/png".to_owned(), true));
        assert_eq!(
            sniff(b"%PDF-1.7\n...", 1000).unwrap(),
            ("application/pdf".to_owned(), false)
        );
        // A script or an SVG named .png is refused: its bytes are not an allowed type.
        assert!(matches!(
            sniff(
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
                1000
            ),
            Err(CmsError::FileRejected(_))
        ));
        assert!(matches!(
            sniff(b"MZ\x90\0\x03\0\0\0", 1000),
            Err(CmsError::FileRejected(_))
        ));
        assert!(matches!(sniff(PNG, 4), Err(CmsError::FileRejected(_))));
        assert!(matches!(sniff(b"", 4), Err(CmsError::FileRejected(_))));
    }

    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\x\\通知.pdf"), "通知.pdf");
        assert_eq!(safe_name("\"<>"), "附件");
    }

    #[tokio::test]
    async fn local_store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FileStore::open(&StorageConfig::Local {
            dir: dir.path().to_owned(),
        })
        .unwrap();
        fs.put("a", Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(&fs.get("a").await.unwrap()[..], b"hello");
        fs.delete("a").await.unwrap();
        assert!(matches!(fs.get("a").await, Err(CmsError::FileNotFound(_))));
        fs.delete("a").await.unwrap();
    }
}
