-- commands holds every command the runner applied to an instance (the
-- engine.Command given to engine.Step, as JSON), written in the
-- transaction of the transition it caused. seq is the instance version
-- that transition committed, so the command of a history row is the one
-- whose seq is the row's checkpoint. With the definition, the commands are
-- enough to re-run an instance offline (baton replay). Append-only; the
-- rows are deleted with their instance.

-- +goose Up
CREATE TABLE commands (
    instance_id text        NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    seq         bigint      NOT NULL,
    command     bytea       NOT NULL,
    created_at  timestamptz,
    PRIMARY KEY (instance_id, seq)
);
