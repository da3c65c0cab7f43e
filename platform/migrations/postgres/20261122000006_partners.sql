-- Partner systems added by administrators (the configuration file's partners are not stored).

CREATE TABLE exchange_partners (
    id           TEXT PRIMARY KEY,
    definition   TEXT NOT NULL,
    secrets_enc  BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    updated_by   TEXT
);
COMMENT ON TABLE exchange_partners IS 'Partner systems added by administrators; the configuration file''s partners are not stored';
COMMENT ON COLUMN exchange_partners.definition IS 'JSON: display name, auth kind, access key, public key, message types, consumer, SM4 mode (no secrets)';
COMMENT ON COLUMN exchange_partners.secrets_enc IS 'SM4-GCM of the JSON of its secrets (shared secret, token, SM4 key), bound to the id';
COMMENT ON COLUMN exchange_partners.updated_by IS 'Actor: admin:<id> or token:<id>';
