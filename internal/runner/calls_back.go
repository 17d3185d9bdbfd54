package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// returnCall runs a KindCallReturn job on the parent instance: the
// child's outcome reaches the call activity in the transition that
// closes the job. A parent that no longer waits on the call (cancelled,
// or an interrupting boundary event took the call activity) just closes
// it.
func (r *Runner) returnCall(ctx context.Context, j store.JobRow) error {
	var ret callReturn
	if err := json.Unmarshal(j.Payload, &ret); err != nil {
		r.closeJobWith(ctx, j, r.cfg.Owner, store.JobDead, "call return payload: "+err.Error())
		return nil
	}
	st, row, err := r.InstanceState(ctx, j.InstanceID)
	if errors.Is(err, store.ErrNotFound) {
		r.closeStale(ctx, j)
		return nil
	}
	if err != nil {
		return err
	}
	if !waitsOn(st, ret.Job) {
		r.closeStale(ctx, j)
		return nil
	}
	mirrors, err := r.callIncidents(ctx, j.InstanceID, ret.Job)
	if err != nil {
		return err
	}
	done := func(t *store.Transition) {
		t.DoneJob = &store.JobDone{ID: j.ID, Owner: r.cfg.Owner, State: store.JobCompleted}
		t.ResolveIncidents = append(t.ResolveIncidents, mirrors...)
	}
	actor := "call:" + ret.Child
	switch ret.Outcome {
	case callCompleted:
		d, _, err := r.Definition(ctx, row.DefinitionID, row.DefinitionVersion)
		if err != nil {
			return err
		}
		vars := ret.Variables
		if n := d.Node(j.NodeID); n != nil && len(n.Outputs) == 0 && !n.PropagateAllChildVariables() {
			vars = nil
		}
		_, err = r.Apply(ctx, j.InstanceID, engine.Command{Kind: engine.CmdCompleteJob, Ref: ret.Job, Variables: vars, Actor: actor}, done)
		return r.returned(ctx, j, err)
	case callError:
		// The error leaves the call activity (caught there or not): the
		// child, stopped at its error end event, is cancelled, as Zeebe
		// terminates it.
		_, err = r.Apply(ctx, j.InstanceID, engine.Command{Kind: engine.CmdThrowError, Ref: ret.Job, ErrorCode: ret.ErrorCode,
			ErrorMessage: ret.Message, Actor: actor}, func(t *store.Transition) {
			done(t)
			t.NewJobs = append(t.NewJobs, cancelJob(ret.Job+"-cancel-error", j.InstanceID, j.NodeID, ret.Job, ret.Child, t.Instance.UpdatedAt))
		})
		return r.returned(ctx, j, err)
	case callResumed:
		return r.returned(ctx, j, r.st.Commit(ctx, store.Transition{DoneJob: &store.JobDone{ID: j.ID, Owner: r.cfg.Owner,
			State: store.JobCompleted}, ResolveIncidents: mirrors}))
	case callFailed, callCancelled:
		msg := fmt.Sprintf("called instance %s has an incident: %s", ret.Child, ret.Message)
		if ret.Outcome == callCancelled {
			msg = fmt.Sprintf("called instance %s was cancelled", ret.Child)
		}
		now := r.clk.Now()
		inc := store.IncidentRow{ID: j.ID, InstanceID: j.InstanceID, DefinitionID: row.DefinitionID, NodeID: j.NodeID, JobID: ret.Job,
			Kind: IncidentCall, Message: trimErr(msg), State: store.IncidentOpen, CreatedAt: now, FirstFailureAt: now, LastFailureAt: now}
		return r.returned(ctx, j, r.st.Commit(ctx, store.Transition{DoneJob: &store.JobDone{ID: j.ID, Owner: r.cfg.Owner,
			State: store.JobCompleted}, NewIncidents: []store.IncidentRow{inc}}))
	}
	r.closeJobWith(ctx, j, r.cfg.Owner, store.JobDead, fmt.Sprintf("unknown call outcome %q", ret.Outcome))
	return nil
}

// returned sorts the error of a call return's commit: a result the
// parent no longer needs, or a lost lease, is no failure.
func (r *Runner) returned(ctx context.Context, j store.JobRow, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrStale), errors.Is(err, engine.ErrEnded):
		r.closeStale(ctx, j)
		return nil
	case errors.Is(err, store.ErrConflict):
		r.log.Warn("call job lease lost before commit; another node owns it", "job", j.ID)
		return nil
	}
	return err
}

// cancelCalled runs a KindCallCancel job: the child instance of a call
// job the parent left is cancelled, and the parent's incidents about it
// resolved, in the transition that closes the job. A child that never
// started (the call job was cancelled before it ran) or has ended needs
// only the incidents resolved.
func (r *Runner) cancelCalled(ctx context.Context, j store.JobRow) error {
	var p struct {
		Child string `json:"child"`
		Job   string `json:"job"`
	}
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Child == "" {
		r.closeJobWith(ctx, j, r.cfg.Owner, store.JobDead, fmt.Sprintf("call cancel payload: %v", err))
		return nil
	}
	mirrors, err := r.callIncidents(ctx, j.InstanceID, p.Job)
	if err != nil {
		return err
	}
	done := func(t *store.Transition) {
		t.DoneJob = &store.JobDone{ID: j.ID, Owner: r.cfg.Owner, State: store.JobCompleted}
		t.ResolveIncidents = append(t.ResolveIncidents, mirrors...)
	}
	_, err = r.Apply(ctx, p.Child, engine.Command{Kind: engine.CmdCancel, Actor: "call:" + j.InstanceID}, done)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, engine.ErrEnded) {
		var t store.Transition
		done(&t)
		err = r.st.Commit(ctx, t)
	}
	return r.returned(ctx, j, err)
}

// waitsOn reports whether a token of st waits on job ref.
func waitsOn(st *engine.State, ref string) bool {
	for _, t := range st.Tokens {
		if t.Wait == engine.WaitJob && t.Ref == ref {
			return true
		}
	}
	return false
}

// callIncidents are the parent's open incidents about the child of
// call job ref.
func (r *Runner) callIncidents(ctx context.Context, instanceID, ref string) ([]string, error) {
	incs, err := r.st.Incidents(ctx, store.IncidentFilter{State: store.IncidentOpen, InstanceID: instanceID})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, inc := range incs {
		if inc.Kind == IncidentCall && inc.JobID == ref {
			ids = append(ids, inc.ID)
		}
	}
	return ids, nil
}
