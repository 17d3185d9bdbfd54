-- lease_expiries counts the attempts of a job whose lease expired while
-- it ran: the process running it ended (or stalled) before the job
-- finished. FetchJobs increments it when it takes such a job over; the
-- runner dead-letters a job whose process ended too often (a poison job)
-- instead of letting it end the process again.

-- +goose Up
ALTER TABLE jobs ADD COLUMN lease_expiries INTEGER NOT NULL DEFAULT 0;
