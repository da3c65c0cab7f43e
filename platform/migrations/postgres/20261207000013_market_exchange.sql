-- The exchange tie-in of the finance marketplace (issue 13): banks answer about the
-- marketplace's demands by the financing-demand notices they already exchange with the hub
-- (`HubDemandId`, `Status`, the loan, the reason), delivered in the process by the exchange's
-- outbox (`internal:market`). Each answer — one `<Demand>` of a message — is recorded here once
-- it is applied, so that a message delivered again (same receipt id) applies nothing twice.

CREATE TABLE market_exchange_receipts (
    receipt_id   TEXT NOT NULL,          -- exchange_messages.id: the delivery's idempotency key
    item         BIGINT NOT NULL,        -- the answer's position among the message's <Demand>s, from 0
    partner      TEXT NOT NULL,          -- the partner that sent it
    message_id   TEXT NOT NULL,          -- the partner's message id
    demand_id    TEXT,                   -- HubDemandId as sent (none: a demand the bank received itself)
    action       TEXT,                   -- taken | returned | disbursed | deleted (none: ignored, or no valid Status)
    outcome      TEXT NOT NULL,          -- applied | unchanged (its state already held) | ignored | refused
    detail       TEXT,                   -- why it was refused, Chinese then English
    at           BIGINT NOT NULL,        -- recorded (ms); a refused answer is tried again on replay
    PRIMARY KEY (receipt_id, item)
);
CREATE INDEX market_exchange_receipts_demand ON market_exchange_receipts (demand_id, at);
