-- Schema version 5: an account's opening balance can have a point in time.
-- history_from (Unix seconds) is when the opening balance held: a statement
-- that gave a ledger balance opens its account at (ledger - its
-- transactions), just before its first transaction. A transaction posted
-- before that point, delivered later (an older statement imported after a
-- newer one), is history the opening balance already counts: it moves the
-- opening balance, not the balance. NULL: no such point (simulated banks,
-- statements without a balance); every transaction moves the balance.
ALTER TABLE accounts ADD COLUMN history_from INTEGER;
