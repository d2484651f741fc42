-- Schema version 2: new transactions are added to the search index by the
-- ingest code in the same statement batch, not by a trigger. A trigger makes
-- every insert a multi-write statement with its own statement journal, which
-- cost a third of ingest time. Deletes and updates (rare: purge, corrections)
-- keep their triggers.
DROP TRIGGER transactions_fts_insert;
