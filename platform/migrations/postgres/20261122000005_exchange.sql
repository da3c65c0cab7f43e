-- Message exchange with partner systems: the message log (one row per message received, with
-- its state) and the outbox of deliveries to consumers.

CREATE TABLE exchange_messages (
    id              TEXT PRIMARY KEY,
    partner         TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    message_type    TEXT NOT NULL,
    mapping         TEXT NOT NULL,
    format          TEXT NOT NULL,
    status          TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    request_id      TEXT,
    correlation_id  TEXT,
    size_bytes      BIGINT NOT NULL,
    payload_digest  TEXT,
    payload_enc     BYTEA,
    translated_enc  BYTEA,
    ack             TEXT,
    ack_type        TEXT,
    error_code      TEXT,
    error_detail    TEXT
);
COMMENT ON TABLE exchange_messages IS 'Message log: every message a partner sent, with its state';
COMMENT ON COLUMN exchange_messages.id IS 'The hub''s receipt id (UUIDv7), also the delivery idempotency key';
COMMENT ON COLUMN exchange_messages.message_id IS 'The partner''s own message id (idempotency key of intake)';
COMMENT ON COLUMN exchange_messages.mapping IS 'Mapping name@version that translated it';
COMMENT ON COLUMN exchange_messages.format IS 'xml | json: what the partner sent';
COMMENT ON COLUMN exchange_messages.status IS 'accepted | delivered | failed | rejected';
COMMENT ON COLUMN exchange_messages.correlation_id IS 'The partner''s x-correlation-id, or the request id';
COMMENT ON COLUMN exchange_messages.payload_enc IS 'Raw payload, SM4-GCM bound to id; NULL after exchange.payload_retention';
COMMENT ON COLUMN exchange_messages.translated_enc IS 'Translated JSON, SM4-GCM bound to id';
COMMENT ON COLUMN exchange_messages.ack IS 'The acknowledgement sent (repeated for duplicates)';
COMMENT ON COLUMN exchange_messages.error_code IS 'rejected/failed: the stable error code';
COMMENT ON COLUMN exchange_messages.payload_digest IS 'SM3 of the payload (hex): tells a resend from another message under the same id';
CREATE UNIQUE INDEX exchange_messages_once ON exchange_messages (partner, message_type, message_id) WHERE status <> 'rejected';
CREATE INDEX exchange_messages_time ON exchange_messages (received_at);

CREATE TABLE exchange_outbox (
    id            TEXT PRIMARY KEY,
    message       TEXT NOT NULL REFERENCES exchange_messages (id),
    target        TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    next_at       BIGINT NOT NULL,
    lease_until   BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    delivered_at  BIGINT
);
COMMENT ON TABLE exchange_outbox IS 'Deliveries of translated messages to consumers (durable outbox)';
COMMENT ON COLUMN exchange_outbox.id IS 'The Idempotency-Key consumers see';
COMMENT ON COLUMN exchange_outbox.status IS 'pending | delivered | dead';
COMMENT ON COLUMN exchange_outbox.lease_until IS 'A node is delivering it until then; afterwards another may take it over';
CREATE INDEX exchange_outbox_due ON exchange_outbox (status, next_at);
CREATE INDEX exchange_outbox_message ON exchange_outbox (message);
