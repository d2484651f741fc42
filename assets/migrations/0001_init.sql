-- finbox store, schema version 1.
-- Money is INTEGER minor units with a TEXT ISO currency code. Times are INTEGER
-- Unix seconds (UTC). Every table is STRICT so a wrong type cannot slip in.

CREATE TABLE banks (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    color       TEXT NOT NULL,
    feed_kind   TEXT NOT NULL,
    position    INTEGER NOT NULL,
    consent     TEXT NOT NULL DEFAULT 'revoked' CHECK (consent IN ('granted', 'revoked')),
    consent_at  INTEGER,
    -- Bumped on every consent change; events stamped with an older epoch are dropped.
    epoch       INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE consent_log (
    id       INTEGER PRIMARY KEY,
    bank_id  TEXT NOT NULL REFERENCES banks(id),
    action   TEXT NOT NULL CHECK (action IN ('grant', 'revoke', 'purge')),
    at       INTEGER NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX consent_log_bank ON consent_log(bank_id, at, id);

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    bank_id        TEXT NOT NULL REFERENCES banks(id),
    external_id    TEXT NOT NULL,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('checking', 'savings', 'credit')),
    mask           TEXT NOT NULL,
    currency       TEXT NOT NULL,
    opening_minor  INTEGER NOT NULL,
    UNIQUE (bank_id, external_id)
) STRICT;

-- Kept in the same transaction as the transactions that move it:
-- balance_minor = opening_minor + sum(amount_minor), never summed per screen.
CREATE TABLE balances (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts(id),
    currency        TEXT NOT NULL,
    balance_minor   INTEGER NOT NULL,
    txn_count       INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL,
    reported_minor  INTEGER,
    reported_at     INTEGER
) STRICT;

-- End-of-day balance per account, for the balance-history chart.
CREATE TABLE balance_history (
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    day            INTEGER NOT NULL, -- days since 1970-01-01 (UTC)
    balance_minor  INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE cards (
    id          INTEGER PRIMARY KEY,
    bank_id     TEXT NOT NULL REFERENCES banks(id),
    account_id  INTEGER NOT NULL UNIQUE REFERENCES accounts(id),
    mask        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('debit', 'credit')),
    frozen      INTEGER NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1)),
    frozen_at   INTEGER
) STRICT;

CREATE TABLE transactions (
    id            INTEGER PRIMARY KEY,
    bank_id       TEXT NOT NULL REFERENCES banks(id),
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    external_id   TEXT NOT NULL,
    posted_at     INTEGER NOT NULL,
    amount_minor  INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    merchant      TEXT NOT NULL,
    category      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    country       TEXT NOT NULL,
    UNIQUE (bank_id, external_id)
) STRICT;
-- Keyset paging newest-first: (posted_at, id) within an account, a bank, or all.
CREATE INDEX transactions_account_time ON transactions(account_id, posted_at, id);
CREATE INDEX transactions_bank_time ON transactions(bank_id, posted_at, id);
CREATE INDEX transactions_time ON transactions(posted_at, id);

CREATE VIRTUAL TABLE transactions_fts USING fts5(
    merchant, category,
    content = 'transactions', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER transactions_fts_insert AFTER INSERT ON transactions BEGIN
    INSERT INTO transactions_fts(rowid, merchant, category) VALUES (new.id, new.merchant, new.category);
END;
CREATE TRIGGER transactions_fts_delete AFTER DELETE ON transactions BEGIN
    INSERT INTO transactions_fts(transactions_fts, rowid, merchant, category)
        VALUES ('delete', old.id, old.merchant, old.category);
END;
CREATE TRIGGER transactions_fts_update AFTER UPDATE OF merchant, category ON transactions BEGIN
    INSERT INTO transactions_fts(transactions_fts, rowid, merchant, category)
        VALUES ('delete', old.id, old.merchant, old.category);
    INSERT INTO transactions_fts(rowid, merchant, category) VALUES (new.id, new.merchant, new.category);
END;

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    bank_id      TEXT NOT NULL REFERENCES banks(id),
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    txn_id       INTEGER NOT NULL REFERENCES transactions(id),
    external_id  TEXT NOT NULL,
    reason       TEXT NOT NULL,
    severity     INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 3),
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'legit', 'fraud')),
    created_at   INTEGER NOT NULL,
    decided_at   INTEGER,
    UNIQUE (bank_id, external_id)
) STRICT;
CREATE INDEX alerts_queue ON alerts(status, severity, created_at, id);
CREATE INDEX alerts_bank ON alerts(bank_id, status);

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    bank_id      TEXT NOT NULL REFERENCES banks(id),
    external_id  TEXT,
    at           INTEGER NOT NULL,
    sender       TEXT NOT NULL CHECK (sender IN ('bank', 'user', 'system')),
    kind         TEXT NOT NULL,
    text         TEXT NOT NULL,
    txn_id       INTEGER,
    alert_id     INTEGER,
    read         INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1))
) STRICT;
CREATE UNIQUE INDEX messages_external ON messages(bank_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_bank_time ON messages(bank_id, at, id);
CREATE INDEX messages_unread ON messages(bank_id) WHERE read = 0;

CREATE TABLE feed_cursors (
    bank_id     TEXT PRIMARY KEY REFERENCES banks(id),
    cursor      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
