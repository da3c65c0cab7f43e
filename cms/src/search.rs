//! Chinese full-text search over published content (F2): a tantivy index per node, words cut
//! by jieba (documents in search mode, so that both 征信报告 and 征信 are terms; queries in the
//! default mode, every word required), titles weighted above bodies, snippets highlighted.
//!
//! The index is derived: the store is the source of truth, and each node applies the store's
//! change log (`content_changes`) to its own index; the last change applied is kept in the
//! index's commit, so a restarted node goes on where it stopped, and an empty or unreadable
//! index is rebuilt from the store.

use std::ops::Bound;
use std::path::Path;
use std::sync::{LazyLock, Mutex};

use jieba_rs::Jieba;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{LowerCaser, TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Cuts Chinese text into words with jieba (search mode: long words and the words inside them),
/// dropping spaces and punctuation.
#[derive(Clone, Copy, Debug, Default)]
pub struct JiebaTokenizer;

pub struct JiebaStream {
    tokens: Vec<Token>,
    at: usize,
}

impl TokenStream for JiebaStream {
    fn advance(&mut self) -> bool {
        if self.at < self.tokens.len() {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.at - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.at - 1]
    }
}

fn is_word(w: &str) -> bool {
    w.chars().any(char::is_alphanumeric)
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaStream {
        let tokens = JIEBA
            .cut_for_search(text, true)
            .into_iter()
            .filter(|t| is_word(t.word))
            .enumerate()
            .map(|(i, t)| Token {
                offset_from: t.byte_start,
                offset_to: t.byte_end,
                position: i,
                text: t.word.to_owned(),
                position_length: 1,
            })
            .collect();
        JiebaStream { tokens, at: 0 }
    }
}

/// The words of a query: jieba's default cut (the longest words), lowercased, deduplicated.
pub fn query_words(q: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for t in JIEBA.cut(q, true) {
        if !is_word(t.word) {
            continue;
        }
        let w = t.word.to_lowercase();
        if !words.contains(&w) {
            words.push(w);
        }
    }
    words.truncate(12);
    words
}

const TOKENIZER: &str = "zh";

#[derive(Clone, Copy, Debug)]
struct Fields {
    id: Field,
    title: Field,
    body: Field,
    columns: Field,
    published: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
        .set_stored();
    let id = b.add_text_field("id", STRING | STORED);
    let title = b.add_text_field("title", text.clone());
    let body = b.add_text_field("body", text);
    let columns = b.add_text_field("columns", STRING | STORED);
    let published = b.add_i64_field("published", INDEXED | STORED | tantivy::schema::FAST);
    (
        b.build(),
        Fields {
            id,
            title,
            body,
            columns,
            published,
        },
    )
}

/// A published article as the index holds it.
#[derive(Clone, Debug)]
pub struct IndexedDoc {
    pub id: String,
    pub title: String,
    pub body_text: String,
    /// Its columns and their sections (filters).
    pub columns: Vec<String>,
    pub published_at: i64,
}

/// What a search asks.
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    pub q: String,
    /// A column or section id.
    pub column: Option<String>,
    pub from: Option<i64>,
    pub until: Option<i64>,
    pub offset: usize,
    pub limit: usize,
}

/// One result, with its title and an excerpt highlighted (`<mark>`, the rest escaped).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub title_html: String,
    pub snippet_html: String,
    pub columns: Vec<String>,
    pub published_at: i64,
    pub score: f32,
}

/// A page of results.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Found {
    pub total: usize,
    pub hits: Vec<Hit>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(pub String);

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError(e.to_string())
    }
}

/// One node's index.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    /// Where the index lives: a directory, or memory when the directory's lock is held by
    /// another process (a second hub on the same data directory).
    pub location: String,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("location", &self.location)
            .finish()
    }
}

const WRITER_MEMORY: usize = 32 * 1024 * 1024;

impl SearchIndex {
    /// Opens (or creates) the index in `dir`; in memory when another process holds `dir`.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        let on_disk = std::fs::create_dir_all(dir)
            .map_err(|e| SearchError(e.to_string()))
            .and_then(|()| {
                tantivy::directory::MmapDirectory::open(dir).map_err(|e| SearchError(e.to_string()))
            })
            .and_then(|d| Index::open_or_create(d, schema.clone()).map_err(SearchError::from))
            .and_then(|index| Self::with_index(index, fields, dir.display().to_string()));
        match on_disk {
            Ok(s) => Ok(s),
            Err(e) => {
                tracing::info!(dir = %dir.display(), error = %e, "the search index directory is in use or unreadable; this process keeps its index in memory");
                Self::with_index(Index::create_in_ram(schema), fields, "memory".to_owned())
            }
        }
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields, "memory".to_owned())
    }

    fn with_index(
        index: Index,
        fields: Fields,
        location: String,
    ) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::builder(JiebaTokenizer)
                .filter(LowerCaser)
                .build(),
        );
        let writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            location,
        })
    }

    /// The last change of the store's log that this index holds; `None` when it was never
    /// built (then it is rebuilt from the store).
    pub fn applied(&self) -> Option<i64> {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.parse().ok())
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn document(&self, d: &IndexedDoc) -> TantivyDocument {
        let f = self.fields;
        let mut doc = doc!(
            f.id => d.id.as_str(),
            f.title => d.title.as_str(),
            f.body => d.body_text.as_str(),
            f.published => d.published_at,
        );
        for c in &d.columns {
            doc.add_text(f.columns, c);
        }
        doc
    }

    /// Applies changes: each id is removed, then added again when `docs` has it (a published
    /// article); `upto` is recorded as applied, and readers see the result when this returns.
    pub fn apply(
        &self,
        removed: &[String],
        docs: &[IndexedDoc],
        upto: i64,
    ) -> Result<(), SearchError> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| SearchError("index writer poisoned".into()))?;
        for id in removed {
            w.delete_term(Term::from_field_text(self.fields.id, id));
        }
        for d in docs {
            w.delete_term(Term::from_field_text(self.fields.id, &d.id));
            w.add_document(self.document(d))?;
        }
        let mut commit = w.prepare_commit()?;
        commit.set_payload(&upto.to_string());
        commit.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Replaces everything with `docs`, recording `upto` as applied.
    pub fn rebuild(&self, docs: &[IndexedDoc], upto: i64) -> Result<(), SearchError> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| SearchError("index writer poisoned".into()))?;
        w.delete_all_documents()?;
        for d in docs {
            w.add_document(self.document(d))?;
        }
        let mut commit = w.prepare_commit()?;
        commit.set_payload(&upto.to_string());
        commit.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Published content matching every word of `q.q`, best first (a title hit weighs three
    /// times a body hit), within the column and dates asked.
    pub fn search(&self, q: &SearchQuery) -> Result<Found, SearchError> {
        let f = self.fields;
        let words = query_words(&q.q);
        if words.is_empty() {
            return Ok(Found {
                total: 0,
                hits: Vec::new(),
            });
        }
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in &words {
            let title: Box<dyn Query> = Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(f.title, w),
                    IndexRecordOption::WithFreqs,
                )),
                3.0,
            ));
            let body: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(f.body, w),
                IndexRecordOption::WithFreqs,
            ));
            must.push((
                Occur::Must,
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, title),
                    (Occur::Should, body),
                ])),
            ));
        }
        if let Some(c) = &q.column {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.columns, c),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if q.from.is_some() || q.until.is_some() {
            let lower = q.from.map_or(Bound::Unbounded, |v| {
                Bound::Included(Term::from_field_i64(f.published, v))
            });
            let upper = q.until.map_or(Bound::Unbounded, |v| {
                Bound::Excluded(Term::from_field_i64(f.published, v))
            });
            must.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        let query = BooleanQuery::new(must);
        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, 100);
        let (top, total) = searcher.search(
            &query,
            &(
                TopDocs::with_limit(limit)
                    .and_offset(q.offset)
                    .order_by_score(),
                Count,
            ),
        )?;
        let mut body_snippets = SnippetGenerator::create(&searcher, &query, f.body)?;
        body_snippets.set_max_num_chars(160);
        let mut title_snippets = SnippetGenerator::create(&searcher, &query, f.title)?;
        title_snippets.set_max_num_chars(500);
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let title = text(f.title);
            let mut ts = title_snippets.snippet(&title);
            ts.set_snippet_prefix_postfix("<mark>", "</mark>");
            let title_html = if ts.is_empty() {
                escape(&title)
            } else {
                ts.to_html()
            };
            let body = text(f.body);
            let mut bs = body_snippets.snippet(&body);
            bs.set_snippet_prefix_postfix("<mark>", "</mark>");
            let snippet_html = if bs.is_empty() {
                escape(&body.chars().take(120).collect::<String>())
            } else {
                bs.to_html()
            };
            hits.push(Hit {
                id: text(f.id),
                title,
                title_html,
                snippet_html,
                columns: doc
                    .get_all(f.columns)
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                published_at: doc
                    .get_first(f.published)
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0),
                score,
            });
        }
        Ok(Found { total, hits })
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, title: &str, body: &str, columns: &[&str], at: i64) -> IndexedDoc {
        IndexedDoc {
            id: id.to_owned(),
            title: title.to_owned(),
            body_text: body.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            published_at: at,
        }
    }

    fn ids(f: &Found) -> Vec<&str> {
        f.hits.iter().map(|h| h.id.as_str()).collect()
    }

    #[test]
    fn two_character_words_match_and_titles_rank_first() {
        let s = SearchIndex::in_memory().unwrap();
        s.apply(
            &[],
            &[
                doc(
                    "a",
                    "小微企业贷款贴息政策",
                    "对符合条件的小微企业给予贷款贴息。",
                    &["policy", "policy-longyan"],
                    10,
                ),
                doc(
                    "b",
                    "金融知识：如何看懂个人征信报告",
                    "征信报告记录了信用信息。",
                    &["education"],
                    20,
                ),
                doc(
                    "c",
                    "新闻：普惠金融服务进园区",
                    "银行介绍了征信、担保和贴息等服务。",
                    &["news"],
                    30,
                ),
                doc(
                    "d",
                    "融资担保公司服务指南",
                    "政府性融资担保机构降低担保费率。",
                    &["education"],
                    40,
                ),
            ],
            7,
        )
        .unwrap();
        assert_eq!(s.applied(), Some(7));
        assert_eq!(
            ids(&s
                .search(&SearchQuery {
                    q: "征信".into(),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()),
            vec!["b", "c"]
        );
        assert_eq!(
            ids(&s
                .search(&SearchQuery {
                    q: "贴息".into(),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()),
            vec!["a", "c"]
        );
        assert_eq!(
            ids(&s
                .search(&SearchQuery {
                    q: "担保".into(),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()),
            vec!["d", "c"]
        );
        // Filters by column and date.
        let f = s
            .search(&SearchQuery {
                q: "担保".into(),
                column: Some("news".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(ids(&f), vec!["c"]);
        let f = s
            .search(&SearchQuery {
                q: "贴息".into(),
                from: Some(11),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(ids(&f), vec!["c"]);
        // Highlights, the rest escaped.
        let f = s
            .search(&SearchQuery {
                q: "征信".into(),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert!(
            f.hits[0].title_html.contains("<mark>征信</mark>"),
            "{}",
            f.hits[0].title_html
        );
        assert!(f.hits[1].snippet_html.contains("<mark>征信</mark>"));
        // Removal.
        s.apply(&["b".to_owned()], &[], 8).unwrap();
        assert_eq!(
            ids(&s
                .search(&SearchQuery {
                    q: "征信".into(),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()),
            vec!["c"]
        );
        assert_eq!(s.applied(), Some(8));
        s.rebuild(&[], 9).unwrap();
        assert_eq!(s.num_docs(), 0);
    }

    #[test]
    fn a_reopened_index_remembers_what_it_applied() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SearchIndex::open(dir.path()).unwrap();
            s.apply(&[], &[doc("a", "征信", "", &["news"], 1)], 42)
                .unwrap();
        }
        let s = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(s.applied(), Some(42));
        assert_eq!(SearchIndex::in_memory().unwrap().applied(), None);
        assert_eq!(s.num_docs(), 1);
    }
}
