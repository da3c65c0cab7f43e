-- Message exchange with partner systems: the message log (one row per message received, with
-- its state) and the outbox of deliveries to consumers.

CREATE TABLE exchange_messages (
    id              TEXT PRIMARY KEY,        -- the hub's receipt id (UUIDv7), also the delivery idempotency key
    partner         TEXT NOT NULL,           -- partners.<id>
    message_id      TEXT NOT NULL,           -- the partner's own message id (idempotency key of intake)
    message_type    TEXT NOT NULL,           -- e.g. financing.demand_notice
    mapping         TEXT NOT NULL,           -- mapping name@version that translated it
    format          TEXT NOT NULL,           -- xml | json: what the partner sent
    status          TEXT NOT NULL,           -- accepted | delivered | failed | rejected
    received_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    request_id      TEXT,                    -- x-request-id of the intake
    correlation_id  TEXT,                    -- the partner's x-correlation-id, or the request id
    size_bytes      INTEGER NOT NULL,
    payload_digest  TEXT,                    -- SM3 of the payload (hex): tells a resend from another message under the same id
    payload_enc     BLOB,                    -- raw payload, SM4-GCM bound to id; NULL after retention
    translated_enc  BLOB,                    -- translated JSON, SM4-GCM bound to id
    ack             TEXT,                    -- the acknowledgement sent (repeated for duplicates)
    ack_type        TEXT,                    -- its content type
    error_code      TEXT,                    -- rejected/failed: the stable code
    error_detail    TEXT                     -- rejected/failed: what was wrong (no payload content)
);
-- A partner's message id is applied once per message type: rejected attempts do not hold it.
CREATE UNIQUE INDEX exchange_messages_once ON exchange_messages (partner, message_type, message_id) WHERE status <> 'rejected';
CREATE INDEX exchange_messages_time ON exchange_messages (received_at);

CREATE TABLE exchange_outbox (
    id            TEXT PRIMARY KEY,          -- the Idempotency-Key consumers see
    message       TEXT NOT NULL REFERENCES exchange_messages (id),
    target        TEXT NOT NULL,             -- the consumer's URL
    status        TEXT NOT NULL,             -- pending | delivered | dead
    attempts      INTEGER NOT NULL,
    next_at       INTEGER NOT NULL,          -- not before this time
    lease_until   INTEGER,                   -- a node is delivering it until then
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    delivered_at  INTEGER
);
CREATE INDEX exchange_outbox_due ON exchange_outbox (status, next_at);
CREATE INDEX exchange_outbox_message ON exchange_outbox (message);
