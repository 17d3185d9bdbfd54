package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// stepResult is what stepping an instance produced: the new state and
// effects, and what the commit must know of the step.
type stepResult struct {
	def     *model.Definition
	state   *engine.State
	effects []engine.Effect
	// prevVersion is the instance version the step started from (0: a
	// start); prevStatus its status then ("" for a start).
	prevVersion int64
	prevStatus  string
	// cmd is the command that was stepped; inlined are the commands
	// stepped after it on the same state before this commit (pure jobs
	// run inside the transition), in order.
	cmd     engine.Command
	inlined []engine.Command
	// link is the instance's caller, when a call activity started it.
	link callLink
}

// commit writes a step's result as one store transition and, once it is
// committed, runs the jobs it leased to this node and publishes its
// events. prepare, if set, adds to the transition before it is written.
func (r *Runner) commit(ctx context.Context, s stepResult, prepare func(*store.Transition)) (store.InstanceRow, error) {
	start := r.clk.Now()
	now := s.cmd.Time
	t, events, err := transitionOf(s, r.jobKind)
	if err != nil {
		return store.InstanceRow{}, err
	}
	t.Instance.ParentID, t.Instance.ParentNode, t.Instance.ParentJob = s.link.parent, s.link.node, s.link.job
	if prepare != nil {
		prepare(&t)
	}
	r.linkCall(&t, s)
	t.Outbox = append(t.Outbox, r.outboxRows(events, s.state, s.effects, now)...)
	// Jobs an in-process handler runs are leased to this node in the same
	// transaction, so they run right after the commit without a fetch.
	// Should this node die first, the lease expires and another takes over.
	var inline []store.JobRow
	if len(t.NewJobs) > 0 && r.leaseInline() {
		inline = leaseDue(t.NewJobs, r.cfg.Owner, now, r.cfg.LeaseFor)
	}
	settle(&t)
	// External jobs go straight to a waiting long poll's worker, leased
	// in this transaction (extwake.go).
	handed := r.handExternal(&t, now)
	err = r.st.Commit(ctx, t)
	r.deliverHanded(handed, &t, err == nil)
	if r.cfg.Observer != nil {
		if err == nil && s.prevStatus != string(s.state.Status) {
			r.cfg.Observer.InstanceStatus(s.prevStatus, string(s.state.Status))
		}
		conflicts := 0
		if errors.Is(err, store.ErrConflict) {
			conflicts = 1
		}
		r.cfg.Observer.Committed(r.clk.Now().Sub(start), conflicts)
	}
	if err != nil {
		return t.Instance, err
	}
	if len(inline) > 0 {
		r.enqueueLocal(inline, t.Instance)
	} else if len(t.NewJobs) > 0 {
		r.poke()
	}
	r.wakeForJobs(t.NewJobs, now)
	r.broadcast(events)
	if len(t.NewSubs) > 0 {
		r.takeBuffered(ctx, t.NewSubs, "", "")
	}
	return t.Instance, nil
}

// transitionOf maps a step's result to the rows of one store transition
// and to the events to publish once it commits. It decides and writes
// nothing (river's executor, likewise, decides a job's outcome apart
// from writing it): kindOf names the kind of each new job.
func transitionOf(s stepResult, kindOf func(engine.Effect, *model.Node) string) (store.Transition, []Event, error) {
	st, now := s.state, s.cmd.Time
	// History goes to its own rows, not into the snapshot.
	snap := *st
	snap.History = nil
	blob, err := json.Marshal(&snap)
	if err != nil {
		return store.Transition{}, nil, fmt.Errorf("encode state: %w", err)
	}
	t := store.Transition{Instance: store.InstanceRow{
		ID: st.InstanceID, DefinitionID: st.DefinitionID, DefinitionVersion: st.DefinitionVersion,
		BusinessKey: st.BusinessKey, Status: string(st.Status), State: blob, Version: s.prevVersion + 1,
		CreatedAt: st.StartedAt, UpdatedAt: now, EndedAt: st.EndedAt,
	}}
	// The command is recorded with the transition it caused, so that the
	// instance can be re-run from its commands (baton replay); with inlined
	// commands the record is the list of them all.
	if len(s.inlined) == 0 {
		t.Command, err = json.Marshal(s.cmd)
	} else {
		t.Command, err = json.Marshal(append([]engine.Command{s.cmd}, s.inlined...))
	}
	if err != nil {
		return store.Transition{}, nil, fmt.Errorf("encode command: %w", err)
	}
	for _, h := range st.History {
		var res []byte
		if h.Result != nil {
			res, _ = json.Marshal(h.Result)
		}
		t.History = append(t.History, store.HistoryRow{InstanceID: st.InstanceID, NodeID: h.NodeID, NodeType: h.NodeType,
			Action: string(h.Action), Time: h.Timestamp, Result: res, Actor: h.Actor})
	}
	var events []Event
	ev := func(typ engine.EventType, node, ref string) {
		events = append(events, Event{Type: typ, InstanceID: st.InstanceID, NodeID: node, Ref: ref, Status: string(st.Status), Time: now})
	}
	if s.prevVersion == 0 {
		ev(engine.EventInstanceStarted, "", "")
	}
	for _, e := range s.effects {
		switch e.Kind {
		case engine.EffJob:
			t.NewJobs = append(t.NewJobs, jobRow(st, e, s.def.Node(e.NodeID), kindOf, now))
		case engine.EffTimer:
			t.NewJobs = append(t.NewJobs, store.JobRow{ID: e.ID, InstanceID: st.InstanceID, Kind: KindTimer, NodeID: e.NodeID,
				State: store.JobAvailable, RunAt: e.Due, CreatedAt: now})
		case engine.EffTask:
			t.NewTasks = append(t.NewTasks, taskRow(st, e, now))
			ev(engine.EventTaskCreated, e.NodeID, e.ID)
			if due := e.Task.DueAt; !due.IsZero() {
				// The SLA watch: fires at the due date unless the task
				// closes first.
				t.NewJobs = append(t.NewJobs, store.JobRow{ID: slaJobID(e.ID), InstanceID: st.InstanceID, Kind: KindSLA,
					NodeID: e.NodeID, State: store.JobAvailable, RunAt: due, CreatedAt: now, Payload: []byte(`{"task":"` + e.ID + `"}`)})
			}
		case engine.EffSubscribe:
			if e.Type == string(engine.SubMessage) || e.Type == string(engine.SubSignal) {
				t.NewSubs = append(t.NewSubs, store.SubscriptionRow{ID: e.ID, InstanceID: st.InstanceID, NodeID: e.NodeID,
					Kind: e.Type, Name: e.Name, Key: e.Key, CreatedAt: now})
			}
		case engine.EffCancel:
			switch e.Type {
			case string(engine.WaitTask):
				t.CloseTasks = append(t.CloseTasks, store.TaskClose{ID: e.ID, State: store.TaskCancelled, By: s.cmd.Actor})
			case string(engine.SubMessage), string(engine.SubSignal), string(engine.SubOther):
				t.DeleteSubs = append(t.DeleteSubs, e.ID)
			default: // job or timer
				t.CancelJobs = append(t.CancelJobs, e.ID)
			}
		case engine.EffIncident:
			t.NewIncidents = append(t.NewIncidents, store.IncidentRow{ID: e.ID, InstanceID: st.InstanceID, DefinitionID: st.DefinitionID,
				NodeID: e.NodeID, Kind: engine.IncidentKind(e.Type), Message: e.Message, State: store.IncidentOpen, CreatedAt: now, FirstFailureAt: now, LastFailureAt: now})
		case engine.EffThrow:
			if row, ok := publishJob(st, e, now); ok {
				t.NewJobs = append(t.NewJobs, row)
			}
		case engine.EffResolve:
			t.ResolveIncidents = append(t.ResolveIncidents, e.ID)
		case engine.EffMove:
			t.Retarget = append(t.Retarget, retargets(e)...)
		case engine.EffEvent:
			ev(engine.EventType(e.Type), e.NodeID, e.ID)
		}
	}
	switch st.Status {
	case engine.StatusCompleted:
		ev(engine.EventInstanceCompleted, "", "")
	case engine.StatusCancelled:
		ev(engine.EventInstanceCancelled, "", "")
	}
	ev(engine.EventInstanceUpdated, "", "")
	return t, events, nil
}

// jobRow is the row of a job effect on node n.
func jobRow(st *engine.State, e engine.Effect, n *model.Node, kindOf func(engine.Effect, *model.Node) string, now time.Time) store.JobRow {
	job := store.JobRow{ID: e.ID, InstanceID: st.InstanceID, Kind: kindOf(e, n), NodeID: e.NodeID,
		TaskType: e.TaskType, State: store.JobAvailable, RunAt: now, CreatedAt: now}
	if n != nil {
		if a := n.Retry.Attempts(); a > 0 {
			job.MaxAttempts = a // "max": 0 is one attempt, no retry
		}
	}
	if len(e.Locals) > 0 || e.Name != "" {
		p := map[string]any{}
		if len(e.Locals) > 0 {
			p["locals"] = e.Locals
		}
		switch e.Type {
		case engine.JobLLMShadow:
			p["routed"] = e.Name
		case engine.JobCall:
			p["called"] = e.Name
		}
		job.Payload, _ = json.Marshal(p)
	}
	return job
}

// taskRow is the row of a user task effect.
func taskRow(st *engine.State, e engine.Effect, now time.Time) store.TaskRow {
	info := e.Task
	task := store.TaskRow{ID: e.ID, InstanceID: st.InstanceID, DefinitionID: st.DefinitionID, NodeID: e.NodeID,
		Name: info.Name, Assignee: info.Assignee, CandidateUsers: info.CandidateUsers, CandidateGroups: info.CandidateGroups,
		DueAt: info.DueAt, FollowUpAt: info.FollowUpAt, FormKey: info.FormKey, State: store.TaskOpen, CreatedAt: now, Priority: info.Priority}
	if len(e.Locals) > 0 {
		task.Payload, _ = json.Marshal(map[string]any{"locals": e.Locals})
	}
	return task
}

// leaseDue leases the jobs among jobs that an in-process handler runs and
// that are due at now to owner (in place), and returns them.
func leaseDue(jobs []store.JobRow, owner string, now time.Time, leaseFor time.Duration) []store.JobRow {
	var leased []store.JobRow
	for i := range jobs {
		j := &jobs[i]
		if IsExternal(j.Kind) || j.RunAt.After(now) {
			continue
		}
		j.State, j.LeaseOwner, j.LeaseUntil, j.Attempt = store.JobRunning, owner, now.Add(leaseFor), 1
		leased = append(leased, *j)
	}
	return leased
}

// settle completes a transition after every addition to it: the SLA
// watches of the tasks it closes are cancelled, and the job it closes is
// not also cancelled.
func settle(t *store.Transition) {
	for _, c := range t.CloseTasks {
		t.CancelJobs = append(t.CancelJobs, slaJobID(c.ID))
	}
	if t.DoneJob != nil {
		keep := t.CancelJobs[:0]
		for _, id := range t.CancelJobs {
			if id != t.DoneJob.ID {
				keep = append(keep, id)
			}
		}
		t.CancelJobs = keep
	}
}
