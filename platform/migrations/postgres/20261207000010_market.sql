-- The finance marketplace (REQUIREMENTS D2–D4, D6): institutions' products with the operators'
-- review, enterprises' financing demands with the operators' review, matching, 抢单 (one
-- winner per demand, decided by one conditional UPDATE), confirmation that reveals the
-- enterprise to the winning institution, return to the market, disbursement. Money is integer
-- fen, rates integer basis points (1 bp = 0.01 %), terms whole months.

CREATE TABLE market_products (
    id                TEXT PRIMARY KEY,     -- uuid
    org_id            TEXT NOT NULL REFERENCES organisations (id),
    org_name          TEXT NOT NULL,        -- the institution's name when last saved
    institution_kind  TEXT NOT NULL,        -- bank | guarantee | microloan | insurance | securities | other
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL,        -- debt (债权) | equity (股权)
    guarantee         TEXT NOT NULL,        -- JSON array of dictionary codes (guarantee_method)
    loan_method       TEXT NOT NULL,        -- online | offline | both
    amount_min_fen    BIGINT NOT NULL,
    amount_max_fen    BIGINT NOT NULL,
    rate_min_bp       BIGINT NOT NULL,
    rate_max_bp       BIGINT NOT NULL,
    term_min_months   BIGINT NOT NULL,
    term_max_months   BIGINT NOT NULL,
    regions           TEXT NOT NULL,        -- JSON array of dictionary codes (region); empty: all of Longyan
    industries        TEXT NOT NULL,        -- JSON array of dictionary codes (industry); empty: any
    conditions        TEXT NOT NULL,        -- 申请条件
    intro             TEXT NOT NULL,        -- 产品介绍
    status            TEXT NOT NULL,        -- draft | pending | listed | rejected | unlisted
    reject_reason     TEXT,
    held_words        TEXT,                 -- JSON array of sensitive words held for the reviewer
    revision          BIGINT NOT NULL,      -- bumped by every change; a change names the revision it read
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    listed_at         BIGINT,
    reviewed_by       TEXT,
    deleted_at        BIGINT                -- deleted by the institution (kept for the audit trail)
);
CREATE INDEX market_products_status ON market_products (status, listed_at);
CREATE INDEX market_products_org ON market_products (org_id, updated_at);

CREATE TABLE market_demands (
    id               TEXT PRIMARY KEY,      -- uuid
    org_id           TEXT NOT NULL REFERENCES organisations (id),
    org_name         TEXT NOT NULL,         -- shown to an institution only once the enterprise confirmed it
    contact_name     TEXT NOT NULL,
    contact_phone    TEXT NOT NULL,
    amount_fen       BIGINT NOT NULL,
    term_months      BIGINT NOT NULL,
    max_rate_bp      BIGINT NOT NULL,       -- the highest annual rate the enterprise accepts
    guarantee        TEXT NOT NULL,         -- dictionary code (guarantee_method)
    industry         TEXT NOT NULL,         -- dictionary code (industry)
    region           TEXT NOT NULL,         -- dictionary code (region)
    purpose          TEXT NOT NULL,
    tags             TEXT NOT NULL,         -- JSON array: the enterprise's self-assessment tags
    status           TEXT NOT NULL,         -- pending | rejected | open | taken | confirmed | disbursed | withdrawn | deleted
    reject_reason    TEXT,
    held_words       TEXT,
    taker_org_id     TEXT,                  -- the institution that won the 抢单 (taken, confirmed, disbursed)
    taker_org_name   TEXT,
    taken_at         BIGINT,
    confirmed_at     BIGINT,
    disbursed_fen    BIGINT,
    disbursed_on     TEXT,                  -- YYYY-MM-DD
    closed_reason    TEXT,                  -- why the winner deleted it
    revision         BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    opened_at        BIGINT,                -- approved into the market (again, after a return)
    reviewed_by      TEXT
);
CREATE INDEX market_demands_status ON market_demands (status, opened_at);
CREATE INDEX market_demands_org ON market_demands (org_id, updated_at);
CREATE INDEX market_demands_taker ON market_demands (taker_org_id, taken_at);

-- What happened to a demand, in order (both sides read it; returns keep who returned it and why).
CREATE TABLE market_demand_events (
    demand_id   TEXT NOT NULL REFERENCES market_demands (id),
    at          BIGINT NOT NULL,
    action      TEXT NOT NULL,              -- submitted | approved | rejected | taken | confirmed | returned | disbursed | deleted | withdrawn
    org_id      TEXT,                       -- the organisation that acted (none: an operator)
    actor       TEXT NOT NULL,              -- account:<id> | admin:<id>
    detail      TEXT                        -- the reason or the amount, as people read it
);
CREATE INDEX market_demand_events_demand ON market_demand_events (demand_id, at);
