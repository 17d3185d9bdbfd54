-- instances.last_seq is the highest history seq of the instance, so that
-- Commit numbers new history rows from the instance row it already updates
-- instead of scanning history for MAX(seq).

-- +goose Up
ALTER TABLE instances ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
UPDATE instances SET last_seq = (
    SELECT coalesce(max(seq), 0) FROM history WHERE history.instance_id = instances.id
);
