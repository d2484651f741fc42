-- Schema version 14: the index of messages by their transaction holds only
-- the messages that have one.
--
-- Most messages have none (balances, statements, the bank's own messages,
-- history notes), and each of them still took an entry (under NULL) in
-- `messages_txn` when written: an index insert for every such message a
-- feed stores, for nothing any query looks up. Every look-up by
-- transaction names one (`txn_id = ?`), which SQLite knows implies
-- `txn_id IS NOT NULL`, so the partial index serves them all.
DROP INDEX messages_txn;
CREATE INDEX messages_txn ON messages(txn_id) WHERE txn_id IS NOT NULL;
