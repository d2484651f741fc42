-- Schema version 8: money that means what it says.
--
-- Pending → posted. A transaction may arrive `pending` (a card
-- authorisation): it moves the available balance (balances.pending_minor),
-- not the ledger balance (balances.balance_minor) nor the daily history.
-- When it posts (same id, or another id that matches) the row becomes the
-- posted one: `authorized_at` and `authorized_minor` keep what was
-- authorised. A pending row that never posts is deleted after a while.
ALTER TABLE transactions ADD COLUMN status TEXT NOT NULL DEFAULT 'posted'
    CHECK (status IN ('pending', 'posted'));
ALTER TABLE transactions ADD COLUMN authorized_at INTEGER;
ALTER TABLE transactions ADD COLUMN authorized_minor INTEGER;
ALTER TABLE balances ADD COLUMN pending_minor INTEGER NOT NULL DEFAULT 0;
CREATE INDEX transactions_pending ON transactions(account_id, posted_at) WHERE status = 'pending';

-- Transfers between the user's own accounts. `transfer_kind`: 'marked' when
-- the feed said the leg is a transfer, 'pattern' when its text reads like
-- one ("Payment Thank You", "Transfer to …"); NULL for everything else. Two
-- legs that pair share `transfer_id` (the smaller of their ids); a marked
-- leg without one is "transfer, other side not seen". `transfer_by`: who
-- paired them ('feed', 'auto', 'user'); a pair the user undid is kept apart
-- ('unpaired') so that it is not paired again.
ALTER TABLE transactions ADD COLUMN transfer_kind TEXT CHECK (transfer_kind IN ('marked', 'pattern'));
ALTER TABLE transactions ADD COLUMN transfer_id INTEGER;
ALTER TABLE transactions ADD COLUMN transfer_by TEXT CHECK (transfer_by IN ('feed', 'auto', 'user', 'unpaired'));
CREATE INDEX transactions_transfer_open ON transactions(amount_minor, posted_at)
    WHERE transfer_kind IS NOT NULL AND transfer_id IS NULL;
CREATE INDEX transactions_transfer ON transactions(transfer_id) WHERE transfer_id IS NOT NULL;

-- Disputes. "Not me" on a fraud alert locks the card, and the bank opens a
-- case and posts a provisional credit: a transaction that reverses the
-- disputed one (`reverses`), so the balance is restored. A replacement card
-- with a new number is sent; on `replacement_due_at` it becomes the
-- account's card and the old one is closed.
ALTER TABLE transactions ADD COLUMN reverses INTEGER;
ALTER TABLE transactions ADD COLUMN reversed_by INTEGER;
CREATE TABLE disputes (
    id                  INTEGER PRIMARY KEY,
    bank_id             TEXT NOT NULL REFERENCES banks(id),
    alert_id            INTEGER NOT NULL UNIQUE REFERENCES alerts(id),
    txn_id              INTEGER NOT NULL REFERENCES transactions(id),
    case_number         TEXT NOT NULL UNIQUE,
    opened_at           INTEGER NOT NULL,
    credit_txn_id       INTEGER NOT NULL REFERENCES transactions(id),
    account_id          INTEGER NOT NULL REFERENCES accounts(id),
    old_card_mask       TEXT,
    new_card_mask       TEXT,
    replacement_due_at  INTEGER,
    replaced_at         INTEGER
) STRICT;
CREATE INDEX disputes_replacement ON disputes(replacement_due_at) WHERE replaced_at IS NULL;

-- How much a posting may exceed its authorisation (a tip, a fuel hold) and
-- still be the same transaction, per bank, in percent (from the profile).
ALTER TABLE banks ADD COLUMN pending_tolerance_pct INTEGER NOT NULL DEFAULT 30;

-- A transaction's notice is found again when the transaction posts or is
-- released.
CREATE INDEX messages_txn ON messages(txn_id);
