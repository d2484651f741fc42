-- Schema version 6: history is summed up, not replayed. A transaction a bank
-- would announce, dated before the bank was shared (the backfill a bank
-- delivers when it is linked), gets no notice of its own in the bank's
-- thread: one finbox note per grant tells how many there were and when,
-- kept up to date here as the history arrives. The transactions themselves
-- are stored as ever (list, search, balances).
CREATE TABLE history_notices (
    bank_id   TEXT NOT NULL REFERENCES banks(id),
    epoch     INTEGER NOT NULL,
    count     INTEGER NOT NULL CHECK (count >= 0),
    first_at  INTEGER NOT NULL,
    last_at   INTEGER NOT NULL,
    PRIMARY KEY (bank_id, epoch)
) STRICT;
