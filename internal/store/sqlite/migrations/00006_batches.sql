-- batches are durable operations over many instances (cancel, retry
-- incidents, migrate). Their items are fixed when the batch is created;
-- the node that leases a batch carries out its pending items one by one,
-- each in its own transaction, and records each outcome here, counting it
-- in done or failed. A batch whose lease expires (its node died) is taken
-- over where it stopped. pos orders a batch's items and pages them.
--
-- (00006 is left to the instance-link migration of another branch.)

-- +goose Up
CREATE TABLE batches (
    id          TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    request     BLOB    NOT NULL,
    state       TEXT    NOT NULL,
    total       INTEGER NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    created_by  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER,
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER
) STRICT;
CREATE INDEX batches_running ON batches (created_at) WHERE state = 'running';

CREATE TABLE batch_items (
    batch_id    TEXT    NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    pos         INTEGER NOT NULL,
    instance_id TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    error       TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (batch_id, pos),
    UNIQUE (batch_id, instance_id)
) STRICT;
