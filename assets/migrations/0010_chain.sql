-- Schema version 10: a tamper-evident log. Every consent change, alert
-- verdict and card lock or unlock is appended here, in the transaction that
-- makes the change, and each entry holds the SHA-256 of its own content and
-- of the entry before it (`prev`; 64 zeros for the first): an entry edited,
-- removed or moved with another tool breaks the chain (`finbox consent
-- verify`). The hash is computed in Rust (src/store/chain.rs), so the
-- upgrade's first entries are written there too: the consent log as it
-- stood, then one "start" entry.
CREATE TABLE chain (
    seq      INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    bank_id  TEXT,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL,
    prev     TEXT NOT NULL,
    hash     TEXT NOT NULL
) STRICT;

-- The last entry's seq and hash, updated with each append: entries cut off
-- the end of the chain leave it pointing past them.
CREATE TABLE chain_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
) STRICT;
