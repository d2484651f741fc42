-- Schema version 4: consent expires. A grant lasts until consent_expires_at
-- (Unix seconds) unless renewed; once that passes the bank stops sharing as
-- after a revoke (consent 'revoked', epoch bumped, an 'expire' log entry)
-- and consent_expires_at is kept, so that "expired" reads apart from
-- "revoked" (a revoke clears it). NULL on a bank that is not shared.
ALTER TABLE banks ADD COLUMN consent_expires_at INTEGER;

-- Banks shared before expiry existed get the default 90 days from this
-- upgrade, not from their grant: a long-standing grant must not lapse the
-- moment a new finbox first runs.
UPDATE banks SET consent_expires_at = unixepoch() + 90 * 86400
    WHERE consent = 'granted';

-- The consent log learns 'renew' and 'expire'. A CHECK cannot be altered, so
-- the table is rebuilt, keeping every entry and its id.
CREATE TABLE consent_log_v4 (
    id       INTEGER PRIMARY KEY,
    bank_id  TEXT NOT NULL REFERENCES banks(id),
    action   TEXT NOT NULL CHECK (action IN ('grant', 'renew', 'revoke', 'purge', 'expire')),
    at       INTEGER NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO consent_log_v4 (id, bank_id, action, at, detail)
    SELECT id, bank_id, action, at, detail FROM consent_log;
DROP TABLE consent_log;
ALTER TABLE consent_log_v4 RENAME TO consent_log;
CREATE INDEX consent_log_bank ON consent_log(bank_id, at, id);

-- A purge must leave no copy. The search index otherwise keeps a deleted
-- row's words in its segments (only marked deleted) until they are merged:
-- with secure-delete they are removed at once. 'optimize' merges away what
-- earlier purges left behind.
INSERT INTO transactions_fts (transactions_fts, rank) VALUES ('secure-delete', 1);
INSERT INTO transactions_fts (transactions_fts) VALUES ('optimize');
