-- idempotency_keys remembers requests sent with an Idempotency-Key header,
-- per caller, so that a repeat gets the first answer instead of doing the
-- work twice. A row is in flight (status 0) while the request holding the
-- claim (token, until locked_until) runs, and answered once status and
-- body are set. A start writes instance_id in the transaction that creates
-- the instance, so that a retry after a lost answer finds it. Rows are
-- removed after expires_at by the runner's maintenance.
--
-- instances.unique_business_key marks an instance whose definition
-- declares its business key unique among the instances that have not
-- ended; the partial unique index makes a second such start fail even
-- when two race (the second insert waits for the first to commit).

-- +goose Up
CREATE TABLE idempotency_keys (
    caller       text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    method       text        NOT NULL DEFAULT '',
    path         text        NOT NULL DEFAULT '',
    token        text        NOT NULL DEFAULT '',
    locked_until timestamptz,
    instance_id  text        NOT NULL DEFAULT '',
    status       integer     NOT NULL DEFAULT 0,
    content_type text        NOT NULL DEFAULT '',
    body         bytea,
    created_at   timestamptz,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

ALTER TABLE instances ADD COLUMN unique_business_key boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX instances_unique_business_key ON instances (definition_id, business_key)
    WHERE unique_business_key AND business_key <> '' AND status IN ('RUNNING', 'WAITING', 'FAILED');
