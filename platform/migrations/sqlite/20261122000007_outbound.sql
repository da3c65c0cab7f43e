-- Messages the hub sends to partner systems (JSON from an internal system, translated to the
-- partner's XML and delivered through the same outbox). A message id is unique per partner,
-- direction and message type.

ALTER TABLE exchange_messages ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound';
DROP INDEX exchange_messages_once;
CREATE UNIQUE INDEX exchange_messages_once ON exchange_messages (partner, direction, message_type, message_id) WHERE status <> 'rejected';
