-- Baton schema, PostgreSQL dialect.
--
-- Conventions: times are timestamptz (microsecond precision), NULL for the
-- zero time; strings are NOT NULL with '' for "none"; opaque payloads
-- (JSON documents, definition sources) are bytea kept byte for byte.

-- +goose Up
CREATE TABLE definitions (
    id          text    NOT NULL,
    version     integer NOT NULL,
    name        text    NOT NULL DEFAULT '',
    format      text    NOT NULL,
    source      bytea   NOT NULL,
    hash        text    NOT NULL,
    deployed_at timestamptz,
    deployed_by text    NOT NULL DEFAULT '',
    PRIMARY KEY (id, version)
);

CREATE TABLE instances (
    id                 text    NOT NULL PRIMARY KEY,
    definition_id      text    NOT NULL,
    definition_version integer NOT NULL,
    business_key       text    NOT NULL DEFAULT '',
    status             text    NOT NULL,
    state              bytea,
    version            bigint  NOT NULL,
    created_at         timestamptz,
    updated_at         timestamptz,
    ended_at           timestamptz
);
CREATE INDEX instances_status ON instances (status, id);
CREATE INDEX instances_definition ON instances (definition_id, definition_version);
CREATE INDEX instances_business_key ON instances (business_key) WHERE business_key <> '';

-- history is append-only: rows are inserted by Commit and never updated.
CREATE TABLE history (
    instance_id text   NOT NULL REFERENCES instances (id),
    seq         bigint NOT NULL,
    node_id     text   NOT NULL DEFAULT '',
    node_type   text   NOT NULL DEFAULT '',
    action      text   NOT NULL DEFAULT '',
    time        timestamptz,
    result      bytea,
    actor       text   NOT NULL DEFAULT '',
    checkpoint  bigint NOT NULL,
    PRIMARY KEY (instance_id, seq)
);

CREATE TABLE jobs (
    id               text    NOT NULL PRIMARY KEY,
    instance_id      text    NOT NULL DEFAULT '',
    kind             text    NOT NULL,
    node_id          text    NOT NULL DEFAULT '',
    task_type        text    NOT NULL DEFAULT '',
    state            text    NOT NULL,
    attempt          integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 0,
    run_at           timestamptz NOT NULL,
    lease_owner      text    NOT NULL DEFAULT '',
    lease_until      timestamptz,
    last_error       text    NOT NULL DEFAULT '',
    payload          bytea,
    created_at       timestamptz,
    first_failure_at timestamptz,
    last_failure_at  timestamptz
);
CREATE INDEX jobs_fetch ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_instance ON jobs (instance_id) WHERE instance_id <> '';

-- Candidate lists are text arrays in their original order; the GIN indexes
-- make "user = ANY (candidate_users)" and "candidate_groups && $groups"
-- indexed lookups.
CREATE TABLE tasks (
    id               text   NOT NULL PRIMARY KEY,
    instance_id      text   NOT NULL REFERENCES instances (id),
    definition_id    text   NOT NULL DEFAULT '',
    node_id          text   NOT NULL DEFAULT '',
    name             text   NOT NULL DEFAULT '',
    assignee         text   NOT NULL DEFAULT '',
    candidate_users  text[] NOT NULL DEFAULT '{}',
    candidate_groups text[] NOT NULL DEFAULT '{}',
    due_at           timestamptz,
    follow_up_at     timestamptz,
    form_key         text   NOT NULL DEFAULT '',
    state            text   NOT NULL,
    payload          bytea,
    created_at       timestamptz,
    completed_at     timestamptz,
    completed_by     text   NOT NULL DEFAULT ''
);
CREATE INDEX tasks_state ON tasks (state, id);
CREATE INDEX tasks_instance ON tasks (instance_id);
CREATE INDEX tasks_assignee ON tasks (assignee, state) WHERE assignee <> '';
CREATE INDEX tasks_due ON tasks (state, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX tasks_candidate_users ON tasks USING gin (candidate_users);
CREATE INDEX tasks_candidate_groups ON tasks USING gin (candidate_groups);

CREATE TABLE subscriptions (
    id          text NOT NULL PRIMARY KEY,
    instance_id text NOT NULL REFERENCES instances (id),
    node_id     text NOT NULL DEFAULT '',
    kind        text NOT NULL,
    name        text NOT NULL,
    key         text NOT NULL DEFAULT '',
    created_at  timestamptz
);
CREATE INDEX subscriptions_lookup ON subscriptions (kind, name, key);
CREATE INDEX subscriptions_instance ON subscriptions (instance_id);

CREATE TABLE incidents (
    id               text    NOT NULL PRIMARY KEY,
    instance_id      text    NOT NULL DEFAULT '',
    definition_id    text    NOT NULL DEFAULT '',
    node_id          text    NOT NULL DEFAULT '',
    job_id           text    NOT NULL DEFAULT '',
    kind             text    NOT NULL DEFAULT '',
    message          text    NOT NULL DEFAULT '',
    attempts         integer NOT NULL DEFAULT 0,
    state            text    NOT NULL,
    advice           bytea,
    created_at       timestamptz,
    first_failure_at timestamptz,
    last_failure_at  timestamptz,
    resolved_at      timestamptz,
    resolved_by      text    NOT NULL DEFAULT ''
);
CREATE INDEX incidents_state ON incidents (state, id);
CREATE INDEX incidents_instance ON incidents (instance_id);

CREATE TABLE outbox (
    id          text    NOT NULL PRIMARY KEY,
    instance_id text    NOT NULL DEFAULT '',
    event       text    NOT NULL DEFAULT '',
    channel     text    NOT NULL,
    target      text    NOT NULL DEFAULT '',
    payload     bytea,
    state       text    NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    run_at      timestamptz NOT NULL,
    last_error  text    NOT NULL DEFAULT '',
    created_at  timestamptz,
    sent_at     timestamptz,
    lease_owner text    NOT NULL DEFAULT '',
    lease_until timestamptz
);
CREATE INDEX outbox_fetch ON outbox (state, run_at);
CREATE INDEX outbox_instance ON outbox (instance_id) WHERE instance_id <> '';

CREATE TABLE decisions (
    id            text    NOT NULL PRIMARY KEY,
    instance_id   text    NOT NULL DEFAULT '',
    node_id       text    NOT NULL DEFAULT '',
    job_id        text    NOT NULL DEFAULT '',
    provider      text    NOT NULL DEFAULT '',
    model         text    NOT NULL DEFAULT '',
    request       bytea,
    response      bytea,
    decision      bytea,
    input_tokens  integer NOT NULL DEFAULT 0,
    output_tokens integer NOT NULL DEFAULT 0,
    latency_ms    bigint  NOT NULL DEFAULT 0,
    cost_micros   bigint  NOT NULL DEFAULT 0,
    created_at    timestamptz
);
CREATE INDEX decisions_instance ON decisions (instance_id, created_at);

-- messages has one row per message id ever seen. A row with consumed_by
-- NULL is buffered (waiting for a catch event); a consumed row stays as the
-- record that makes correlation exactly-once per id.
CREATE TABLE messages (
    id          text NOT NULL PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    key         text NOT NULL DEFAULT '',
    variables   bytea,
    created_at  timestamptz,
    expires_at  timestamptz,
    consumed_by text,
    consumed_at timestamptz
);
CREATE INDEX messages_buffered ON messages (name, key, created_at) WHERE consumed_by IS NULL;
CREATE INDEX messages_expiry ON messages (expires_at) WHERE consumed_by IS NULL AND expires_at IS NOT NULL;
