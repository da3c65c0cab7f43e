-- Organisations (REQUIREMENTS E1, G1): enterprises, financial institutions, government
-- departments, intermediaries and the platform's operator, each reviewed by the operators
-- before its accounts may act for it; and which account belongs to which organisation.

CREATE TABLE organisations (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    uscc_index     BYTEA UNIQUE,
    uscc_enc       BYTEA,
    uscc_masked    TEXT,
    contact_name   TEXT,
    contact_phone  TEXT,
    introduction   TEXT,
    status         TEXT NOT NULL,
    reject_reason  TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    reviewed_at    BIGINT,
    reviewed_by    TEXT
);
CREATE INDEX organisations_listing ON organisations (status, kind, created_at);
COMMENT ON TABLE organisations IS 'Enterprises, financial institutions, government departments, intermediaries and the operator; reviewed by the operators';
COMMENT ON COLUMN organisations.kind IS 'enterprise | institution | government | intermediary | operator';
COMMENT ON COLUMN organisations.uscc_index IS 'HMAC-SM3 blind index of the unified social credit code (as accounts.key_index); NULL without one';
COMMENT ON COLUMN organisations.uscc_enc IS 'SM4-GCM of the credit code, bound to the id';
COMMENT ON COLUMN organisations.uscc_masked IS 'Masked credit code for display';
COMMENT ON COLUMN organisations.status IS 'pending | approved | rejected | disabled';
COMMENT ON COLUMN organisations.reject_reason IS 'Why the operators rejected it (status rejected)';
COMMENT ON COLUMN organisations.reviewed_by IS 'Actor: admin:<id>, token:<id> or system:<why>';

CREATE TABLE org_members (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    role        TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT
);
CREATE INDEX org_members_by_org ON org_members (org_id, created_at);
CREATE UNIQUE INDEX org_members_one_main ON org_members (org_id) WHERE role = 'main';
COMMENT ON TABLE org_members IS 'Which account belongs to which organisation (one at most per account)';
COMMENT ON COLUMN org_members.role IS 'main | sub';
COMMENT ON COLUMN org_members.status IS 'active | disabled';
COMMENT ON COLUMN org_members.created_by IS 'Actor: account:<id>, admin:<id>, token:<id> or system';
