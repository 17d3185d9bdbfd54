-- The task list (GET /api/runtime/tasks): a priority for each task (0 to
-- 100, higher first; 50 unless the user task sets one), so the inbox can
-- sort by it; and an index for "completed by me", newest first, and one
-- for the created order the inbox sorts by most.
-- +goose Up
ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 50;
CREATE INDEX tasks_completed_by ON tasks (completed_by, completed_at, id) WHERE completed_by <> '';
CREATE INDEX tasks_state_created ON tasks (state, created_at, id);
