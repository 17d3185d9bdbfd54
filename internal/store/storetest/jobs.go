package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

func testJobs(t *testing.T, newStore NewStore) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		j := store.JobRow{
			ID: "j1", InstanceID: "", Kind: "llm", NodeID: "route", TaskType: "gpt",
			State: store.JobAvailable, Attempt: 2, MaxAttempts: 5, RunAt: at(time.Second),
			LastError: "earlier", Payload: []byte(`{"p":1}`), CreatedAt: t0,
			FirstFailureAt: at(-time.Hour), LastFailureAt: at(-time.Minute),
		}
		addJobs(t, s, j)
		if d := diff(j, mustJob(t, s, "j1")); d != "" {
			t.Errorf("Job(j1) mismatch (-want +got):\n%s", d)
		}
		_, err := s.Job(ctxFor(t), "nope")
		wantErr(t, "Job(nope)", err, store.ErrNotFound)
	})

	t.Run("FetchDueOldestFirst", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		addJobs(t, s,
			job("a", "", at(time.Second)),
			job("b", "", t0),
			job("c-future", "", at(time.Hour)),
			job("d", "", at(2*time.Second)),
		)
		now := at(5 * time.Second)
		got := mustFetch(t, s, store.FetchParams{Owner: "w1", Now: now, Limit: 2, LeaseFor: 30 * time.Second})
		if ids := fmt.Sprint(jobIDs(got)); ids != "[b a]" {
			t.Fatalf("FetchJobs() = %s, want [b a]", ids)
		}
		for _, j := range got {
			if j.State != store.JobRunning || j.LeaseOwner != "w1" || !j.LeaseUntil.Equal(now.Add(30*time.Second)) || j.Attempt != 1 {
				t.Errorf("fetched job = %+v, want running under w1 until now+30s, attempt 1", j)
			}
			if d := diff(j, mustJob(t, s, j.ID)); d != "" {
				t.Errorf("fetched row differs from the stored one (-fetched +stored):\n%s", d)
			}
		}
		got = mustFetch(t, s, store.FetchParams{Owner: "w2", Now: now, Limit: 10, LeaseFor: time.Minute})
		if ids := fmt.Sprint(jobIDs(got)); ids != "[d]" {
			t.Errorf("second FetchJobs() = %s, want [d] (b and a are leased, c is not due)", ids)
		}
	})

	t.Run("FetchByKind", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		timer := job("t", "", t0)
		timer.Kind = "timer"
		mail := job("m", "", t0)
		mail.Kind = "notify"
		addJobs(t, s, job("s", "", t0), timer, mail)
		got := mustFetch(t, s, store.FetchParams{Owner: "w", Kinds: []string{"timer", "notify"}, Now: t0, Limit: 10, LeaseFor: time.Minute})
		if ids := fmt.Sprint(jobIDs(got)); ids != "[m t]" {
			t.Errorf("FetchJobs(timer, notify) = %s, want [m t]", ids)
		}
	})

	t.Run("FetchRejectsBadParams", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.FetchJobs(ctxFor(t), store.FetchParams{Owner: "w", Now: t0, Limit: 1}); err == nil {
			t.Error("FetchJobs(LeaseFor 0) = nil error, want an error")
		}
		if _, err := s.FetchJobs(ctxFor(t), store.FetchParams{Now: t0, Limit: 1, LeaseFor: time.Second}); err == nil {
			t.Error("FetchJobs(no owner) = nil error, want an error")
		}
		if _, err := s.FetchJobs(ctxFor(t), store.FetchParams{Owner: "w", Limit: 1, LeaseFor: time.Second}); err == nil {
			t.Error("FetchJobs(zero Now) = nil error, want an error")
		}
	})

	t.Run("ExpiredLeaseIsTakenOver", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		startInstance(t, s, "i1")
		addJobs(t, s, job("x", "i1", t0))
		mustFetch(t, s, store.FetchParams{Owner: "w1", Now: t0, Limit: 1, LeaseFor: 10 * time.Second})
		for _, now := range []time.Time{at(5 * time.Second), at(10 * time.Second)} {
			if got := mustFetch(t, s, store.FetchParams{Owner: "w2", Now: now, Limit: 1, LeaseFor: time.Minute}); len(got) != 0 {
				t.Fatalf("FetchJobs(at %v) = %v, want nothing while the lease holds", now, jobIDs(got))
			}
		}
		got := mustFetch(t, s, store.FetchParams{Owner: "w2", Now: at(11 * time.Second), Limit: 1, LeaseFor: time.Minute})
		if len(got) != 1 || got[0].LeaseOwner != "w2" || got[0].Attempt != 2 {
			t.Fatalf("FetchJobs(after expiry) = %+v, want x under w2, attempt 2", got)
		}
		// The takeover records the attempt that never finished.
		if j := got[0]; j.LeaseExpiries != 1 || j.LastError != store.LeaseExpiredError ||
			!j.FirstFailureAt.Equal(at(11*time.Second)) || !j.LastFailureAt.Equal(at(11*time.Second)) {
			t.Errorf("taken-over job = %+v, want 1 lease expiry recorded as a failure at +11s", j)
		}
		wantErr(t, "ExtendLease(old owner)", s.ExtendLease(ctxFor(t), "x", "w1", at(time.Hour)), store.ErrConflict)
		wantErr(t, "RetryJob(old owner)", s.RetryJob(ctxFor(t), "x", "w1", at(time.Hour), "late", at(12*time.Second)), store.ErrConflict)
		wantErr(t, "ReleaseJob(old owner)", s.ReleaseJob(ctxFor(t), "x", "w1"), store.ErrConflict)
		err := s.Commit(ctxFor(t), store.Transition{Instance: instance("i1", 2), DoneJob: &store.JobDone{ID: "x", Owner: "w1", State: store.JobCompleted}})
		wantErr(t, "Commit(done by old owner)", err, store.ErrConflict)
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2), DoneJob: &store.JobDone{ID: "x", Owner: "w2", State: store.JobCompleted}})
	})

	t.Run("DueAndExpiredInOneOrder", func(t *testing.T) {
		// Due jobs and expired leases come in one (run_at, id) order under
		// the fetch's limit, and the kind filter holds for both.
		t.Parallel()
		s := newStore(t)
		mk := func(id, kind string, runAt time.Time, leasedUntil time.Time) store.JobRow {
			j := job(id, "", runAt)
			j.Kind = kind
			if !leasedUntil.IsZero() {
				j.State, j.LeaseOwner, j.LeaseUntil, j.Attempt = store.JobRunning, "w0", leasedUntil, 1
			}
			return j
		}
		addJobs(t, s,
			mk("a-expired", "a", t0, at(10*time.Second)),
			mk("a-held", "a", t0, at(time.Hour)),
			mk("a-due", "a", at(5*time.Second), time.Time{}),
			mk("a-late", "a", at(time.Hour), time.Time{}),
			mk("b-due", "b", at(time.Second), time.Time{}),
			mk("b-expired", "b", at(2*time.Second), at(10*time.Second)))
		now := at(20 * time.Second)
		fetch := func(limit int, kinds ...string) string {
			return fmt.Sprint(jobIDs(mustFetch(t, s, store.FetchParams{Owner: "w", Kinds: kinds, Now: now, Limit: limit, LeaseFor: time.Minute})))
		}
		if got := fetch(1, "a"); got != "[a-expired]" {
			t.Errorf("FetchJobs(a, limit 1) = %s, want [a-expired] (oldest run_at)", got)
		}
		if got := fetch(10, "a"); got != "[a-due]" {
			t.Errorf("FetchJobs(a) = %s, want [a-due] (a-held is leased, a-late not due)", got)
		}
		if got := fetch(10); got != "[b-due b-expired]" {
			t.Errorf("FetchJobs(any kind) = %s, want [b-due b-expired]", got)
		}
	})

	t.Run("InsertedAlreadyLeased", func(t *testing.T) {
		// A runner may create a job leased to itself and run it without a
		// fetch; if it dies, the lease expires and the job is taken over.
		t.Parallel()
		s := newStore(t)
		leased := func(id string) store.JobRow {
			j := job(id, "i1", t0)
			j.State, j.LeaseOwner, j.LeaseUntil, j.Attempt = store.JobRunning, "r1", at(time.Minute), 1
			return j
		}
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), NewJobs: []store.JobRow{leased("done"), leased("orphan")}})
		if d := diff(leased("done"), mustJob(t, s, "done")); d != "" {
			t.Errorf("Job(done) mismatch (-want +got):\n%s", d)
		}
		if got := mustFetch(t, s, store.FetchParams{Owner: "w2", Now: at(30 * time.Second), Limit: 10, LeaseFor: time.Minute}); len(got) != 0 {
			t.Fatalf("FetchJobs(while leased) = %v, want nothing", jobIDs(got))
		}
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2), DoneJob: &store.JobDone{ID: "done", Owner: "r1", State: store.JobCompleted}})
		got := mustFetch(t, s, store.FetchParams{Owner: "w2", Now: at(61 * time.Second), Limit: 10, LeaseFor: time.Minute})
		if len(got) != 1 || got[0].ID != "orphan" || got[0].LeaseOwner != "w2" || got[0].Attempt != 2 || got[0].LeaseExpiries != 1 {
			t.Errorf("FetchJobs(after the lease expired) = %+v, want orphan under w2 at attempt 2 after 1 lease expiry", got)
		}
	})

	t.Run("AttemptsCountAtLeaseExpiriesAtTakeover", func(t *testing.T) {
		// Every lease counts one attempt, whatever ends it; only a lease
		// that expired while the job ran counts a lease expiry. A normal
		// failure counts once, a release not at all.
		t.Parallel()
		s := newStore(t)
		addJobs(t, s, job("x", "", t0))
		fetch := func(owner string, now time.Time, attempt, expiries int) store.JobRow {
			t.Helper()
			got := mustFetch(t, s, store.FetchParams{Owner: owner, Now: now, Limit: 1, LeaseFor: 10 * time.Second})
			if len(got) != 1 || got[0].Attempt != attempt || got[0].LeaseExpiries != expiries {
				t.Fatalf("FetchJobs(%s at %v) = %+v, want x at attempt %d after %d lease expiries", owner, now, got, attempt, expiries)
			}
			if d := diff(got[0], mustJob(t, s, "x")); d != "" {
				t.Errorf("fetched row differs from the stored one (-fetched +stored):\n%s", d)
			}
			return got[0]
		}
		fetch("w1", t0, 1, 0)
		if err := s.RetryJob(ctxFor(t), "x", "w1", at(time.Second), "boom", at(time.Second)); err != nil {
			t.Fatal(err)
		}
		if j := fetch("w1", at(time.Second), 2, 0); j.LastError != "boom" {
			t.Errorf("after a normal failure LastError = %q, want boom", j.LastError)
		}
		if err := s.ReleaseJob(ctxFor(t), "x", "w1"); err != nil {
			t.Fatal(err)
		}
		fetch("w1", at(time.Second), 2, 0) // a release gives the attempt back
		j := fetch("w2", at(12*time.Second), 3, 1)
		if j.LastError != store.LeaseExpiredError || !j.FirstFailureAt.Equal(at(time.Second)) || !j.LastFailureAt.Equal(at(12*time.Second)) {
			t.Errorf("after a takeover = %+v, want the expiry recorded, the first failure kept", j)
		}
		fetch("w3", at(23*time.Second), 4, 2)
		if err := s.RetryJob(ctxFor(t), "x", "w3", at(30*time.Second), "boom again", at(24*time.Second)); err != nil {
			t.Fatal(err)
		}
		fetch("w3", at(30*time.Second), 5, 2) // a normal retry keeps the count
		if list, err := s.Jobs(ctxFor(t), store.JobFilter{}); err != nil || len(list) != 1 || list[0].LeaseExpiries != 2 {
			t.Errorf("Jobs() = %+v, %v; want x with 2 lease expiries", list, err)
		}
		mustCommit(t, s, store.Transition{DoneJob: &store.JobDone{ID: "x", Owner: "w3", State: store.JobDead, Error: "poison"}})
		if err := s.RequeueJob(ctxFor(t), "x", at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := mustJob(t, s, "x"); got.Attempt != 0 || got.LeaseExpiries != 0 {
			t.Errorf("requeued job = %+v, want attempt and lease expiries reset", got)
		}
	})

	t.Run("ExtendLease", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		addJobs(t, s, job("x", "", t0), job("y", "", t0))
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Second})
		if err := s.ExtendLease(ctxFor(t), "x", "w", at(time.Hour)); err != nil {
			t.Fatalf("ExtendLease() = %v", err)
		}
		if got := mustJob(t, s, "x"); !got.LeaseUntil.Equal(at(time.Hour)) {
			t.Errorf("LeaseUntil = %v, want %v", got.LeaseUntil, at(time.Hour))
		}
		if got := mustFetch(t, s, store.FetchParams{Owner: "v", Now: at(time.Minute), Limit: 2, LeaseFor: time.Second}); fmt.Sprint(jobIDs(got)) != "[y]" {
			t.Errorf("FetchJobs() = %v, want [y] (x's lease was extended)", jobIDs(got))
		}
		wantErr(t, "ExtendLease(not running)", s.ExtendLease(ctxFor(t), "y", "w", at(time.Hour)), store.ErrConflict)
		wantErr(t, "ExtendLease(missing)", s.ExtendLease(ctxFor(t), "nope", "w", at(time.Hour)), store.ErrNotFound)
	})

	t.Run("RetryJob", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		addJobs(t, s, job("x", "", t0))
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute})
		if err := s.RetryJob(ctxFor(t), "x", "w", at(time.Minute), "boom", at(time.Second)); err != nil {
			t.Fatalf("RetryJob() = %v", err)
		}
		got := mustJob(t, s, "x")
		want := job("x", "", at(time.Minute))
		want.Attempt = 1
		want.LastError = "boom"
		want.FirstFailureAt = at(time.Second)
		want.LastFailureAt = at(time.Second)
		if d := diff(want, got); d != "" {
			t.Errorf("job after RetryJob mismatch (-want +got):\n%s", d)
		}
		if got := mustFetch(t, s, store.FetchParams{Owner: "w", Now: at(59 * time.Second), Limit: 1, LeaseFor: time.Minute}); len(got) != 0 {
			t.Fatalf("FetchJobs(before runAt) = %v, want nothing", jobIDs(got))
		}
		if got := mustFetch(t, s, store.FetchParams{Owner: "w", Now: at(time.Minute), Limit: 1, LeaseFor: time.Minute}); len(got) != 1 || got[0].Attempt != 2 {
			t.Fatalf("FetchJobs(at runAt) = %+v, want x at attempt 2", got)
		}
		if err := s.RetryJob(ctxFor(t), "x", "w", at(time.Hour), "boom again", at(2*time.Minute)); err != nil {
			t.Fatalf("RetryJob() = %v", err)
		}
		got = mustJob(t, s, "x")
		if !got.FirstFailureAt.Equal(at(time.Second)) || !got.LastFailureAt.Equal(at(2*time.Minute)) || got.LastError != "boom again" {
			t.Errorf("second retry = %+v, want first failure kept, last failure and error updated", got)
		}
		wantErr(t, "RetryJob(not running)", s.RetryJob(ctxFor(t), "x", "w", at(time.Hour), "", t0), store.ErrConflict)
		wantErr(t, "RetryJob(missing)", s.RetryJob(ctxFor(t), "nope", "w", at(time.Hour), "", t0), store.ErrNotFound)
	})

	t.Run("SnoozeJob", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		addJobs(t, s, job("x", "", t0))
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute})
		if err := s.SnoozeJob(ctxFor(t), "x", "w", at(time.Minute), "rate limited", at(time.Second)); err != nil {
			t.Fatalf("SnoozeJob() = %v", err)
		}
		got := mustJob(t, s, "x")
		want := job("x", "", at(time.Minute))
		want.Attempt = 0 // the lease's attempt is given back
		want.LastError = "rate limited"
		want.FirstFailureAt = at(time.Second)
		want.LastFailureAt = at(time.Second)
		if d := diff(want, got); d != "" {
			t.Errorf("job after SnoozeJob mismatch (-want +got):\n%s", d)
		}
		if got := mustFetch(t, s, store.FetchParams{Owner: "w", Now: at(59 * time.Second), Limit: 1, LeaseFor: time.Minute}); len(got) != 0 {
			t.Fatalf("FetchJobs(before runAt) = %v, want nothing", jobIDs(got))
		}
		if got := mustFetch(t, s, store.FetchParams{Owner: "w", Now: at(time.Minute), Limit: 1, LeaseFor: time.Minute}); len(got) != 1 || got[0].Attempt != 1 {
			t.Fatalf("FetchJobs(at runAt) = %+v, want x at attempt 1", got)
		}
		wantErr(t, "SnoozeJob(other owner)", s.SnoozeJob(ctxFor(t), "x", "w2", at(time.Hour), "", t0), store.ErrConflict)
		wantErr(t, "SnoozeJob(missing)", s.SnoozeJob(ctxFor(t), "nope", "w", at(time.Hour), "", t0), store.ErrNotFound)
	})

	t.Run("ReleaseJob", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		addJobs(t, s, job("x", "", t0))
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute})
		if err := s.ReleaseJob(ctxFor(t), "x", "w"); err != nil {
			t.Fatalf("ReleaseJob() = %v", err)
		}
		if d := diff(job("x", "", t0), mustJob(t, s, "x")); d != "" {
			t.Errorf("released job mismatch (-want +got):\n%s", d)
		}
		wantErr(t, "ReleaseJob(again)", s.ReleaseJob(ctxFor(t), "x", "w"), store.ErrConflict)
		wantErr(t, "ReleaseJob(missing)", s.ReleaseJob(ctxFor(t), "nope", "w"), store.ErrNotFound)
		if got := mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute}); len(got) != 1 || got[0].Attempt != 1 {
			t.Errorf("FetchJobs(after release) = %+v, want x at attempt 1", got)
		}
	})

	t.Run("RequeueJob", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		addJobs(t, s, job("dead", "", t0), job("cancelled", "", at(time.Second)), job("available", "", at(time.Hour)))
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute})
		mustCommit(t, s, store.Transition{
			DoneJob:    &store.JobDone{ID: "dead", Owner: "w", State: store.JobDead, Error: "exhausted"},
			CancelJobs: []string{"cancelled"},
		})
		for _, id := range []string{"dead", "cancelled"} {
			if err := s.RequeueJob(ctxFor(t), id, at(time.Minute)); err != nil {
				t.Fatalf("RequeueJob(%s) = %v", id, err)
			}
			got := mustJob(t, s, id)
			if got.State != store.JobAvailable || got.Attempt != 0 || !got.RunAt.Equal(at(time.Minute)) {
				t.Errorf("requeued %s = %+v, want available at +1m with attempt 0", id, got)
			}
		}
		wantErr(t, "RequeueJob(available)", s.RequeueJob(ctxFor(t), "available", t0), store.ErrConflict)
		wantErr(t, "RequeueJob(missing)", s.RequeueJob(ctxFor(t), "nope", t0), store.ErrNotFound)
	})

	t.Run("ConcurrentFetchersNeverShareAJob", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const total, workers = 200, 8
		jobs := make([]store.JobRow, total)
		for i := range jobs {
			jobs[i] = job(fmt.Sprintf("j%03d", i), "", at(time.Duration(i%17)*time.Millisecond))
		}
		addJobs(t, s, jobs...)
		var wg sync.WaitGroup
		got := make([][]string, workers)
		errs := make([]error, workers)
		for w := range workers {
			wg.Go(func() {
				for {
					batch, err := s.FetchJobs(ctxFor(t), store.FetchParams{
						Owner: fmt.Sprintf("w%d", w), Now: at(time.Second), Limit: 7, LeaseFor: time.Hour,
					})
					if err != nil {
						errs[w] = err
						return
					}
					if len(batch) == 0 {
						return
					}
					got[w] = append(got[w], jobIDs(batch)...)
				}
			})
		}
		wg.Wait()
		seen := map[string]int{}
		for w := range workers {
			if errs[w] != nil {
				t.Errorf("worker %d: FetchJobs() = %v", w, errs[w])
			}
			for _, id := range got[w] {
				if prev, dup := seen[id]; dup {
					t.Errorf("job %s fetched by workers %d and %d", id, prev, w)
				}
				seen[id] = w
			}
		}
		if len(seen) != total {
			t.Errorf("%d distinct jobs fetched, want %d", len(seen), total)
		}
		counts, err := s.CountJobs(ctxFor(t))
		if err != nil {
			t.Fatalf("CountJobs() = %v", err)
		}
		if counts[store.JobRunning] != total {
			t.Errorf("CountJobs()[running] = %d, want %d", counts[store.JobRunning], total)
		}
	})

	t.Run("ListAndPage", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		startInstance(t, s, "i1")
		timer := job("c", "i1", t0)
		timer.Kind = "timer"
		addJobs(t, s, job("a", "i1", t0), job("b", "", t0), timer, job("d", "i1", at(time.Hour)), job("e", "", at(time.Hour)))
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute}) // leases a
		// b's incident was resolved, d's is open.
		mustCommit(t, s, store.Transition{NewIncidents: []store.IncidentRow{
			{ID: "inc-b", JobID: "b", Kind: engine.IncidentJob, Message: "b failed", State: store.IncidentResolved, CreatedAt: t0},
			{ID: "inc-d", JobID: "d", Kind: engine.IncidentJob, Message: "d failed", State: store.IncidentOpen, CreatedAt: t0}}})
		cases := []struct {
			f    store.JobFilter
			want string
		}{
			{store.JobFilter{}, "[a b c d e]"},
			{store.JobFilter{State: store.JobAvailable}, "[b c d e]"},
			{store.JobFilter{State: store.JobRunning}, "[a]"},
			{store.JobFilter{Kind: "timer"}, "[c]"},
			{store.JobFilter{InstanceID: "i1"}, "[a c d]"},
			{store.JobFilter{Limit: 2}, "[a b]"},
			{store.JobFilter{After: "b", Limit: 2}, "[c d]"},
			{store.JobFilter{After: "d", Limit: 2}, "[e]"},
			{store.JobFilter{After: "e"}, "[]"},
			{store.JobFilter{Unresolved: true}, "[a c d e]"},
		}
		for _, c := range cases {
			got, err := s.Jobs(ctxFor(t), c.f)
			if err != nil {
				t.Fatalf("Jobs(%+v) = %v", c.f, err)
			}
			if ids := fmt.Sprint(jobIDs(got)); ids != c.want {
				t.Errorf("Jobs(%+v) = %s, want %s", c.f, ids, c.want)
			}
		}
	})

	t.Run("NextRunAt", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		_, ok, err := s.NextRunAt(ctxFor(t), nil)
		if err != nil || ok {
			t.Fatalf("NextRunAt(empty store) = ok %v, %v; want false, nil", ok, err)
		}
		timer := job("timer", "", at(5*time.Second))
		timer.Kind = "timer"
		addJobs(t, s, job("running", "", t0), job("svc", "", at(3*time.Second)), timer)
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute})
		cases := []struct {
			kinds  []string
			want   time.Time
			wantOK bool
		}{
			{nil, at(3 * time.Second), true},
			{[]string{"timer"}, at(5 * time.Second), true},
			{[]string{"timer", "service"}, at(3 * time.Second), true},
			{[]string{"none"}, time.Time{}, false},
		}
		for _, c := range cases {
			got, ok, err := s.NextRunAt(ctxFor(t), c.kinds)
			if err != nil || ok != c.wantOK || !got.Equal(c.want) {
				t.Errorf("NextRunAt(%v) = %v, %v, %v; want %v, %v, nil", c.kinds, got, ok, err, c.want, c.wantOK)
			}
		}
	})

	t.Run("CountJobs", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		counts, err := s.CountJobs(ctxFor(t))
		if err != nil {
			t.Fatalf("CountJobs() = %v", err)
		}
		want := map[string]int{store.JobAvailable: 0, store.JobRunning: 0, store.JobCompleted: 0, store.JobDead: 0, store.JobCancelled: 0}
		if d := diff(want, counts); d != "" {
			t.Errorf("CountJobs(empty) mismatch (-want +got):\n%s", d)
		}
		addJobs(t, s, job("a", "", t0), job("b", "", t0), job("c", "", at(time.Hour)), job("d", "", at(time.Hour)))
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 2, LeaseFor: time.Minute})
		mustCommit(t, s, store.Transition{DoneJob: &store.JobDone{ID: "a", Owner: "w", State: store.JobCompleted}, CancelJobs: []string{"d"}})
		counts, err = s.CountJobs(ctxFor(t))
		if err != nil {
			t.Fatalf("CountJobs() = %v", err)
		}
		want = map[string]int{store.JobAvailable: 1, store.JobRunning: 1, store.JobCompleted: 1, store.JobDead: 0, store.JobCancelled: 1}
		if d := diff(want, counts); d != "" {
			t.Errorf("CountJobs() mismatch (-want +got):\n%s", d)
		}
	})
}
