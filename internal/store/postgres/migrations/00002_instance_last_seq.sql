-- instances.last_seq is the highest history seq of the instance, so that
-- Commit numbers new history rows from the instance row it already updates
-- (and holds locked) instead of scanning history for max(seq).

-- +goose Up
ALTER TABLE instances ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
UPDATE instances SET last_seq = h.max_seq
FROM (SELECT instance_id, max(seq) AS max_seq FROM history GROUP BY instance_id) h
WHERE h.instance_id = instances.id;
