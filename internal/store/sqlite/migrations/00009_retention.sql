-- upkeep has one row per periodic cluster-wide task (the retention purge
-- of ended instances). The node that leases a task does one run, then
-- records when it finished and what it did; the next run is due a period
-- after last_run_at, whichever node takes it, and after a restart.

-- +goose Up
CREATE TABLE upkeep (
    name        TEXT    NOT NULL PRIMARY KEY,
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER,
    last_run_at INTEGER,
    last_count  INTEGER NOT NULL DEFAULT 0,
    total       INTEGER NOT NULL DEFAULT 0
) STRICT;
