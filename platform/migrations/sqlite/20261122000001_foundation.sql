-- Foundation: tamper-evident audit trail and administrators.
-- Times are milliseconds since the Unix epoch (UTC); identifiers are text.
-- Keep in step with ../postgres/20261122000001_foundation.sql (a test compares the columns).

-- Append-only audit records, each sealed into an HMAC-SM3 chain (see hub/src/audit).
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,   -- position in the chain, 1, 2, 3, ... assigned by the writer
    ts          INTEGER NOT NULL,      -- when the event happened
    request_id  TEXT,                  -- x-request-id of the HTTP request, when there was one
    actor_kind  TEXT NOT NULL,         -- anonymous | account | admin | token | system | partner
    actor_id    TEXT,                  -- account, administrator or token id
    actor_name  TEXT,                  -- display name at the time (masked where personal)
    acting_for  TEXT,                  -- company (legal person) the actor acted for
    agent       TEXT,                  -- natural person acting for the company (masked)
    event       TEXT NOT NULL,         -- event type, e.g. admin.login
    target      TEXT,                  -- what the event was about, e.g. admin:<id>
    outcome     TEXT NOT NULL,         -- success | failure | denied
    reason      TEXT,                  -- stable error code or short reason
    source_ip   TEXT,
    user_agent  TEXT,
    details     TEXT,                  -- JSON object: before/after and other context
    prev_hash   BLOB NOT NULL,         -- hash of the previous record (or of the archive anchor)
    hash        BLOB NOT NULL          -- HMAC-SM3 over prev_hash and this record's fields
);
CREATE INDEX audit_log_ts ON audit_log (ts);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_event ON audit_log (event, seq);

-- The latest sealed position, so that removing records from the end is detected.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,             -- seq of the newest record (0 before the first)
    hash  BLOB NOT NULL,                -- its hash
    mac   BLOB NOT NULL                 -- HMAC-SM3 over (seq, hash); empty for the genesis row
);
INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, 0, zeroblob(32), X'');

-- Records exported to JSON Lines before retention purged them; anchors the remaining chain.
CREATE TABLE audit_archive (
    id            INTEGER PRIMARY KEY,
    created_at    INTEGER NOT NULL,
    from_seq      INTEGER NOT NULL,
    up_to_seq     INTEGER NOT NULL,
    last_hash     BLOB NOT NULL,        -- hash of record up_to_seq: prev_hash of the next one
    record_count  INTEGER NOT NULL,
    file_name     TEXT NOT NULL,        -- file in the archive directory
    file_sm3      BLOB NOT NULL,        -- SM3 of the file's bytes
    mac           BLOB NOT NULL         -- HMAC-SM3 over the row's fields
);

-- The application cannot rewrite history: no updates, and deletion only of records that have
-- been archived and are older than the legal minimum of 180 days.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_guard_delete BEFORE DELETE ON audit_log
WHEN NOT (
    OLD.ts < unixepoch('now') * 1000 - 15552000000
    AND EXISTS (SELECT 1 FROM audit_archive a WHERE a.up_to_seq >= OLD.seq)
)
BEGIN
    SELECT RAISE(ABORT, 'audit records are kept until archived and older than 180 days');
END;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq <= OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head cannot be deleted');
END;
CREATE TRIGGER audit_archive_no_update BEFORE UPDATE ON audit_archive
BEGIN
    SELECT RAISE(ABORT, 'audit_archive is append-only');
END;
CREATE TRIGGER audit_archive_no_delete BEFORE DELETE ON audit_archive
BEGIN
    SELECT RAISE(ABORT, 'audit_archive is append-only');
END;

-- Local administrator accounts (password + TOTP second factor).
CREATE TABLE admins (
    id                    TEXT PRIMARY KEY,
    username              TEXT NOT NULL UNIQUE,      -- lower case
    display_name          TEXT NOT NULL,
    role                  TEXT NOT NULL,             -- system-admin | security-admin | audit-admin
    status                TEXT NOT NULL,             -- active | disabled
    password_hash         TEXT NOT NULL,             -- argon2id PHC string
    must_change_password  INTEGER NOT NULL,          -- set for issued passwords
    password_changed_at   INTEGER NOT NULL,
    totp_secret           BLOB NOT NULL,             -- SM4-GCM ciphertext, bound to the id
    totp_last_step        INTEGER NOT NULL,          -- last accepted TOTP time step (replay guard)
    failed_attempts       INTEGER NOT NULL,
    locked_until          INTEGER,
    last_login_at         INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

-- Server-side administrator console sessions; the cookie holds the id, the table its SM3.
CREATE TABLE admin_sessions (
    id_hash       BLOB PRIMARY KEY,
    admin_id      TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,            -- absolute end of the session
    source_ip     TEXT,
    user_agent    TEXT
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);

-- API tokens for automation: shown once, stored as SM3, scoped to a role, expiring.
CREATE TABLE admin_tokens (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    token_hash      BLOB NOT NULL UNIQUE,
    role            TEXT NOT NULL,
    owner_admin_id  TEXT REFERENCES admins (id) ON DELETE CASCADE,  -- NULL: created by `hub admin create-token`
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    last_used_at    INTEGER
);
