//! `[portal]`: the portal's settings — where operators put templates and assets that replace
//! the built-in ones (branding), and the site's name.

use std::path::{Path, PathBuf};

use platform::config::Layered;
use serde::Deserialize;

/// The validated portal settings.
#[derive(Clone, Debug)]
pub struct PortalConfig {
    /// Templates (`*.html`) and assets (`static/…`) here replace the built-in ones of the same
    /// name; absent files keep the built-in ones.
    pub theme_dir: Option<PathBuf>,
    /// The site's name in page titles and the header.
    pub site_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPortal {
    pub theme_dir: Option<PathBuf>,
    pub site_name: Option<String>,
}

/// Validates `[portal]`.
pub fn validate(raw: RawPortal, _data_dir: &Path, l: &mut Layered) -> PortalConfig {
    if let Some(dir) = &raw.theme_dir
        && !dir.is_dir()
    {
        l.problem(
            "portal.theme_dir",
            format!("`{}` is not a readable directory", dir.display()),
        );
    }
    let site_name = raw
        .site_name
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "龙岩普惠金融平台".to_owned());
    if site_name.is_empty() || site_name.chars().count() > 40 {
        l.problem("portal.site_name", "must have 1 to 40 characters");
    }
    PortalConfig {
        theme_dir: raw.theme_dir,
        site_name,
    }
}

impl PortalConfig {
    /// The section as operators may see it.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "theme_dir": self.theme_dir.as_ref().map(|d| d.display().to_string()),
            "site_name": self.site_name,
        })
    }
}
