package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// Call activities run their called process as a child instance, linked
// to the caller (store.InstanceRow ParentID, ParentNode, ParentJob). Three
// job kinds carry the conversation between the two, each a step that is
// exactly-once because it commits with the job that asked for it:
//
//   - KindCall, the call activity's own job, starts the child: the child's
//     first transition closes the job (guarded by its lease), so the child
//     starts once or not at all.
//   - KindCallReturn is written by the child's transition that completes,
//     fails, recovers, or throws a BPMN error it does not catch; run on the
//     parent, it completes the call activity (or throws the error there,
//     or opens or resolves the parent's incident) in the transition that
//     closes it.
//   - KindCallCancel is written by the parent's transition that cancels
//     the call job (the instance cancelled, an interrupting boundary event);
//     it cancels the child in the transition that closes it.
const (
	KindCall       = engine.JobCall
	KindCallReturn = "call-return"
	KindCallCancel = "call-cancel"
)

// IncidentCall is the kind of the parent's incident while its child
// instance is failed or was cancelled on its own.
const IncidentCall engine.IncidentKind = "call"

// Outcomes a KindCallReturn job carries.
const (
	callCompleted = "completed"
	callError     = "error"     // a BPMN error the child did not catch
	callFailed    = "failed"    // the child has an incident
	callResumed   = "resumed"   // the child's incidents were resolved
	callCancelled = "cancelled" // the child was cancelled
)

// callLink is the parent link of a child instance.
type callLink struct{ parent, node, job string }

func linkOf(row store.InstanceRow) callLink {
	return callLink{parent: row.ParentID, node: row.ParentNode, job: row.ParentJob}
}

// callReturn is the payload of a KindCallReturn job.
type callReturn struct {
	Child     string         `json:"child"`
	Job       string         `json:"job"` // the call job the parent's token waits on
	Outcome   string         `json:"outcome"`
	Variables map[string]any `json:"variables,omitempty"`
	ErrorCode string         `json:"errorCode,omitempty"`
	Message   string         `json:"message,omitempty"`
}

// childID is the id of the instance a call job starts: a retried job
// can never start a second one.
func childID(jobID string) string { return jobID + "-call" }

// startCalled runs a KindCall job: it starts the called process as a
// child instance whose first transition closes the job.
func (r *Runner) startCalled(ctx context.Context, j store.JobRow) error {
	job, err := r.loadJob(ctx, j)
	if err != nil {
		if errors.Is(err, engine.ErrStale) || errors.Is(err, store.ErrNotFound) {
			r.closeStale(ctx, j)
			return nil
		}
		return err
	}
	n := job.Node
	if n == nil {
		return Permanent(fmt.Errorf("call job %s: node %q is not in the definition", j.ID, j.NodeID))
	}
	var p struct {
		Called string         `json:"called"`
		Locals map[string]any `json:"locals"`
	}
	if len(j.Payload) > 0 {
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return Permanent(fmt.Errorf("call job %s: payload: %v", j.ID, err))
		}
	}
	if p.Called == "" {
		return Permanent(fmt.Errorf("call activity %q names no process to call (calledElement)", n.ID))
	}
	version, err := r.calledVersion(ctx, job, p.Called)
	if err != nil {
		return err
	}
	vars := map[string]any{}
	if n.PropagateAllParentVariables() {
		maps.Copy(vars, job.Variables)
	} else {
		maps.Copy(vars, p.Locals)
	}
	req := StartRequest{DefinitionID: p.Called, Version: version, Variables: vars, InstanceID: childID(j.ID),
		Actor: "call:" + j.InstanceID}
	_, _, err = r.startWith(ctx, req, func(t *store.Transition) {
		t.Instance.ParentID, t.Instance.ParentNode, t.Instance.ParentJob = j.InstanceID, j.NodeID, j.ID
		t.DoneJob = &store.JobDone{ID: j.ID, Owner: r.cfg.Owner, State: store.JobCompleted}
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrInvalid):
		return Permanent(fmt.Errorf("call activity %q: process %q cannot start: %w", n.ID, p.Called, err))
	case errors.Is(err, store.ErrConflict):
		// The job's lease was lost (the parent was cancelled meanwhile,
		// or another node took the job over): nothing was written.
		r.log.Warn("call job lease lost before the child started", "job", j.ID)
		return nil
	}
	return err
}

// calledVersion is the version of process id that call job's activity
// binds to (0: the latest). An unknown process is a permanent failure
// that names the call activity.
func (r *Runner) calledVersion(ctx context.Context, job *Job, id string) (int, error) {
	n := job.Node
	notFound := func(what string) error {
		return Permanent(fmt.Errorf("call activity %q: no process %q is deployed%s", n.ID, id, what))
	}
	switch b := n.BindingType(); b {
	case model.BindingLatest:
		row, err := r.st.Definition(ctx, id, 0)
		if errors.Is(err, store.ErrNotFound) {
			return 0, notFound("")
		}
		if err != nil {
			return 0, err
		}
		if row.Format != model.FormatBPMN && row.Format != model.FormatJSON {
			return 0, Permanent(fmt.Errorf("call activity %q: %q is a %s, not a process", n.ID, id, row.Format.Noun()))
		}
		return row.Version, nil
	case model.BindingDeployment:
		caller, err := r.st.Definition(ctx, job.Definition.ID, job.Definition.Version)
		if err != nil {
			return 0, err
		}
		versions, err := r.st.DefinitionVersions(ctx, id)
		if err != nil {
			return 0, err
		}
		for i := len(versions) - 1; i >= 0; i-- {
			if versions[i].Hash == caller.Hash {
				return versions[i].Version, nil
			}
		}
		return 0, notFound(fmt.Sprintf(" together with %s version %d (bindingType deployment)", caller.ID, caller.Version))
	case model.BindingVersionTag:
		return r.taggedVersion(ctx, n, id)
	default:
		return 0, Permanent(fmt.Errorf("call activity %q: unknown bindingType %q (want latest, deployment or versionTag)", n.ID, b))
	}
}

// linkCall adds to a transition what call activities need of it: a
// KindCallCancel job for each call job it cancels, and, for a child
// instance whose outcome changed, the KindCallReturn job that tells its
// parent.
func (r *Runner) linkCall(t *store.Transition, s stepResult) {
	st, now := s.state, s.cmd.Time
	for _, e := range s.effects {
		if e.Kind != engine.EffCancel || e.Type != string(engine.WaitJob) {
			continue
		}
		if n := s.def.Node(e.NodeID); n == nil || n.Type != model.CallActivity {
			continue
		}
		t.NewJobs = append(t.NewJobs, cancelJob(e.ID+"-cancel", st.InstanceID, e.NodeID, e.ID, childID(e.ID), now))
	}
	in := t.Instance
	if in.ParentID == "" {
		return
	}
	ret := callReturn{Child: st.InstanceID, Job: in.ParentJob}
	prev, cur := engine.Status(s.prevStatus), st.Status
	switch {
	case prev == cur:
		return
	case cur == engine.StatusCompleted:
		ret.Outcome, ret.Variables = callCompleted, st.Variables
	case cur == engine.StatusCancelled:
		ret.Outcome = callCancelled
	case cur == engine.StatusFailed:
		ret.Outcome = callFailed
		for _, e := range s.effects {
			if e.Kind == engine.EffIncident {
				ret.Message = e.Message
			}
			if e.Kind == engine.EffIncident && e.Type == string(engine.IncidentError) {
				if code, msg, ok := engine.ThrownError(st); ok {
					ret.Outcome, ret.ErrorCode, ret.Message = callError, code, msg
					break
				}
			}
		}
	case prev == engine.StatusFailed:
		ret.Outcome = callResumed
	default:
		return
	}
	p, err := json.Marshal(ret)
	if err != nil {
		r.log.Error("encode call return", "instance", st.InstanceID, "err", err)
		return
	}
	t.NewJobs = append(t.NewJobs, store.JobRow{ID: fmt.Sprintf("%s-return-%d", st.InstanceID, in.Version), InstanceID: in.ParentID,
		Kind: KindCallReturn, NodeID: in.ParentNode, State: store.JobAvailable, RunAt: now, CreatedAt: now, Payload: p})
}

// calling reports whether call job j, completed, started its child
// instance: the parent's token waits on the child then, not on the job.
func (r *Runner) calling(ctx context.Context, j store.JobRow) bool {
	if j.Kind != KindCall || j.State != store.JobCompleted {
		return false
	}
	_, err := r.st.Instance(ctx, childID(j.ID))
	return err == nil
}

// cancelJob is a KindCallCancel job of instance parent (at its call
// activity node, for its call job) that cancels instance child.
func cancelJob(id, parent, node, job, child string, now time.Time) store.JobRow {
	p, _ := json.Marshal(map[string]string{"child": child, "job": job})
	return store.JobRow{ID: id, InstanceID: parent, Kind: KindCallCancel, NodeID: node, State: store.JobAvailable,
		RunAt: now, CreatedAt: now, Payload: p}
}

// taggedVersion is the latest version of process id whose definition
// carries the version tag call activity n names (bindingType versionTag).
func (r *Runner) taggedVersion(ctx context.Context, n *model.Node, id string) (int, error) {
	tag := n.CalledVersionTag()
	if tag == "" {
		return 0, Permanent(fmt.Errorf("call activity %q binds by version tag but names none (zeebe:calledElement versionTag)", n.ID))
	}
	versions, err := r.st.DefinitionVersions(ctx, id)
	if err != nil {
		return 0, err
	}
	for i := len(versions) - 1; i >= 0; i-- {
		d, _, err := r.Definition(ctx, id, versions[i].Version)
		if err != nil {
			continue // not a process, or one that no longer compiles
		}
		if d.VersionTag == tag {
			return versions[i].Version, nil
		}
	}
	if len(versions) == 0 {
		return 0, Permanent(fmt.Errorf("call activity %q: no process %q is deployed", n.ID, id))
	}
	return 0, Permanent(fmt.Errorf("call activity %q: no version of process %q has the version tag %q", n.ID, id, tag))
}
