-- SimpleFIN Bridge: the Access URL (a credential to every linked bank: it
-- lives in the store, so an encrypted store encrypts it), one link per
-- connection (a finbox bank each), and the requests made, counted against
-- the daily budget across every process that shares the store.
CREATE TABLE simplefin_access (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    url        TEXT NOT NULL,
    linked_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE simplefin_links (
    bank_id     TEXT PRIMARY KEY REFERENCES banks(id),
    conn_id     TEXT NOT NULL UNIQUE,
    org_id      TEXT NOT NULL,
    -- The bridge's ids of the connection's accounts, as a JSON array.
    accounts    TEXT NOT NULL DEFAULT '[]',
    last_try    INTEGER,
    last_ok     INTEGER,
    last_error  TEXT
) STRICT;

CREATE TABLE simplefin_requests (
    at       INTEGER NOT NULL,
    bank_id  TEXT NOT NULL
) STRICT;
CREATE INDEX simplefin_requests_at ON simplefin_requests(at);
