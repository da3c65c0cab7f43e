//! The sensitive-word library (F2): words in categories, imported in bulk or entered by hand,
//! matched with one Aho-Corasick automaton so that a check costs the length of the text, not the
//! number of words. Every node keeps the automaton in memory and rebuilds it when the change
//! log says the library changed.

use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What to do with a submission that contains sensitive words (`content.sensitive_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SensitiveAction {
    /// Refuse it, the words marked for the author to change.
    Refuse,
    /// Accept it, held for a reviewer who sees the words marked.
    Review,
}

impl SensitiveAction {
    pub fn parse(text: &str) -> Option<SensitiveAction> {
        match text {
            "refuse" => Some(SensitiveAction::Refuse),
            "review" => Some(SensitiveAction::Review),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SensitiveAction::Refuse => "refuse",
            SensitiveAction::Review => "review",
        }
    }
}

/// The compiled library.
#[derive(Debug)]
pub struct Matcher {
    automaton: Option<AhoCorasick>,
    words: Vec<String>,
}

impl Matcher {
    /// An automaton over `words` (empty and duplicate entries ignored; ASCII letters match in
    /// either case; of overlapping words the longest is reported).
    pub fn new<I, S>(words: I) -> Matcher
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list: Vec<String> = words
            .into_iter()
            .map(|w| w.as_ref().trim().to_owned())
            .filter(|w| !w.is_empty())
            .collect();
        list.sort();
        list.dedup();
        let automaton = if list.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .ascii_case_insensitive(true)
                .build(&list)
                .ok()
        };
        Matcher {
            automaton,
            words: list,
        }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The distinct words found in `text`, in the order they first occur.
    pub fn find(&self, text: &str) -> Vec<String> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let mut found: Vec<String> = Vec::new();
        for m in ac.find_iter(text) {
            let w = &self.words[m.pattern().as_usize()];
            if !found.iter().any(|f| f == w) {
                found.push(w.clone());
            }
        }
        found
    }

    /// `text` HTML-escaped with every occurrence of a word in `<mark>` (for the reviewer and
    /// the author to see where they are).
    pub fn mark(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 32);
        let mut at = 0;
        if let Some(ac) = &self.automaton {
            for m in ac.find_iter(text) {
                escape_into(&mut out, &text[at..m.start()]);
                out.push_str("<mark>");
                escape_into(&mut out, &text[m.start()..m.end()]);
                out.push_str("</mark>");
                at = m.end();
            }
        }
        escape_into(&mut out, &text[at..]);
        out
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The words found in each of `fields` (name, text): the fields without any are left out.
pub fn screen(matcher: &Matcher, fields: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
    fields
        .iter()
        .filter_map(|(name, text)| {
            let found = matcher.find(text);
            (!found.is_empty()).then(|| ((*name).to_owned(), found))
        })
        .collect()
}

/// The library of this node, swapped whole when it is rebuilt.
#[derive(Clone, Debug)]
pub struct Library {
    current: Arc<RwLock<Arc<Matcher>>>,
}

impl Default for Library {
    fn default() -> Self {
        Library {
            current: Arc::new(RwLock::new(Arc::new(Matcher::new(Vec::<String>::new())))),
        }
    }
}

impl Library {
    pub fn matcher(&self) -> Arc<Matcher> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn replace(&self, m: Matcher) {
        let m = Arc::new(m);
        match self.current.write() {
            Ok(mut g) => *g = m,
            Err(p) => *p.into_inner() = m,
        }
    }
}

/// The words of an imported text file: one per line, `#` comments and blank lines skipped, a
/// byte-order mark tolerated, words longer than 50 characters refused (with their line).
pub fn parse_import(text: &str) -> Result<Vec<String>, Vec<usize>> {
    let mut words = Vec::new();
    let mut too_long = Vec::new();
    for (n, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let w = line.trim();
        if w.is_empty() || w.starts_with('#') {
            continue;
        }
        if w.chars().count() > 50 {
            too_long.push(n + 1);
            continue;
        }
        words.push(w.to_owned());
    }
    if too_long.is_empty() {
        Ok(words)
    } else {
        Err(too_long)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_words_once_each_in_order_and_longest_first() {
        let m = Matcher::new(["赌博", "网络赌博", "Casino", "", "赌博"]);
        assert_eq!(m.len(), 3);
        let found = m.find("这是网络赌博广告，赌博和 casino 都不行，赌博");
        assert_eq!(found, vec!["网络赌博", "赌博", "Casino"]);
        assert!(m.find("普惠金融政策").is_empty());
    }

    #[test]
    fn marks_escape_the_rest() {
        let m = Matcher::new(["赌博"]);
        assert_eq!(
            m.mark("<b>赌博</b>"),
            "&lt;b&gt;<mark>赌博</mark>&lt;/b&gt;"
        );
        assert_eq!(Matcher::new(Vec::<String>::new()).mark("a<b"), "a&lt;b");
    }

    #[test]
    fn screens_fields() {
        let m = Matcher::new(["代开发票"]);
        let hits = screen(&m, &[("title", "正常标题"), ("body", "可代开发票")]);
        assert_eq!(hits, vec![("body".to_owned(), vec!["代开发票".to_owned()])]);
    }

    #[test]
    fn imports_lines() {
        assert_eq!(
            parse_import("\u{feff}甲\n\n# 注释\n 乙 \r\n丙").unwrap(),
            vec!["甲", "乙", "丙"]
        );
        let long = "长".repeat(51);
        assert_eq!(parse_import(&format!("甲\n{long}")), Err(vec![2]));
    }
}
