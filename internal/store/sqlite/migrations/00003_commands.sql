-- commands holds every command the runner applied to an instance (the
-- engine.Command given to engine.Step, as JSON), written in the
-- transaction of the transition it caused. seq is the instance version
-- that transition committed, so the command of a history row is the one
-- whose seq is the row's checkpoint. With the definition, the commands are
-- enough to re-run an instance offline (baton replay). Append-only.
--
-- The table is on the commit path, so an insert does no more than it must:
-- rows are appended by rowid and only the small (instance_id, seq) key goes
-- into a b-tree at a random place; there is no foreign key to check.
-- Instead a trigger deletes an instance's commands with the instance.

-- +goose Up
CREATE TABLE commands (
    instance_id TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    command     BLOB    NOT NULL,
    created_at  INTEGER,
    PRIMARY KEY (instance_id, seq)
) STRICT;

-- +goose StatementBegin
CREATE TRIGGER commands_go_with_instance AFTER DELETE ON instances
BEGIN
    DELETE FROM commands WHERE instance_id = old.id;
END;
-- +goose StatementEnd
