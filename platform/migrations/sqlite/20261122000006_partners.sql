-- Partner systems added by administrators (the configuration file's partners are not stored).

CREATE TABLE exchange_partners (
    id           TEXT PRIMARY KEY,     -- the partner's id in /exchange/{partner}/…
    definition   TEXT NOT NULL,        -- JSON: display name, auth kind, access key, public key, message types, consumer, SM4 mode (no secrets)
    secrets_enc  BLOB NOT NULL,        -- SM4-GCM of the JSON of its secrets (shared secret, token, SM4 key), bound to the id
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   TEXT                  -- actor: admin:<id> or token:<id>
);
