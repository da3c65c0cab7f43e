-- Federation: accounts (one per person or company), identities linked to them, user sessions,
-- and the single-use guard for tickets, nonces, states and logout tokens.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    key_index     BYTEA UNIQUE,
    key_enc       BYTEA,
    key_masked    TEXT,
    cert_type     TEXT,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_login_at BIGINT
);
COMMENT ON TABLE accounts IS 'One account per natural person (by certificate) or legal person (by USCC)';
COMMENT ON COLUMN accounts.kind IS 'personal | legal_person';
COMMENT ON COLUMN accounts.key_index IS 'HMAC-SM3 blind index of certificate (type+number) or USCC; NULL without one';
COMMENT ON COLUMN accounts.key_enc IS 'SM4-GCM ciphertext of the number, bound to the id';
COMMENT ON COLUMN accounts.key_masked IS 'Masked number for display';

CREATE TABLE identities (
    provider      TEXT NOT NULL,
    subject       TEXT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    display_name  TEXT,
    linked_at     BIGINT NOT NULL,
    last_login_at BIGINT,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_account ON identities (account_id);
COMMENT ON TABLE identities IS 'Provider identities linked to accounts';

CREATE TABLE user_sessions (
    id_hash          BYTEA PRIMARY KEY,
    handle           TEXT NOT NULL UNIQUE,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    subject          TEXT NOT NULL,
    provider_session TEXT,
    agent_name       TEXT,
    agent_masked     TEXT,
    id_token_enc     BYTEA,
    created_at       BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    source_ip        TEXT,
    user_agent       TEXT
);
CREATE INDEX user_sessions_account ON user_sessions (account_id);
CREATE INDEX user_sessions_provider ON user_sessions (provider, provider_session);
CREATE INDEX user_sessions_subject ON user_sessions (provider, subject);
COMMENT ON TABLE user_sessions IS 'Server-side user sessions; the cookie holds the id, the table its SM3';
COMMENT ON COLUMN user_sessions.handle IS 'Public id for administrators (never the session id)';
COMMENT ON COLUMN user_sessions.agent_name IS 'Legal person: the natural person acting (经办人)';

CREATE TABLE replay_guard (
    scope       TEXT NOT NULL,
    value_hash  BYTEA NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, value_hash)
);
CREATE INDEX replay_guard_expiry ON replay_guard (expires_at);
COMMENT ON TABLE replay_guard IS 'Single-use guard: tickets, nonces, states, logout tokens (SM3 of the value)';
