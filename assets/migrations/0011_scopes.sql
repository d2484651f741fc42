-- Scopes: what each bank may share (balances, transactions, messages,
-- alerts, offers), granted one by one. Offers are off unless asked for;
-- a bank shared before scopes existed keeps everything else.
ALTER TABLE banks ADD COLUMN scopes TEXT NOT NULL DEFAULT 'balances,transactions,messages,alerts';

-- The consent log learns 'scopes' (a narrowed or widened grant). A CHECK
-- cannot be altered, so the table is rebuilt, keeping every entry and id.
CREATE TABLE consent_log_v11 (
    id       INTEGER PRIMARY KEY,
    bank_id  TEXT NOT NULL REFERENCES banks(id),
    action   TEXT NOT NULL CHECK (action IN ('grant', 'renew', 'revoke', 'purge', 'expire', 'scopes')),
    at       INTEGER NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO consent_log_v11 (id, bank_id, action, at, detail)
    SELECT id, bank_id, action, at, detail FROM consent_log;
DROP TABLE consent_log;
ALTER TABLE consent_log_v11 RENAME TO consent_log;
CREATE INDEX consent_log_bank ON consent_log(bank_id, at, id);
