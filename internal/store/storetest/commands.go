package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

func testCommands(t *testing.T, newStore NewStore) {
	cmd := func(kind string, n int) []byte {
		return fmt.Appendf(nil, `{"kind":%q,"n":%d}`, kind, n)
	}

	t.Run("RecordedWithTheirTransition", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), Command: cmd("start", 1),
			History: []store.HistoryRow{{NodeID: "start", Action: "started"}}})
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2)}) // a transition without a command
		mustCommit(t, s, store.Transition{Instance: instance("i1", 3), Command: cmd("completeJob", 3)})
		mustCommit(t, s, store.Transition{Instance: instance("other", 1), Command: cmd("start", 9)})

		got, err := s.Commands(ctxFor(t), "i1")
		if err != nil {
			t.Fatalf("Commands(i1) = %v", err)
		}
		want := []store.CommandRow{
			{InstanceID: "i1", Seq: 1, Command: cmd("start", 1), CreatedAt: instance("i1", 1).UpdatedAt},
			{InstanceID: "i1", Seq: 3, Command: cmd("completeJob", 3), CreatedAt: instance("i1", 3).UpdatedAt},
		}
		if d := diff(want, got); d != "" {
			t.Errorf("Commands(i1) mismatch (-want +got):\n%s", d)
		}
		// The command of a history row is the one whose seq is its checkpoint.
		h, err := s.History(ctxFor(t), "i1")
		if err != nil || len(h) != 1 || h[0].Checkpoint != got[0].Seq {
			t.Errorf("History(i1) = %+v, %v; want one row at checkpoint %d", h, err, got[0].Seq)
		}
		none, err := s.Commands(ctxFor(t), "nope")
		if err != nil || len(none) != 0 {
			t.Errorf("Commands(nope) = %v, %v; want none, nil", none, err)
		}
	})

	t.Run("KeptByteForByte", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		big := bytes.Repeat([]byte("x"), 256<<10)
		doc := []byte(`{ "kind": "start",  "variables": {"name": "Zoë ✓ \u0000", "blob": "` + string(big) + `"} }`)
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), Command: doc})
		got, err := s.Commands(ctxFor(t), "i1")
		if err != nil || len(got) != 1 {
			t.Fatalf("Commands(i1) = %d rows, %v; want 1", len(got), err)
		}
		if !bytes.Equal(got[0].Command, doc) {
			t.Errorf("command came back changed: %d bytes, want the %d bytes written", len(got[0].Command), len(doc))
		}
	})

	t.Run("LostTransitionWritesNoCommand", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), Command: cmd("start", 1)})
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2), Command: cmd("winner", 2)})
		err := s.Commit(ctxFor(t), store.Transition{Instance: instance("i1", 2), Command: cmd("loser", 2)})
		wantErr(t, "Commit(v2 again)", err, store.ErrConflict)
		addJobs(t, s, job("j1", "i1", t0))
		// A guard that fails after the command row was queued rolls it back.
		err = s.Commit(ctxFor(t), store.Transition{Instance: instance("i1", 3), Command: cmd("guarded", 3),
			DoneJob: &store.JobDone{ID: "j1", Owner: "nobody", State: store.JobCompleted}})
		wantErr(t, "Commit(v3, job not leased)", err, store.ErrConflict)
		got, err := s.Commands(ctxFor(t), "i1")
		if err != nil {
			t.Fatalf("Commands(i1) = %v", err)
		}
		if len(got) != 2 || string(got[1].Command) != string(cmd("winner", 2)) {
			t.Errorf("Commands(i1) = %+v, want start and the winner of v2 only", got)
		}
		mustCommit(t, s, store.Transition{Instance: instance("i1", 3), Command: cmd("next", 3)})
		if got, _ := s.Commands(ctxFor(t), "i1"); len(got) != 3 || got[2].Seq != 3 {
			t.Errorf("Commands(i1) after v3 = %+v, want three rows ending at seq 3", got)
		}
	})

	t.Run("NeedsAnInstance", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		err := s.Commit(ctxFor(t), store.Transition{Command: cmd("start", 1), NewJobs: []store.JobRow{job("j1", "", at(time.Minute))}})
		if err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("Commit(command without instance) = %v, want a non-conflict error", err)
		}
		if _, err := s.Job(ctxFor(t), "j1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Job(j1) = %v after a refused commit, want ErrNotFound", err)
		}
	})
}
