-- Federation: accounts (one per person or company), identities linked to them, user sessions,
-- and the single-use guard for tickets, nonces, states and logout tokens.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,            -- personal | legal_person
    display_name  TEXT NOT NULL,            -- person's or company's name
    key_index     BLOB UNIQUE,              -- HMAC-SM3 blind index of certificate (type+number) or USCC; NULL without one
    key_enc       BLOB,                     -- SM4-GCM ciphertext of the number, bound to the id
    key_masked    TEXT,                     -- 3508**********0029
    cert_type     TEXT,                     -- 111 … for persons
    status        TEXT NOT NULL,            -- active | disabled
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_login_at INTEGER
);

CREATE TABLE identities (
    provider      TEXT NOT NULL,
    subject       TEXT NOT NULL,            -- the provider's user id
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    display_name  TEXT,
    linked_at     INTEGER NOT NULL,
    last_login_at INTEGER,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_account ON identities (account_id);

CREATE TABLE user_sessions (
    id_hash          BLOB PRIMARY KEY,      -- SM3 of the cookie's session id
    handle           TEXT NOT NULL UNIQUE,  -- public id for administrators (never the session id)
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    subject          TEXT NOT NULL,         -- identity used to sign in
    provider_session TEXT,                  -- OpenID Connect sid, for back-channel logout
    agent_name       TEXT,                  -- legal person: the natural person acting (经办人)
    agent_masked     TEXT,                  -- legal person: the agent's masked certificate number
    id_token_enc     BLOB,                  -- SM4-GCM ID token, for RP-initiated logout
    created_at       INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    source_ip        TEXT,
    user_agent       TEXT
);
CREATE INDEX user_sessions_account ON user_sessions (account_id);
CREATE INDEX user_sessions_provider ON user_sessions (provider, provider_session);
CREATE INDEX user_sessions_subject ON user_sessions (provider, subject);

CREATE TABLE replay_guard (
    scope       TEXT NOT NULL,              -- e.g. fujian:ticket, elongyan:nonce, corp:jti
    value_hash  BLOB NOT NULL,              -- SM3 of the value
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, value_hash)
);
CREATE INDEX replay_guard_expiry ON replay_guard (expires_at);
