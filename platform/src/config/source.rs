//! Where each setting came from, and the layering of file, environment and command line into one
//! table that `RawConfig` is deserialised from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// Where a setting came from, so that a problem can point at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    File { path: String, line: usize },
    Env(String),
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{path}:{line}"),
            Origin::Env(name) => write!(f, "environment variable {name}"),
            Origin::Flag(flag) => write!(f, "command-line flag {flag}"),
        }
    }
}

/// One thing wrong with the configuration: where, which key, what and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `hub.toml:12`, `environment variable HUB_LISTEN`, or `defaults` when nothing set the key.
    pub location: String,
    /// Dotted key path, e.g. `server.listen`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.key, self.message)
    }
}

/// Every problem found, in the order of the keys.
#[derive(Debug)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The merged settings table and the origin of every key in it.
#[derive(Debug, Default)]
pub struct Layered {
    pub table: Table,
    origins: BTreeMap<String, Origin>,
    file: Option<String>,
    pub problems: Vec<Problem>,
}

/// Environment variables that map to a key without the `SECTION__KEY` form.
const ENV_SHORTCUTS: &[(&str, &str)] = &[
    ("HUB_LISTEN", "server.listen"),
    ("HUB_DATABASE_URL", "database.url"),
    ("HUB_DATA_DIR", "data_dir"),
];

impl Layered {
    /// Parses the configuration file. A syntax error is reported with its line and column, and
    /// no further layer is applied (the file's intent is unknown).
    pub fn from_file(path: &Path, text: &str) -> Self {
        let display = path.display().to_string();
        let mut layered = Layered {
            file: Some(display.clone()),
            ..Layered::default()
        };
        match toml::de::DeTable::parse(text) {
            Err(e) => {
                let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
                let first = e.message().lines().next().unwrap_or("invalid TOML");
                layered.problems.push(Problem {
                    location: format!("{display}:{line}"),
                    key: "(syntax)".into(),
                    message: first.to_owned(),
                });
            }
            Ok(doc) => {
                record_lines(doc.get_ref(), "", text, &display, &mut layered.origins);
                match text.parse::<Table>() {
                    Ok(t) => layered.table = t,
                    Err(e) => layered.problems.push(Problem {
                        location: display,
                        key: "(syntax)".into(),
                        message: e.message().to_owned(),
                    }),
                }
            }
        }
        layered
    }

    /// Applies `HUB_*` environment variables: the shortcuts above, and `HUB_SECTION__KEY` for
    /// any other key (nested keys as `HUB_A__B__C`). Variables without `__` that are not
    /// shortcuts are not configuration and are left alone.
    pub fn apply_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with("HUB_"))
            .collect();
        vars.sort();
        for (name, raw) in vars {
            let path = if let Some((_, key)) = ENV_SHORTCUTS.iter().find(|(n, _)| *n == name) {
                (*key).to_owned()
            } else if let Some(rest) = name.strip_prefix("HUB_").filter(|r| r.contains("__")) {
                rest.split("__")
                    .map(|s| s.to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join(".")
            } else {
                continue;
            };
            self.set(&path, env_value(&raw), Origin::Env(name));
        }
    }

    pub fn apply_flag(&mut self, flag: &'static str, key: &str, value: &str) {
        self.set(key, Value::String(value.to_owned()), Origin::Flag(flag));
    }

    fn set(&mut self, path: &str, value: Value, origin: Origin) {
        let parts: Vec<&str> = path.split('.').collect();
        let Some((last, parents)) = parts.split_last() else {
            return;
        };
        let mut table = &mut self.table;
        for (i, part) in parents.iter().enumerate() {
            let entry = table
                .entry((*part).to_owned())
                .or_insert_with(|| Value::Table(Table::new()));
            match entry {
                Value::Table(t) => table = t,
                _ => {
                    self.problems.push(Problem {
                        location: origin.to_string(),
                        key: path.to_owned(),
                        message: format!("`{}` is not a section", parts[..=i].join(".")),
                    });
                    return;
                }
            }
        }
        table.insert((*last).to_owned(), value);
        self.origins.insert(path.to_owned(), origin);
    }

    /// Where `key` (or its nearest enclosing section) was set; `defaults` when nowhere.
    pub fn location(&self, key: &str) -> String {
        let mut k = key;
        loop {
            if let Some(o) = self.origins.get(k) {
                return o.to_string();
            }
            match k.rfind('.') {
                Some(i) => k = &k[..i],
                None => break,
            }
        }
        self.file.clone().unwrap_or_else(|| "defaults".to_owned())
    }

    fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }

    pub fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            location: self.location(key),
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// Deserialises the merged table into `T`, reporting every problem rather than the first:
    /// each failing key is recorded and removed (so that its default applies) and the attempt is
    /// repeated. Values from the environment are strings to a shell; one that parsed as another
    /// TOML type but lands on a string field is retried as the string it was.
    pub fn deserialize<T: DeserializeOwned + Default>(&mut self) -> T {
        self.deserialize_at("").unwrap_or_default()
    }

    /// As [`Layered::deserialize`], for the table at the dotted `prefix` (a provider's section,
    /// whose type depends on its `kind`). `None` when nothing usable is left there.
    pub fn deserialize_at<T: DeserializeOwned>(&mut self, prefix: &str) -> Option<T> {
        // Bounded: each round removes one key or converts one environment value.
        for _ in 0..256 {
            let value = if prefix.is_empty() {
                Value::Table(self.table.clone())
            } else {
                self.value_at(prefix)?
            };
            match serde_path_to_error::deserialize::<_, T>(value) {
                Ok(t) => return Some(t),
                Err(e) => {
                    let inner = e.path().to_string();
                    let key = match (prefix.is_empty(), inner.as_str()) {
                        (true, _) => inner.clone(),
                        (false, "." | "") => prefix.to_owned(),
                        (false, p) => format!("{prefix}.{p}"),
                    };
                    let message = e
                        .inner()
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or("invalid value")
                        .to_owned();
                    if matches!(self.origin(&key), Some(Origin::Env(_)))
                        && self.stringify_env_value(&key)
                    {
                        continue;
                    }
                    let message = if message.starts_with("unknown field") {
                        message.replacen("unknown field", "unknown key", 1)
                    } else {
                        message
                    };
                    self.problem(&key, message);
                    if !self.remove(&key) {
                        break;
                    }
                }
            }
        }
        None
    }

    /// A copy of the value at a dotted path.
    pub fn value_at(&self, key: &str) -> Option<Value> {
        let mut cur = &self.table;
        let parts: Vec<&str> = key.split('.').collect();
        let (last, parents) = parts.split_last()?;
        for p in parents {
            cur = cur.get(*p)?.as_table()?;
        }
        cur.get(*last).cloned()
    }

    fn lookup_mut(&mut self, key: &str) -> Option<(&mut Table, String)> {
        let parts: Vec<&str> = key.split('.').collect();
        let (last, parents) = parts.split_last()?;
        let mut table = &mut self.table;
        for p in parents {
            table = table.get_mut(*p)?.as_table_mut()?;
        }
        Some((table, (*last).to_owned()))
    }

    fn stringify_env_value(&mut self, key: &str) -> bool {
        let Some((table, last)) = self.lookup_mut(key) else {
            return false;
        };
        match table.get(&last) {
            Some(Value::String(_)) | None => false,
            Some(other) => {
                let s = match other {
                    Value::Integer(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Boolean(b) => b.to_string(),
                    v => v.to_string(),
                };
                table.insert(last, Value::String(s));
                true
            }
        }
    }

    /// Reads the file named by `{key}_file`, when set, into `key` (its text, trimmed), so that a
    /// section's struct needs no `_file` twin of each secret. Setting both is a problem, as is
    /// an unreadable file; either way `{key}_file` is gone afterwards. Problems with the value
    /// then point where `{key}_file` was set.
    pub fn inline_file(&mut self, key: &str) {
        let file_key = format!("{key}_file");
        let Some(v) = self.value_at(&file_key) else {
            return;
        };
        let origin = self.origin(&file_key).cloned();
        self.remove(&file_key);
        if self.value_at(key).is_some() {
            self.problem(key, format!("set either `{key}` or `{key}_file`, not both"));
            return;
        }
        let Some(path) = v.as_str() else {
            self.problem(&file_key, "must be a file path");
            return;
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                if let Some(o) = origin {
                    self.set(key, Value::String(text.trim().to_owned()), o);
                }
            }
            Err(e) => {
                let location = origin
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| self.location(&file_key));
                self.problems.push(Problem {
                    location,
                    key: file_key,
                    message: format!("cannot read `{path}`: {e}"),
                });
            }
        }
    }

    fn remove(&mut self, key: &str) -> bool {
        // serde reports the path of a problem in an array element as `key[3]`; remove the array.
        let key = key.split('[').next().unwrap_or(key).to_owned();
        match self.lookup_mut(&key) {
            Some((table, last)) => table.remove(&last).is_some(),
            None => false,
        }
    }
}

/// An environment value as TOML when it is a number, boolean or array; otherwise the string.
fn env_value(raw: &str) -> Value {
    let looks_typed = raw == "true"
        || raw == "false"
        || raw.starts_with('[')
        || (!raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit()));
    if looks_typed
        && let Ok(t) = format!("v = {raw}").parse::<Table>()
        && let Some(v) = t.get("v")
    {
        return v.clone();
    }
    Value::String(raw.to_owned())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn record_lines(
    table: &toml::de::DeTable<'_>,
    prefix: &str,
    text: &str,
    file: &str,
    out: &mut BTreeMap<String, Origin>,
) {
    for (k, v) in table.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        out.insert(
            path.clone(),
            Origin::File {
                path: file.to_owned(),
                line: line_of(text, k.span().start),
            },
        );
        if let toml::de::DeValue::Table(t) = v.get_ref() {
            record_lines(t, &path, text, file, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_keep_their_type_only_when_unambiguous() {
        assert_eq!(env_value("30"), Value::Integer(30));
        assert_eq!(env_value("true"), Value::Boolean(true));
        assert_eq!(env_value("30s"), Value::String("30s".into()));
        assert_eq!(
            env_value("127.0.0.1:8080"),
            Value::String("127.0.0.1:8080".into())
        );
        assert_eq!(
            env_value("[\"10.0.0.0/8\"]").as_array().map(Vec::len),
            Some(1)
        );
        assert_eq!(env_value(""), Value::String(String::new()));
    }

    #[test]
    fn file_lines_are_recorded_for_nested_keys() {
        let text = "data_dir = \"x\"\n\n[server]\nlisten = \"a\"\n\n[server.tls]\ncert = \"c\"\n";
        let l = Layered::from_file(Path::new("hub.toml"), text);
        assert!(l.problems.is_empty());
        assert_eq!(l.location("server.listen"), "hub.toml:4");
        assert_eq!(l.location("server.tls.cert"), "hub.toml:7");
        assert_eq!(l.location("server.nothing"), "hub.toml:3");
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let l = Layered::from_file(Path::new("hub.toml"), "[server]\nlisten = \n");
        assert_eq!(l.problems.len(), 1);
        assert_eq!(l.problems[0].location, "hub.toml:2");
    }
}
