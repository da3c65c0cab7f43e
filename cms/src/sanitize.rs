//! The HTML an editor may store: an allowlist (ammonia) of text-structure tags, links to
//! http(s)/mailto or this site, and images; everything else — scripts, event handlers, styles,
//! SVG, frames, forms, `javascript:` and `data:` URLs — is removed. Then the operators' keyword
//! links are added to the text (outside existing links), and the plain text is taken for
//! search and excerpts.

use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasickBuilder, MatchKind};

const TAGS: &[&str] = &[
    "p",
    "br",
    "h2",
    "h3",
    "h4",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "sub",
    "sup",
    "blockquote",
    "pre",
    "code",
    "ul",
    "ol",
    "li",
    "a",
    "img",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
];

/// Tags removed with everything inside them.
const DROPPED_WITH_CONTENT: &[&str] = &[
    "script", "style", "svg", "math", "iframe", "object", "embed", "template", "noscript",
    "textarea", "select",
];

/// The stored form of an editor's HTML.
pub fn clean(html: &str) -> String {
    let mut attrs: HashMap<&str, HashSet<&str>> = HashMap::new();
    attrs.insert("a", ["href", "title"].into_iter().collect());
    attrs.insert(
        "img",
        ["src", "alt", "width", "height"].into_iter().collect(),
    );
    attrs.insert("td", ["colspan", "rowspan"].into_iter().collect());
    attrs.insert("th", ["colspan", "rowspan"].into_iter().collect());
    ammonia::Builder::empty()
        .tags(TAGS.iter().copied().collect())
        .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
        .tag_attributes(attrs)
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true)
        .clean(html)
        .to_string()
}

/// The text of stored HTML (tags dropped, entities decoded, blocks separated by a space).
pub fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut entity = String::new();
    let mut in_entity = false;
    for c in html.chars() {
        if in_tag {
            if c == '>' {
                in_tag = false;
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            continue;
        }
        if in_entity {
            if c == ';' {
                in_entity = false;
                out.push_str(match entity.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "#39" | "apos" => "'",
                    "nbsp" => " ",
                    _ => "",
                });
                entity.clear();
            } else if entity.len() < 8 {
                entity.push(c);
            } else {
                in_entity = false;
                out.push('&');
                out.push_str(&entity);
                entity.clear();
            }
            continue;
        }
        match c {
            '<' => in_tag = true,
            '&' => in_entity = true,
            c => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `html` (already clean) with the first occurrence of each keyword outside a link turned into
/// a link to its address. Keywords are matched in text only, never in tags or attributes.
pub fn link_keywords(html: &str, links: &[(String, String)]) -> String {
    if links.is_empty() {
        return html.to_owned();
    }
    let Ok(ac) = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(links.iter().map(|(k, _)| k.as_str()))
    else {
        return html.to_owned();
    };
    let mut used = vec![false; links.len()];
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    let mut in_link = 0usize;
    while !rest.is_empty() {
        if let Some(tag_end) = rest.starts_with('<').then(|| rest.find('>')).flatten() {
            let tag = &rest[..=tag_end];
            let lower = tag.to_ascii_lowercase();
            if lower.starts_with("<a ") || lower == "<a>" {
                in_link += 1;
            } else if lower.starts_with("</a") {
                in_link = in_link.saturating_sub(1);
            }
            out.push_str(tag);
            rest = &rest[tag_end + 1..];
            continue;
        }
        let text_end = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..text_end];
        if in_link > 0 {
            out.push_str(text);
        } else {
            let mut at = 0;
            for m in ac.find_iter(text) {
                let i = m.pattern().as_usize();
                if used[i] {
                    continue;
                }
                used[i] = true;
                out.push_str(&text[at..m.start()]);
                out.push_str("<a class=\"keyword\" href=\"");
                out.push_str(&attr_escape(&links[i].1));
                out.push_str("\">");
                out.push_str(&text[m.start()..m.end()]);
                out.push_str("</a>");
                at = m.end();
            }
            out.push_str(&text[at..]);
        }
        rest = &rest[text_end..];
        if rest.starts_with('<') && !rest.contains('>') {
            out.push_str(rest);
            break;
        }
    }
    out
}

fn attr_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Whether `url` may be a keyword link's address: http(s) or a path of this site.
pub fn link_target_ok(url: &str) -> bool {
    let u = url.trim();
    (u.starts_with("https://")
        || u.starts_with("http://")
        || (u.starts_with('/') && !u.starts_with("//")))
        && !u
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        && u.len() <= 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_structure_and_drops_active_content() {
        let out = clean(
            r#"<h2 onclick="x()">标题</h2><p style="color:red">正文<script>alert(1)</script></p><a href="javascript:alert(1)">链接</a><img src="/files/1" onerror="alert(1)"><svg><script>alert(2)</script></svg>"#,
        );
        assert_eq!(
            out,
            r#"<h2>标题</h2><p>正文</p><a rel="noopener noreferrer nofollow">链接</a><img src="/files/1">"#
        );
    }

    #[test]
    fn text_and_entities() {
        assert_eq!(
            text_of("<p>贴息&amp;担保</p><p>征信 &lt;2&gt;</p>"),
            "贴息&担保 征信 <2>"
        );
    }

    #[test]
    fn keyword_links_only_in_text_and_once() {
        let links = vec![("征信".to_owned(), "/search?q=征信".to_owned())];
        let out = link_keywords(
            r#"<p title="征信">征信报告与征信</p><a href="/x">征信</a>"#,
            &links,
        );
        assert_eq!(
            out,
            r#"<p title="征信"><a class="keyword" href="/search?q=征信">征信</a>报告与征信</p><a href="/x">征信</a>"#
        );
        assert!(link_target_ok("https://example.cn/a"));
        assert!(!link_target_ok("javascript:alert(1)"));
        assert!(!link_target_ok("//evil.example"));
    }
}
