//! What reaches the logs, and how: the process-wide subscriber (JSON lines, or compact text for
//! people, filtered by level) and the one formatter of error chains (`outer: inner: root`).
//!
//! Its own crate, at the bottom of the graph, because every crate that logs a failure needs the
//! same chain formatter — the outbound client, the sign-in adapters, the platform core — and
//! none of them should own it. It keeps no state besides the subscriber it installs once.

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (production: log shippers parse it).
    Json,
    /// Compact text (people at a terminal, the demo).
    Text,
}

/// Installs the subscriber once per process; later calls (tests starting several hubs) are
/// ignored. `level` is an `EnvFilter` directive (`info`, `hub=debug,sqlx=warn`); an invalid one
/// falls back to `info`.
pub fn init(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init(),
        LogFormat::Text => builder
            .compact()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .try_init(),
    };
}

/// An error and its causes on one line (`outer: inner: root`), for logs and for messages that
/// cross into them: the causes are where an operator finds what to fix.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);

    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn every_cause_is_on_the_line_in_order() {
        let e = E(
            "outer",
            Some(Box::new(E("inner", Some(Box::new(E("root", None)))))),
        );
        assert_eq!(super::chain(&e), "outer: inner: root");
        assert_eq!(super::chain(&E("alone", None)), "alone");
    }
}
