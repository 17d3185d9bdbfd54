-- history and commands become WITHOUT ROWID tables keyed by (instance_id,
-- seq). Both are written on every transition and read only by that key;
-- as rowid tables each row went into two b-trees (the table by rowid and
-- the primary key index), now into one. Rows of a new instance land at
-- the end of that b-tree because instance ids begin with their creation
-- time. history also loses its foreign key to instances: it was checked
-- by a lookup per row written, while history rows are only ever inserted
-- by the commit that writes their instance row, and deleted with it
-- (the retention purge deletes them explicitly).

-- +goose Up
CREATE TABLE history_keyed (
    instance_id TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    node_id     TEXT    NOT NULL DEFAULT '',
    node_type   TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL DEFAULT '',
    time        INTEGER,
    result      BLOB,
    actor       TEXT    NOT NULL DEFAULT '',
    checkpoint  INTEGER NOT NULL,
    PRIMARY KEY (instance_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO history_keyed (instance_id, seq, node_id, node_type, action, time, result, actor, checkpoint)
    SELECT instance_id, seq, node_id, node_type, action, time, result, actor, checkpoint
    FROM history ORDER BY instance_id, seq;
DROP TABLE history;
ALTER TABLE history_keyed RENAME TO history;

DROP TRIGGER commands_go_with_instance;
CREATE TABLE commands_keyed (
    instance_id TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    command     BLOB    NOT NULL,
    created_at  INTEGER,
    PRIMARY KEY (instance_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO commands_keyed (instance_id, seq, command, created_at)
    SELECT instance_id, seq, command, created_at FROM commands ORDER BY instance_id, seq;
DROP TABLE commands;
ALTER TABLE commands_keyed RENAME TO commands;
-- +goose StatementBegin
CREATE TRIGGER commands_go_with_instance AFTER DELETE ON instances
BEGIN
    DELETE FROM commands WHERE instance_id = old.id;
END;
-- +goose StatementEnd
