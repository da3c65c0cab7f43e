-- Key check values: prove at start-up that the configured keys are the ones the store was
-- written with (a node with another key would silently break the audit chain or fail to decrypt).
-- A value reveals nothing about its key: an HMAC of, or an encryption of, a constant.
CREATE TABLE key_check (
    name        TEXT PRIMARY KEY,
    value       BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
COMMENT ON TABLE key_check IS 'Key check values proving at start-up that the configured keys match the store';
COMMENT ON COLUMN key_check.name IS 'audit | data | index';
COMMENT ON COLUMN key_check.value IS 'HMAC-SM3 of a constant (audit, index) or SM4-GCM encryption of a constant (data)';
