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
-- when two race.

-- +goose Up
CREATE TABLE idempotency_keys (
    caller       TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    method       TEXT    NOT NULL DEFAULT '',
    path         TEXT    NOT NULL DEFAULT '',
    token        TEXT    NOT NULL DEFAULT '',
    locked_until INTEGER,
    instance_id  TEXT    NOT NULL DEFAULT '',
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT    NOT NULL DEFAULT '',
    body         BLOB,
    created_at   INTEGER,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (caller, key)
) STRICT;
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

ALTER TABLE instances ADD COLUMN unique_business_key INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX instances_unique_business_key ON instances (definition_id, business_key)
    WHERE unique_business_key = 1 AND business_key <> '' AND status IN ('RUNNING', 'WAITING', 'FAILED');
