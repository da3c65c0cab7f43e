-- Organisations (REQUIREMENTS E1, G1): enterprises, financial institutions, government
-- departments, intermediaries and the platform's operator, each reviewed by the operators
-- before its accounts may act for it; and which account belongs to which organisation.

CREATE TABLE organisations (
    id             TEXT PRIMARY KEY,      -- uuid
    kind           TEXT NOT NULL,         -- enterprise | institution | government | intermediary | operator
    name           TEXT NOT NULL,
    uscc_index     BLOB UNIQUE,           -- HMAC-SM3 blind index of the unified social credit code (as accounts.key_index); NULL without one
    uscc_enc       BLOB,                  -- SM4-GCM of the credit code, bound to the id
    uscc_masked    TEXT,                  -- 9135**********0029
    contact_name   TEXT,
    contact_phone  TEXT,
    introduction   TEXT,
    status         TEXT NOT NULL,         -- pending | approved | rejected | disabled
    reject_reason  TEXT,                  -- why the operators rejected it (status rejected)
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    reviewed_at    INTEGER,
    reviewed_by    TEXT                   -- actor: admin:<id>, token:<id> or system:<why>
);
CREATE INDEX organisations_listing ON organisations (status, kind, created_at);

CREATE TABLE org_members (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,  -- an account belongs to one organisation at most
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    role        TEXT NOT NULL,            -- main | sub
    status      TEXT NOT NULL,            -- active | disabled
    created_at  INTEGER NOT NULL,
    created_by  TEXT                      -- actor: account:<id>, admin:<id>, token:<id> or system
);
CREATE INDEX org_members_by_org ON org_members (org_id, created_at);
-- One main account per organisation.
CREATE UNIQUE INDEX org_members_one_main ON org_members (org_id) WHERE role = 'main';
