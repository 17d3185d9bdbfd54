package store

// ContentionStats count, since the store was opened, how much this
// process's writers and job fetchers got in each other's way and in the
// way of other nodes on the same database. Every field only grows.
type ContentionStats struct {
	// Groups is the number of group-commit transactions committed or
	// attempted; Transitions the transitions they carried, so
	// Transitions/Groups is the mean group size.
	Groups, Transitions int64
	// Failed counts transitions rolled back alone inside a group (a
	// conflict or another error of their own); Retried those run again in
	// a transaction of their own after a deadlock, a serialization
	// failure or a failed group; Repassed the groups written a second
	// time, with a savepoint per transition, because one failed in the
	// first pass.
	Failed, Retried, Repassed int64
	// Fetches counts job fetches (FetchJobs calls that succeeded),
	// ShortFetches those that leased fewer jobs than they asked for, and
	// Skipped the due jobs short fetches left behind because another
	// transaction held their row lock (SKIP LOCKED misses; how each store
	// counts them is documented where it does).
	Fetches, ShortFetches, Skipped int64
}

// ContentionReporter is implemented by stores that count contention
// (PostgreSQL). Metrics read it at scrape time; a store without it simply
// has no contention metrics.
type ContentionReporter interface {
	Contention() ContentionStats
}
