-- Applications for products, in-site messages and feedback deadlines of the finance
-- marketplace (REQUIREMENTS D3, D8). An enterprise applies for a listed product; the
-- institution accepts, asks for more, refuses (with a reason) or records the loan; every step
-- sends the other side an in-site message. Operators set how long an institution may take to
-- answer (时限规则); a reminder is sent once per overdue step, decided by a unique key so that
-- several hub nodes never send it twice; the overdue steps count against the institution's
-- rating.

CREATE TABLE market_applications (
    id               TEXT PRIMARY KEY,      -- uuid
    product_id       TEXT NOT NULL REFERENCES market_products (id),
    product_name     TEXT NOT NULL,         -- the product's name when applied for
    inst_org_id      TEXT NOT NULL REFERENCES organisations (id),   -- the institution offering it
    inst_org_name    TEXT NOT NULL,
    org_id           TEXT NOT NULL REFERENCES organisations (id),   -- the enterprise applying
    org_name         TEXT NOT NULL,
    account_id       TEXT NOT NULL,         -- the member who applied
    contact_name     TEXT NOT NULL,
    contact_phone    TEXT NOT NULL,
    amount_fen       BIGINT NOT NULL,
    term_months      BIGINT NOT NULL,
    purpose          TEXT NOT NULL,
    note             TEXT NOT NULL,         -- the enterprise's latest remark (the supplement)
    status           TEXT NOT NULL,         -- submitted | more_needed | accepted | refused | disbursed | withdrawn
    answer           TEXT,                  -- the institution's latest answer: what is missing, why refused
    disbursed_fen    BIGINT,
    disbursed_on     TEXT,                  -- YYYY-MM-DD
    waiting_since    BIGINT NOT NULL,       -- when the institution's current turn began (feedback deadline)
    handler_account_id TEXT,                -- the institution's member assigned to it (经办人)
    handler_name     TEXT,
    revision         BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX market_applications_inst ON market_applications (inst_org_id, updated_at);
CREATE INDEX market_applications_org ON market_applications (org_id, updated_at);
CREATE INDEX market_applications_status ON market_applications (status, waiting_since);

CREATE TABLE market_application_events (
    application_id  TEXT NOT NULL REFERENCES market_applications (id),
    seq             BIGINT NOT NULL,        -- the application's revision after the step: the order
    at              BIGINT NOT NULL,
    action          TEXT NOT NULL,          -- submitted | supplemented | accepted | more_needed | refused | disbursed | withdrawn
    org_id          TEXT NOT NULL,          -- the organisation that acted
    actor           TEXT NOT NULL,          -- account:<id>
    detail          TEXT
);
CREATE UNIQUE INDEX market_application_events_app ON market_application_events (application_id, seq);

-- In-site messages (站内消息): to an organisation; every member of it reads them and has their
-- own read marks.
CREATE TABLE market_messages (
    id          TEXT PRIMARY KEY,           -- uuid
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    link        TEXT,                       -- the page it is about (a path on the site)
    reference   TEXT NOT NULL,              -- demand:<id> | application:<id> | product:<id>
    created_at  BIGINT NOT NULL
);
CREATE INDEX market_messages_org ON market_messages (org_id, created_at);

CREATE TABLE market_message_reads (
    message_id  TEXT NOT NULL REFERENCES market_messages (id),
    account_id  TEXT NOT NULL,
    read_at     BIGINT NOT NULL,
    PRIMARY KEY (message_id, account_id)
);

-- 时限规则: how many hours an institution has for each kind of feedback (set by the operators).
CREATE TABLE market_deadlines (
    code        TEXT PRIMARY KEY,           -- demand_feedback | application_feedback
    label_zh    TEXT NOT NULL,
    hours       BIGINT NOT NULL,            -- 0: no deadline
    updated_at  BIGINT,
    updated_by  TEXT
);
INSERT INTO market_deadlines (code, label_zh, hours, updated_at, updated_by) VALUES
    ('demand_feedback', '抢单后反馈对接结果（放款、退回或删除）', 120, NULL, NULL),
    ('application_feedback', '收到产品申请后答复（受理、补充材料或拒绝）', 72, NULL, NULL);

-- One row per overdue step (a demand's taking, an application's turn): inserting it decides the
-- one node that sends the reminder.
CREATE TABLE market_overdue (
    reference   TEXT NOT NULL,              -- demand:<id> | application:<id>
    started_at  BIGINT NOT NULL,            -- when the institution's turn began (taken_at, waiting_since)
    org_id      TEXT NOT NULL REFERENCES organisations (id),   -- the institution that is late
    rule        TEXT NOT NULL,              -- market_deadlines.code
    due_at      BIGINT NOT NULL,
    reminded_at BIGINT NOT NULL,
    PRIMARY KEY (reference, started_at)
);
CREATE INDEX market_overdue_org ON market_overdue (org_id, reminded_at);

-- One application in progress per enterprise and product.
CREATE UNIQUE INDEX market_applications_open ON market_applications (org_id, product_id) WHERE status IN ('submitted', 'more_needed', 'accepted');

-- A refused application costs the enterprise the same points as a deleted demand.
UPDATE market_points_rules SET label_zh = '融资申请被拒绝或需求被金融机构删除' WHERE code = 'credit_refused';

-- Points for joining the marketplace and for the first sign-in of each day (per organisation).
INSERT INTO market_points_rules (code, label_zh, points, updated_at, updated_by) VALUES
    ('registered', '注册并首次登录平台', 20, NULL, NULL),
    ('daily_sign_in', '每日首次登录', 1, NULL, NULL);

-- An institution's marketplace profile (机构资料) besides its organisation record: the kind of
-- institution and its logo (a `content_files` image), set by its main account.
CREATE TABLE market_institutions (
    org_id        TEXT PRIMARY KEY REFERENCES organisations (id),
    kind          TEXT,                     -- bank | guarantee | microloan | insurance | securities | other
    logo_file_id  TEXT,                     -- content_files.id
    updated_at    BIGINT NOT NULL,
    updated_by    TEXT NOT NULL             -- account:<id>
);
CREATE INDEX market_institutions_kind ON market_institutions (kind);

-- The institution's member handling a demand it holds (经办人): the member who took it, or the
-- one the main account assigned it to.
ALTER TABLE market_demands ADD COLUMN handler_account_id TEXT;
ALTER TABLE market_demands ADD COLUMN handler_name TEXT;
