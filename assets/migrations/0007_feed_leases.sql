-- Schema version 7: one producer per bank across processes. A process that
-- runs a bank's feed holds its lease: its pid and host (to tell whether it
-- is still alive), a token of its own run, and a heartbeat it renews. A
-- lease whose holder died, was released, or stopped renewing is taken over.
CREATE TABLE feed_leases (
    bank_id      TEXT PRIMARY KEY REFERENCES banks(id),
    holder       TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    host         TEXT NOT NULL,
    heartbeat_at INTEGER NOT NULL  -- Unix milliseconds
) STRICT;
