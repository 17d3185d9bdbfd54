package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// TestFetchCountsSkippedLocked: a due job whose row lock another
// transaction holds is skipped by FetchJobs and counted as skipped; a fetch
// that got its full limit and one that found nothing due add no skip.
func TestFetchCountsSkippedLocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := startTransition("i", 1)
	for i, id := range []string{"j1", "j2"} {
		tr.NewJobs = append(tr.NewJobs, store.JobRow{ID: id, InstanceID: "i", Kind: "service", NodeID: "n",
			State: store.JobAvailable, RunAt: t0.Add(time.Duration(i) * time.Second), CreatedAt: t0})
	}
	if err := s.Commit(ctx, tr); err != nil {
		t.Fatal(err)
	}

	// Another transaction holds j1's row lock, as a fetch or a commit of
	// another node would.
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	lock, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback(ctx) }()
	if _, err := lock.Exec(ctx, `SELECT id FROM jobs WHERE id = 'j1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	fetch := func(limit int, kinds []string, want ...string) {
		t.Helper()
		jobs, err := s.FetchJobs(ctx, store.FetchParams{Owner: "w", Kinds: kinds, Now: t0.Add(time.Minute), Limit: limit, LeaseFor: time.Minute})
		if err != nil {
			t.Fatalf("FetchJobs(limit %d) = %v", limit, err)
		}
		var got []string
		for _, j := range jobs {
			got = append(got, j.ID)
		}
		if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
			t.Fatalf("FetchJobs(limit %d) leased %v, want %v", limit, got, want)
		}
	}
	check := func(when string, fetches, short, skipped int64) {
		t.Helper()
		c := s.Contention()
		if c.Fetches != fetches || c.ShortFetches != short || c.Skipped != skipped {
			t.Errorf("%s: Fetches, ShortFetches, Skipped = %d, %d, %d; want %d, %d, %d",
				when, c.Fetches, c.ShortFetches, c.Skipped, fetches, short, skipped)
		}
	}

	fetch(2, nil, "j2")
	check("limit 2 with j1 locked", 1, 1, 1)
	// Nothing left but the locked job: the count runs with the kinds filter.
	fetch(2, []string{"service"})
	check("limit 2 of kind service, only j1 left, locked", 2, 2, 2)
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	fetch(1, nil, "j1")
	check("limit 1 after the lock went, full", 3, 2, 2)
	fetch(5, nil)
	check("limit 5 with nothing due", 4, 3, 2)

	if c := s.Contention(); c.Groups != 1 || c.Transitions != 1 {
		t.Errorf("Contention() = %+v; want the one commit as one group of one transition", c)
	}
}
