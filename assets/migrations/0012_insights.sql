-- Schema version 12: insights across banks, the user's rules, receipts.
--
-- Insights: what finbox itself notices across every shared bank (a
-- recurring charge that went up, a new subscription, the same charge on
-- two cards, a refund, a low balance ahead, a month's summary), posted once
-- each (`key`) in finbox's own thread. `insight_rows` links each to the
-- transactions it is about (and their banks, so a purge takes them along).
CREATE TABLE insights (
    id    INTEGER PRIMARY KEY,
    key   TEXT NOT NULL UNIQUE,
    kind  TEXT NOT NULL CHECK (kind IN ('price_up', 'new_subscription', 'duplicate', 'refund', 'low_balance', 'monthly')),
    at    INTEGER NOT NULL,
    text  TEXT NOT NULL,
    read  INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1))
) STRICT;
CREATE INDEX insights_time ON insights(at, id);
CREATE TABLE insight_rows (
    id          INTEGER PRIMARY KEY,
    insight_id  INTEGER NOT NULL,
    txn_id      INTEGER NOT NULL,
    bank_id     TEXT NOT NULL,
    UNIQUE (insight_id, txn_id)
) STRICT;
CREATE INDEX insight_rows_bank ON insight_rows(bank_id);

-- What the insight pass remembers per merchant and account, so that each
-- new transaction is weighed against the last one (not by rescanning).
-- `streak`: charges in a row at a regular beat; `period`: the last gap;
-- `steady`: charges in a row of the same amount.
CREATE TABLE merchant_track (
    id            INTEGER PRIMARY KEY,
    merchant_key  TEXT NOT NULL,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    last_txn      INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    last_minor    INTEGER NOT NULL,
    first_at      INTEGER NOT NULL,
    charges       INTEGER NOT NULL,
    streak        INTEGER NOT NULL,
    period        INTEGER NOT NULL DEFAULT 0,
    steady        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (merchant_key, account_id)
) STRICT;
CREATE INDEX merchant_track_account ON merchant_track(account_id);

-- Rules the user writes (`[[rules]]`): the rule that matched, what the bank
-- said before a rename or a new category, and whether insights skip it.
ALTER TABLE transactions ADD COLUMN rule TEXT;
ALTER TABLE transactions ADD COLUMN original_merchant TEXT;
ALTER TABLE transactions ADD COLUMN original_category TEXT;
ALTER TABLE transactions ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));

-- Itemised receipts a merchant sends (under the bank's `messages` scope),
-- linked to the transaction that paid.
CREATE TABLE receipt_items (
    id            INTEGER PRIMARY KEY,
    bank_id       TEXT NOT NULL REFERENCES banks(id),
    txn_id        INTEGER NOT NULL REFERENCES transactions(id),
    line          INTEGER NOT NULL,
    name          TEXT NOT NULL,
    quantity      INTEGER NOT NULL,
    amount_minor  INTEGER NOT NULL,
    UNIQUE (txn_id, line)
) STRICT;
