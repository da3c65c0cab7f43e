-- Connectors: the external platforms users jump to (definitions owned by administrators), the
-- history of every change to them (for review and one-step rollback), and health probes.

CREATE TABLE connectors (
    code             TEXT PRIMARY KEY,
    definition       TEXT NOT NULL,
    handoff_key_enc  BYTEA,
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    updated_by       TEXT
);
COMMENT ON TABLE connectors IS 'External platforms users jump to; seeded from connectors/catalog, then owned by administrators';
COMMENT ON COLUMN connectors.definition IS 'JSON of connectors::Definition (no key material)';
COMMENT ON COLUMN connectors.handoff_key_enc IS 'SM4-GCM of the signed hand-off key, bound to the code';
COMMENT ON COLUMN connectors.version IS 'The connector_versions row this state is';
COMMENT ON COLUMN connectors.updated_by IS 'Actor: admin:<id>, token:<id> or system';

CREATE TABLE connector_versions (
    code             TEXT NOT NULL,
    version          BIGINT NOT NULL,
    action           TEXT NOT NULL,
    definition       TEXT,
    handoff_key_enc  BYTEA,
    changed_at       BIGINT NOT NULL,
    changed_by       TEXT,
    request_id       TEXT,
    PRIMARY KEY (code, version)
);
COMMENT ON TABLE connector_versions IS 'Every change to a connector, for review and one-step rollback';
COMMENT ON COLUMN connector_versions.version IS '1, 2, … per code, never reused (also across deletion)';
COMMENT ON COLUMN connector_versions.action IS 'seeded | created | updated | deleted | rolled_back';
COMMENT ON COLUMN connector_versions.definition IS 'The definition after the change; NULL when deleted';

-- The history is append-only: nothing may rewrite or remove a version.
CREATE FUNCTION connector_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'connector_versions is append-only';
END;
$$;
CREATE TRIGGER connector_versions_no_update BEFORE UPDATE OR DELETE ON connector_versions
    FOR EACH ROW EXECUTE FUNCTION connector_versions_append_only();

CREATE TABLE connector_health (
    code         TEXT NOT NULL,
    checked_at   BIGINT NOT NULL,
    up           BOOLEAN NOT NULL,
    latency_ms   BIGINT,
    http_status  INTEGER,
    error        TEXT
);
COMMENT ON TABLE connector_health IS 'Health probe results, kept connectors.health_history';
COMMENT ON COLUMN connector_health.up IS 'The platform answered below 500';
COMMENT ON COLUMN connector_health.error IS 'timeout | connect | http_503 | …';
CREATE INDEX connector_health_code ON connector_health (code, checked_at);
CREATE INDEX connector_health_time ON connector_health (checked_at);
