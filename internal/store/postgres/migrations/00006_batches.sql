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
    id          text        PRIMARY KEY,
    kind        text        NOT NULL,
    request     bytea       NOT NULL,
    state       text        NOT NULL,
    total       integer     NOT NULL,
    done        integer     NOT NULL DEFAULT 0,
    failed      integer     NOT NULL DEFAULT 0,
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz,
    lease_owner text        NOT NULL DEFAULT '',
    lease_until timestamptz
);
CREATE INDEX batches_running ON batches (created_at) WHERE state = 'running';

CREATE TABLE batch_items (
    batch_id    text        NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    pos         bigint      NOT NULL,
    instance_id text        NOT NULL,
    state       text        NOT NULL,
    error       text        NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (batch_id, pos),
    UNIQUE (batch_id, instance_id)
);
