-- Content (REQUIREMENTS D1, D5, F1–F3, G2): columns, articles with their review and every
-- revision, files, tags, keyword links, the operators' dictionary, the sensitive-word library,
-- the change log the search indexes follow, follows, and traffic statistics (aggregates only).

CREATE TABLE content_columns (
    id          TEXT PRIMARY KEY,          -- slug, also the path segment: policy, policy-national, education-red …
    parent_id   TEXT REFERENCES content_columns (id),
    name        TEXT NOT NULL,
    section     TEXT NOT NULL,             -- policy | education | news | notice: the top-level column it belongs to
    level       TEXT,                      -- policies: national | province | city | county
    position    INTEGER NOT NULL,
    builtin     INTEGER NOT NULL,          -- 1: shipped with the hub, cannot be deleted
    created_at  INTEGER NOT NULL
);

CREATE TABLE content_articles (
    id               TEXT PRIMARY KEY,     -- uuid
    title            TEXT NOT NULL,
    summary          TEXT NOT NULL,
    body             TEXT NOT NULL,        -- sanitised HTML (the allowlist of cms::sanitize)
    body_text        TEXT NOT NULL,        -- the body's text, for search and excerpts
    tags             TEXT NOT NULL,        -- JSON array of tags
    source           TEXT,                 -- where it was first published (发文机关 / 来源)
    department_id    TEXT,                 -- government organisation that owns the policy, if any
    department_name  TEXT,
    status           TEXT NOT NULL,        -- draft | pending | published | rejected | withdrawn
    reject_reason    TEXT,
    held_words       TEXT,                 -- JSON array of sensitive words found when it was submitted (held for review)
    revision         INTEGER NOT NULL,     -- the current revision's number
    author           TEXT NOT NULL,        -- actor: admin:<id> or account:<id>
    author_name      TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    submitted_at     INTEGER,
    published_at     INTEGER,
    reviewed_by      TEXT,
    deleted_at       INTEGER,              -- in the recycle bin since; NULL when not
    deleted_by       TEXT
);
CREATE INDEX content_articles_status ON content_articles (status, deleted_at, updated_at);
CREATE INDEX content_articles_published ON content_articles (published_at);

CREATE TABLE content_article_columns (
    article_id  TEXT NOT NULL REFERENCES content_articles (id) ON DELETE CASCADE,
    column_id   TEXT NOT NULL REFERENCES content_columns (id),
    PRIMARY KEY (article_id, column_id)
);
CREATE INDEX content_article_columns_by_column ON content_article_columns (column_id);

CREATE TABLE content_article_tags (
    article_id  TEXT NOT NULL REFERENCES content_articles (id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (article_id, tag)
);
CREATE INDEX content_article_tags_by_tag ON content_article_tags (tag);

CREATE TABLE content_revisions (
    article_id  TEXT NOT NULL REFERENCES content_articles (id) ON DELETE CASCADE,
    revision    INTEGER NOT NULL,
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    body        TEXT NOT NULL,
    tags        TEXT NOT NULL,             -- JSON array
    columns     TEXT NOT NULL,             -- JSON array of column ids
    source      TEXT,
    saved_at    INTEGER NOT NULL,
    saved_by    TEXT NOT NULL,             -- actor
    saved_by_name TEXT NOT NULL,
    PRIMARY KEY (article_id, revision)
);

CREATE TABLE content_files (
    id            TEXT PRIMARY KEY,        -- uuid, also the object's key in the file store
    article_id    TEXT REFERENCES content_articles (id) ON DELETE SET NULL,
    name          TEXT NOT NULL,           -- the uploaded file's name, for the download
    content_type  TEXT NOT NULL,           -- from the content's signature, not the name
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    is_image      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL
);
CREATE INDEX content_files_by_article ON content_files (article_id);

CREATE TABLE content_keyword_links (
    keyword     TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE dictionary_entries (
    category    TEXT NOT NULL,             -- guarantee_method | industry | region | …
    code        TEXT NOT NULL,
    label       TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (category, code)
);

CREATE TABLE sensitive_words (
    word        TEXT PRIMARY KEY,
    category    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
);

-- What changed, for each node's search index to follow (and every node's word list).
CREATE TABLE content_changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id  TEXT NOT NULL,             -- the article, or * for "rebuild everything"
    at          INTEGER NOT NULL
);

CREATE TABLE content_follows (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,             -- column | tag
    target      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, target)
);

-- Traffic statistics: aggregates per day, nothing per person (a visitor is an HMAC of the
-- day, address and browser, kept only to count distinct visitors).
CREATE TABLE page_views_daily (
    day         INTEGER NOT NULL,          -- yyyymmdd (China Standard Time)
    path        TEXT NOT NULL,
    column_id   TEXT,
    views       INTEGER NOT NULL,
    entries     INTEGER NOT NULL,          -- views that began a visit (no referrer from this site)
    PRIMARY KEY (day, path)
);
CREATE TABLE page_referrers_daily (
    day         INTEGER NOT NULL,
    source      TEXT NOT NULL,             -- the referring host
    engine      TEXT NOT NULL,             -- search engine's name, or '' for other sites
    term        TEXT NOT NULL,             -- the search terms, or ''
    views       INTEGER NOT NULL,
    PRIMARY KEY (day, source, term)
);
CREATE TABLE page_visitors_daily (
    day         INTEGER NOT NULL,
    visitor     BLOB NOT NULL,             -- HMAC-SM3 of day, address and browser, truncated
    PRIMARY KEY (day, visitor)
);
CREATE TABLE article_views_hourly (
    article_id  TEXT NOT NULL,
    hour        INTEGER NOT NULL,          -- unix hour
    views       INTEGER NOT NULL,
    PRIMARY KEY (article_id, hour)
);

-- The columns the portal ships with (operators add sub-columns).
INSERT INTO content_columns (id, parent_id, name, section, level, position, builtin, created_at) VALUES
    ('policy', NULL, '政策专题', 'policy', NULL, 1, 1, 0),
    ('policy-national', 'policy', '国家', 'policy', 'national', 1, 1, 0),
    ('policy-fujian', 'policy', '福建省', 'policy', 'province', 2, 1, 0),
    ('policy-longyan', 'policy', '龙岩市', 'policy', 'city', 3, 1, 0),
    ('policy-xinluo', 'policy', '新罗区', 'policy', 'county', 4, 1, 0),
    ('policy-yongding', 'policy', '永定区', 'policy', 'county', 5, 1, 0),
    ('policy-zhangping', 'policy', '漳平市', 'policy', 'county', 6, 1, 0),
    ('policy-changting', 'policy', '长汀县', 'policy', 'county', 7, 1, 0),
    ('policy-shanghang', 'policy', '上杭县', 'policy', 'county', 8, 1, 0),
    ('policy-wuping', 'policy', '武平县', 'policy', 'county', 9, 1, 0),
    ('policy-liancheng', 'policy', '连城县', 'policy', 'county', 10, 1, 0),
    ('education', NULL, '金融教育', 'education', NULL, 2, 1, 0),
    ('education-knowledge', 'education', '金融知识', 'education', NULL, 1, 1, 0),
    ('education-law', 'education', '金融法规', 'education', NULL, 2, 1, 0),
    ('education-red', 'education', '红色金融', 'education', NULL, 3, 1, 0),
    ('news', NULL, '新闻资讯', 'news', NULL, 3, 1, 0),
    ('notice', NULL, '通知公告', 'notice', NULL, 4, 1, 0);

-- The dictionary's first entries (select lists of the portal's forms).
INSERT INTO dictionary_entries (category, code, label, position) VALUES
    ('guarantee_method', 'credit', '信用', 1),
    ('guarantee_method', 'mortgage', '抵押', 2),
    ('guarantee_method', 'pledge', '质押', 3),
    ('guarantee_method', 'guarantee', '保证', 4),
    ('guarantee_method', 'combined', '组合担保', 5),
    ('industry', 'agriculture', '农林牧渔', 1),
    ('industry', 'manufacturing', '制造业', 2),
    ('industry', 'construction', '建筑业', 3),
    ('industry', 'wholesale', '批发和零售业', 4),
    ('industry', 'logistics', '交通运输与物流', 5),
    ('industry', 'tech', '信息技术服务', 6),
    ('industry', 'tourism', '文化旅游', 7),
    ('industry', 'other', '其他', 8),
    ('region', 'xinluo', '新罗区', 1),
    ('region', 'yongding', '永定区', 2),
    ('region', 'zhangping', '漳平市', 3),
    ('region', 'changting', '长汀县', 4),
    ('region', 'shanghang', '上杭县', 5),
    ('region', 'wuping', '武平县', 6),
    ('region', 'liancheng', '连城县', 7);
