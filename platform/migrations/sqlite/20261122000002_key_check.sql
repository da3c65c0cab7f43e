-- Key check values: prove at start-up that the configured keys are the ones the store was
-- written with (a node with another key would silently break the audit chain or fail to decrypt).
-- A value reveals nothing about its key: an HMAC of, or an encryption of, a constant.
CREATE TABLE key_check (
    name        TEXT PRIMARY KEY,       -- audit | data | index
    value       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
