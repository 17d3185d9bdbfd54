-- A call activity's child instance names its parent: the calling
-- instance, the call activity's node and the call job the parent's token
-- waits on. The runner hands the child's outcome back to the parent
-- through them; the API lists an instance's children by parent_id.

-- +goose Up
ALTER TABLE instances ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN parent_node TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN parent_job TEXT NOT NULL DEFAULT '';
CREATE INDEX instances_parent ON instances (parent_id) WHERE parent_id <> '';
