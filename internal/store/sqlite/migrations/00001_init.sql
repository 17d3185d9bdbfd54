-- Baton schema, SQLite dialect.
--
-- Conventions: times are INTEGER unix microseconds in UTC, NULL for the
-- zero time; strings are NOT NULL with '' for "none"; opaque payloads
-- (JSON documents, definition sources) are BLOBs kept byte for byte.

-- +goose Up
CREATE TABLE definitions (
    id          TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    name        TEXT    NOT NULL DEFAULT '',
    format      TEXT    NOT NULL,
    source      BLOB    NOT NULL,
    hash        TEXT    NOT NULL,
    deployed_at INTEGER,
    deployed_by TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (id, version)
) STRICT;

CREATE TABLE instances (
    id                 TEXT    NOT NULL PRIMARY KEY,
    definition_id      TEXT    NOT NULL,
    definition_version INTEGER NOT NULL,
    business_key       TEXT    NOT NULL DEFAULT '',
    status             TEXT    NOT NULL,
    state              BLOB,
    version            INTEGER NOT NULL,
    created_at         INTEGER,
    updated_at         INTEGER,
    ended_at           INTEGER
) STRICT;
CREATE INDEX instances_status ON instances (status, id);
CREATE INDEX instances_definition ON instances (definition_id, definition_version);
CREATE INDEX instances_business_key ON instances (business_key) WHERE business_key <> '';

-- history is append-only: rows are inserted by Commit and never updated.
CREATE TABLE history (
    instance_id TEXT    NOT NULL REFERENCES instances (id),
    seq         INTEGER NOT NULL,
    node_id     TEXT    NOT NULL DEFAULT '',
    node_type   TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL DEFAULT '',
    time        INTEGER,
    result      BLOB,
    actor       TEXT    NOT NULL DEFAULT '',
    checkpoint  INTEGER NOT NULL,
    PRIMARY KEY (instance_id, seq)
) STRICT;

CREATE TABLE jobs (
    id               TEXT    NOT NULL PRIMARY KEY,
    instance_id      TEXT    NOT NULL DEFAULT '',
    kind             TEXT    NOT NULL,
    node_id          TEXT    NOT NULL DEFAULT '',
    task_type        TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 0,
    run_at           INTEGER NOT NULL,
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_until      INTEGER,
    last_error       TEXT    NOT NULL DEFAULT '',
    payload          BLOB,
    created_at       INTEGER,
    first_failure_at INTEGER,
    last_failure_at  INTEGER
) STRICT;
CREATE INDEX jobs_fetch ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_instance ON jobs (instance_id) WHERE instance_id <> '';

-- candidate_users and candidate_groups hold the lists as JSON arrays in
-- their original order; task_candidates holds the same names one per row
-- so that identity filters are indexed equality lookups.
CREATE TABLE tasks (
    id               TEXT NOT NULL PRIMARY KEY,
    instance_id      TEXT NOT NULL REFERENCES instances (id),
    definition_id    TEXT NOT NULL DEFAULT '',
    node_id          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL DEFAULT '',
    assignee         TEXT NOT NULL DEFAULT '',
    candidate_users  TEXT NOT NULL DEFAULT '[]',
    candidate_groups TEXT NOT NULL DEFAULT '[]',
    due_at           INTEGER,
    follow_up_at     INTEGER,
    form_key         TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    payload          BLOB,
    created_at       INTEGER,
    completed_at     INTEGER,
    completed_by     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX tasks_state ON tasks (state, id);
CREATE INDEX tasks_instance ON tasks (instance_id);
CREATE INDEX tasks_assignee ON tasks (assignee, state) WHERE assignee <> '';
CREATE INDEX tasks_due ON tasks (state, due_at) WHERE due_at IS NOT NULL;

CREATE TABLE task_candidates (
    kind    TEXT NOT NULL, -- 'user' or 'group'
    name    TEXT NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (kind, name, task_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE subscriptions (
    id          TEXT NOT NULL PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    node_id     TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    key         TEXT NOT NULL DEFAULT '',
    created_at  INTEGER
) STRICT;
CREATE INDEX subscriptions_lookup ON subscriptions (kind, name, key);
CREATE INDEX subscriptions_instance ON subscriptions (instance_id);

CREATE TABLE incidents (
    id               TEXT    NOT NULL PRIMARY KEY,
    instance_id      TEXT    NOT NULL DEFAULT '',
    definition_id    TEXT    NOT NULL DEFAULT '',
    node_id          TEXT    NOT NULL DEFAULT '',
    job_id           TEXT    NOT NULL DEFAULT '',
    kind             TEXT    NOT NULL DEFAULT '',
    message          TEXT    NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL,
    advice           BLOB,
    created_at       INTEGER,
    first_failure_at INTEGER,
    last_failure_at  INTEGER,
    resolved_at      INTEGER,
    resolved_by      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX incidents_state ON incidents (state, id);
CREATE INDEX incidents_instance ON incidents (instance_id);

CREATE TABLE outbox (
    id          TEXT    NOT NULL PRIMARY KEY,
    instance_id TEXT    NOT NULL DEFAULT '',
    event       TEXT    NOT NULL DEFAULT '',
    channel     TEXT    NOT NULL,
    target      TEXT    NOT NULL DEFAULT '',
    payload     BLOB,
    state       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      INTEGER NOT NULL,
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER,
    sent_at     INTEGER,
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER
) STRICT;
CREATE INDEX outbox_fetch ON outbox (state, run_at);
CREATE INDEX outbox_instance ON outbox (instance_id) WHERE instance_id <> '';

CREATE TABLE decisions (
    id            TEXT    NOT NULL PRIMARY KEY,
    instance_id   TEXT    NOT NULL DEFAULT '',
    node_id       TEXT    NOT NULL DEFAULT '',
    job_id        TEXT    NOT NULL DEFAULT '',
    provider      TEXT    NOT NULL DEFAULT '',
    model         TEXT    NOT NULL DEFAULT '',
    request       BLOB,
    response      BLOB,
    decision      BLOB,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    latency_ms    INTEGER NOT NULL DEFAULT 0,
    cost_micros   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER
) STRICT;
CREATE INDEX decisions_instance ON decisions (instance_id, created_at);

-- messages has one row per message id ever seen. A row with consumed_by
-- NULL is buffered (waiting for a catch event); a consumed row stays as the
-- record that makes correlation exactly-once per id.
CREATE TABLE messages (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    key         TEXT NOT NULL DEFAULT '',
    variables   BLOB,
    created_at  INTEGER,
    expires_at  INTEGER,
    consumed_by TEXT,
    consumed_at INTEGER
) STRICT;
CREATE INDEX messages_buffered ON messages (name, key, created_at) WHERE consumed_by IS NULL;
CREATE INDEX messages_expiry ON messages (expires_at) WHERE consumed_by IS NULL AND expires_at IS NOT NULL;
