-- Connectors: the external platforms users jump to (definitions owned by administrators), the
-- history of every change to them (for review and one-step rollback), and health probes.

CREATE TABLE connectors (
    code             TEXT PRIMARY KEY,        -- safe-forex, pbc-credit, …
    definition       TEXT NOT NULL,           -- JSON of connectors::Definition (no key material)
    handoff_key_enc  BLOB,                    -- SM4-GCM of the signed hand-off key, bound to the code
    version          INTEGER NOT NULL,        -- the connector_versions row this state is
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    updated_by       TEXT                     -- actor: admin:<id>, token:<id> or system
);

CREATE TABLE connector_versions (
    code             TEXT NOT NULL,
    version          INTEGER NOT NULL,        -- 1, 2, … per code, never reused (also across deletion)
    action           TEXT NOT NULL,           -- seeded | created | updated | deleted | rolled_back
    definition       TEXT,                    -- the definition after the change; NULL when deleted
    handoff_key_enc  BLOB,                    -- the key after the change
    changed_at       INTEGER NOT NULL,
    changed_by       TEXT,
    request_id       TEXT,
    PRIMARY KEY (code, version)
);
-- The history is append-only: nothing may rewrite or remove a version.
CREATE TRIGGER connector_versions_no_update BEFORE UPDATE ON connector_versions
BEGIN
    SELECT RAISE(ABORT, 'connector_versions is append-only');
END;
CREATE TRIGGER connector_versions_no_delete BEFORE DELETE ON connector_versions
BEGIN
    SELECT RAISE(ABORT, 'connector_versions is append-only');
END;

CREATE TABLE connector_health (
    code         TEXT NOT NULL,
    checked_at   INTEGER NOT NULL,
    up           BOOLEAN NOT NULL,            -- the platform answered below 500
    latency_ms   INTEGER,
    http_status  INTEGER,
    error        TEXT                         -- timeout | connect | http_503 | …
);
CREATE INDEX connector_health_code ON connector_health (code, checked_at);
CREATE INDEX connector_health_time ON connector_health (checked_at);
