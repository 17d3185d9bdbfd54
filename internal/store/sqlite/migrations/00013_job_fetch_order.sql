-- A fetch takes due jobs in (run_at, id) order. jobs_fetch now holds id
-- too, so that order is read straight off the index, stopping at the
-- fetch's limit, instead of sorting every due job on each fetch. Expired
-- leases are looked up through jobs_lease (see FetchJobs).

-- +goose Up
DROP INDEX jobs_fetch;
CREATE INDEX jobs_fetch ON jobs (state, run_at, id);

-- +goose Down
DROP INDEX jobs_fetch;
CREATE INDEX jobs_fetch ON jobs (state, run_at);
