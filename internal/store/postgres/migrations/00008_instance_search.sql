-- Indexes for the instance search (GET /api/runtime/instances): the list
-- is newest first by default, so each common filter has an index that
-- ends in (created_at, id) and serves both the filter and the order; a
-- page resumes with a row-value comparison on (sort column, id). The
-- definition index replaces the one of migration 1 (same leading
-- columns). Variable conditions read the state JSON and are not indexed:
-- they scan the rows the other conditions leave (docs/benchmarks.md).
-- +goose Up
CREATE INDEX instances_created ON instances (created_at, id);
CREATE INDEX instances_updated ON instances (updated_at, id);
CREATE INDEX instances_ended ON instances (ended_at, id) WHERE ended_at IS NOT NULL;
CREATE INDEX instances_status_created ON instances (status, created_at, id);
DROP INDEX instances_definition;
CREATE INDEX instances_definition_created ON instances (definition_id, definition_version, created_at, id);
CREATE INDEX incidents_open_instance ON incidents (instance_id) WHERE state = 'open';
-- A prefix LIKE on business_key needs pattern ops under a non-C collation;
-- the pattern-ops index also serves equality, so it replaces the plain one.
DROP INDEX instances_business_key;
CREATE INDEX instances_business_key ON instances (business_key text_pattern_ops) WHERE business_key <> '';
