//! Content (REQUIREMENTS D1, D5, F1–F3, G2): columns and sub-columns, articles with their
//! review (draft → pending → published, or rejected with a reason; withdrawn; the recycle bin),
//! every revision kept, sanitised rich text with images and attachments, tags and keyword
//! links; the operators' dictionary; the sensitive-word library applied to what users publish;
//! Chinese full-text search on a per-node index that follows the store's change log; and
//! traffic statistics recorded off the request path.
//!
//! Editors and reviewers are separate permissions; a government department's staff write the
//! policies of their own department and nothing else. Every change is audited.

pub mod config;
mod error;
pub mod files;
mod model;
pub mod sanitize;
pub mod search;
mod service;
pub mod stats;
pub mod words;

pub use error::CmsError;
pub use model::{
    Article, ArticleFilter, Column, Decision, Draft, Editor, Follow, LEVELS, Revision, SECTIONS,
    Status, StoredFile, Summary, section_path,
};
pub use platform::paging::{Page, Paged};
pub use service::Cms;
