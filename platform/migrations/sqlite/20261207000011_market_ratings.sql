-- Ratings and the points ledger of the finance marketplace (REQUIREMENTS D8, D12). Once a
-- demand has ended (disbursed, or deleted by the institution holding it) each side rates the
-- other once. Points are a ledger, never a counter: an organisation's balance is the SUM of its
-- entries; the operators set how many points each rule gives.

CREATE TABLE market_ratings (
    id            TEXT PRIMARY KEY,      -- uuid
    demand_id     TEXT NOT NULL REFERENCES market_demands (id),
    from_org_id   TEXT NOT NULL REFERENCES organisations (id),
    from_side     TEXT NOT NULL,         -- enterprise | institution: the side that rates
    to_org_id     TEXT NOT NULL REFERENCES organisations (id),
    account_id    TEXT NOT NULL,         -- the member who rated
    score         BIGINT NOT NULL,       -- 1 to 5
    comment       TEXT NOT NULL,         -- up to 500 characters; may be empty
    held_words    TEXT,                  -- JSON array of sensitive words held for the reviewer
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX market_ratings_once ON market_ratings (demand_id, from_org_id);
CREATE INDEX market_ratings_to ON market_ratings (to_org_id, created_at);

-- How many points each event gives (set by the operators).
CREATE TABLE market_points_rules (
    code        TEXT PRIMARY KEY,        -- demand_approved | product_approved | disbursed | rating_positive | rating_negative | credit_refused
    label_zh    TEXT NOT NULL,
    points      BIGINT NOT NULL,         -- may be negative; 0 gives nothing
    updated_at  BIGINT,
    updated_by  TEXT                     -- admin:<id>
);
INSERT INTO market_points_rules (code, label_zh, points, updated_at, updated_by) VALUES
    ('demand_approved', '融资需求审核通过', 10, NULL, NULL),
    ('product_approved', '金融产品审核通过', 10, NULL, NULL),
    ('disbursed', '完成放款', 20, NULL, NULL),
    ('rating_positive', '获得好评（4 分及以上）', 5, NULL, NULL),
    ('rating_negative', '获得差评（2 分及以下）', -5, NULL, NULL),
    ('credit_refused', '需求被金融机构删除', -5, NULL, NULL);

-- The points ledger: one row per award; an organisation's balance is SUM(delta).
CREATE TABLE market_points (
    id          TEXT PRIMARY KEY,        -- uuid
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    account_id  TEXT,                    -- the member whose step earned it (none: the organisation)
    delta       BIGINT NOT NULL,
    reason      TEXT NOT NULL,           -- market_points_rules.code
    reference   TEXT NOT NULL,           -- demand:<id> | product:<id>
    at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX market_points_once ON market_points (org_id, reason, reference);
CREATE INDEX market_points_org ON market_points (org_id, at);
