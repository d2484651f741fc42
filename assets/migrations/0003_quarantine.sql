-- Schema version 3: records a feed delivered that finbox refused, with the
-- reason, for the user to see. `raw` keeps the record as delivered (JSON),
-- for audit only: it is never shown.
CREATE TABLE quarantine (
    id       INTEGER PRIMARY KEY,
    bank_id  TEXT NOT NULL REFERENCES banks(id),
    at       INTEGER NOT NULL,
    record   TEXT NOT NULL,
    reason   TEXT NOT NULL,
    raw      TEXT NOT NULL,
    UNIQUE (bank_id, record, reason)
) STRICT;
CREATE INDEX quarantine_time ON quarantine(at, id);
