//! The web pages' machinery: templates (minijinja, embedded, operators' theme first), static
//! assets, the site's name and navigation, the context every page shares, form bodies and their
//! tokens, and the responses pages answer with. Feature crates bring their templates and render
//! through [`templates::Templates`]; the error page of a failed browser request is rendered
//! here, in the same layout.
//!
//! This module only declares its parts: each part names the sibling it uses directly.

pub mod assets;
pub mod form;
pub mod page;
pub mod site;
pub mod templates;
