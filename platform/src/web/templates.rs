//! Templates: every feature's, compiled once at start with the operator's theme first. A
//! template that does not compile stops the start with its name and line.

use std::path::Path;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// Templates a crate ships: (name, source), embedded with `include_str!`.
pub type Sources = &'static [(&'static str, &'static str)];

/// The platform's own templates: the layout, the macros and the error page.
pub const TEMPLATES: Sources = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("error.html", include_str!("../../templates/error.html")),
];

/// Why the templates cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    #[error("the template {name} does not compile: {message}")]
    Compile { name: String, message: String },
    #[error("cannot read the theme directory {path}")]
    Theme {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the template {name} failed: {message}")]
    Render { name: String, message: String },
}

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    /// Compiles `sources`; a file of the same name in `theme_dir` replaces a built-in template,
    /// and other `.html` files there are added (includes of the operator's own).
    pub fn new(sources: &[Sources], theme_dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        // Every template is HTML: escape every value, whatever the name's ending. Strings are
        // escaped as the platform escapes text (`& < > " '`): minijinja's own escaper also
        // writes `/` as `&#x2f;`, which no quoted attribute or element content needs and
        // which would make every link of the page heavier and harder to read.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_formatter(|out, state, value| match value.as_str() {
            Some(text) if !value.is_safe() && matches!(state.auto_escape(), AutoEscape::Html) => {
                out.write_str(&crate::pages::escape(text))
                    .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
            }
            _ => minijinja::escape_formatter(out, state, value),
        });
        // A misspelt key renders as nothing rather than stopping a page, but is never an
        // object one could call methods on.
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        let mut names: Vec<(String, String)> = Vec::new();
        for list in sources {
            for (name, text) in list.iter() {
                names.push(((*name).to_owned(), (*text).to_owned()));
            }
        }
        if let Some(dir) = theme_dir {
            for (name, text) in theme_files(dir)? {
                match names.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = text,
                    None => names.push((name, text)),
                }
            }
        }
        for (name, text) in names {
            env.add_template_owned(name.clone(), text)
                .map_err(|e| TemplateError::Compile {
                    name: name.clone(),
                    message: describe(&e),
                })?;
        }
        Ok(Templates { env })
    }

    /// Renders `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, TemplateError> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| TemplateError::Render {
                name: name.to_owned(),
                message: describe(&e),
            })?;
        t.render(ctx).map_err(|e| TemplateError::Render {
            name: name.to_owned(),
            message: describe(&e),
        })
    }

    /// Whether a template of this name exists.
    pub fn has(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }
}

fn describe(e: &minijinja::Error) -> String {
    match (e.name(), e.line()) {
        (Some(n), Some(l)) => format!("{n}:{l}: {}", e.detail().unwrap_or(&e.kind().to_string())),
        _ => e.to_string(),
    }
}

/// The theme's templates: every `.html` below `dir` except under `static/`, by their path
/// relative to `dir` with `/` separators.
fn theme_files(dir: &Path) -> Result<Vec<(String, String)>, TemplateError> {
    let io = |source| TemplateError::Theme {
        path: dir.display().to_string(),
        source,
    };
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            let rel = path
                .strip_prefix(dir)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            if path.is_dir() {
                if rel != "static" {
                    stack.push(path);
                }
            } else if rel.ends_with(".html") {
                let text = std::fs::read_to_string(&path).map_err(io)?;
                out.push((rel, text));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Sources = &[
        ("a.html", "<p>{{ who }}</p>"),
        ("b.html", "{% extends \"a.html\" %}"),
    ];

    #[test]
    fn values_are_escaped_and_the_theme_comes_first() {
        let t = Templates::new(&[T], None).unwrap();
        let html = t
            .render("a.html", minijinja::context! { who => "<script>" })
            .unwrap();
        assert_eq!(html, "<p>&lt;script&gt;</p>");
        let html = t
            .render("a.html", minijinja::context! { who => "\"'/a&b" })
            .unwrap();
        assert_eq!(html, "<p>&quot;&#39;/a&amp;b</p>");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.html"), "<b>{{ who }}</b>").unwrap();
        std::fs::create_dir(dir.path().join("static")).unwrap();
        std::fs::write(dir.path().join("static/x.html"), "ignored").unwrap();
        let t = Templates::new(&[T], Some(dir.path())).unwrap();
        let html = t
            .render("a.html", minijinja::context! { who => "李" })
            .unwrap();
        assert_eq!(html, "<b>李</b>");
        assert!(!t.has("static/x.html"));
    }

    #[test]
    fn a_broken_template_is_named_at_start() {
        const BAD: Sources = &[("bad.html", "{% if %}")];
        let err = Templates::new(&[BAD], None).unwrap_err().to_string();
        assert!(err.contains("bad.html"), "{err}");
    }
}
