-- Schema version 13: two CHECK constraints written as comparisons.
--
-- SQLite evaluates `x IN (a, b, c, ...)` with three or more values by
-- building an ephemeral table of the values, and in a CHECK it builds it at
-- every row written, before it looks at x, even when x is NULL. On
-- `transactions.transfer_by` (four values) and `messages.sender` (three)
-- that was a fifth of the time a feed took to store its rows (`perf`:
-- `sqlite3BtreeOpen` under each INSERT). The same constraints written as
-- `x = a OR x = b ...` are the same rule (NULL still passes, anything else
-- fails) and cost a few comparisons.
--
-- The table definitions are edited in place, as SQLite documents for
-- changing a constraint that the rows already meet ("Making Other Kinds
-- Of Table Schema Changes"): nothing on disk changes but the text.
-- `writable_schema = RESET` (not OFF) makes this connection read the new
-- text at once (with OFF it kept planning the old CHECKs until reopened);
-- the migration runner raises the schema version afterwards, so that other
-- connections read it too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql,
       'CHECK (transfer_by IN (''feed'', ''auto'', ''user'', ''unpaired''))',
       'CHECK (transfer_by = ''feed'' OR transfer_by = ''auto'' OR transfer_by = ''user'' OR transfer_by = ''unpaired'')')
 WHERE type = 'table' AND name = 'transactions';
UPDATE sqlite_schema
   SET sql = replace(sql,
       'CHECK (sender IN (''bank'', ''user'', ''system''))',
       'CHECK (sender = ''bank'' OR sender = ''user'' OR sender = ''system'')')
 WHERE type = 'table' AND name = 'messages';
PRAGMA writable_schema = RESET;
