package runner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
	"github.com/batonhq/baton/internal/store"
)

// Errors of the runner's API, beside store.ErrNotFound and engine's.
var (
	// ErrInvalid: the request cannot apply (bad definition, wrong state).
	ErrInvalid = errors.New("invalid request")
	// ErrNotFailed: recover was asked of an instance without an incident.
	ErrNotFailed = errors.New("instance is not failed")
	// ErrDuplicateMessage: a message with this id was correlated before
	// (correlation is exactly-once per message id). It wraps
	// store.ErrConflict.
	ErrDuplicateMessage = fmt.Errorf("duplicate message: %w", store.ErrConflict)
)

// maxConflictRetries bounds the optimistic-locking loop of Apply.
const maxConflictRetries = 50

// ParseSource compiles a definition source (workflow JSON or BPMN XML).
func ParseSource(name string, src []byte) (*model.Definition, string, error) {
	if bpmn.IsXML(src) {
		d, err := bpmn.ParseOne(name, src, "")
		return d, "bpmn", err
	}
	d, err := model.ParseJSON(name, src)
	return d, "json", err
}

// Deploy parses and stores a definition. Deploying identical content again
// returns the existing version with created=false.
func (r *Runner) Deploy(ctx context.Context, name string, src []byte, by string) (store.DefinitionRow, bool, error) {
	if isDecisionSource(src) {
		return r.deployDecisions(ctx, name, src, by)
	}
	d, format, err := ParseSource(name, src)
	if err != nil {
		return store.DefinitionRow{}, false, err
	}
	sum := sha256.Sum256(src)
	row, created, err := r.st.Deploy(ctx, store.DefinitionRow{
		ID: d.ID, Name: d.Name, Format: format, Source: src, Hash: hex.EncodeToString(sum[:]),
		DeployedAt: r.clk.Now(), DeployedBy: by,
	})
	if err != nil {
		return row, false, fmt.Errorf("deploy %s: %w", d.ID, err)
	}
	r.mu.Lock()
	delete(r.latest, d.ID)
	r.mu.Unlock()
	if created {
		if err := r.scheduleTimerStarts(ctx, row); err != nil {
			return row, created, err
		}
	}
	return row, created, nil
}

// latestFor is how long the runner trusts what it last learned of a
// definition's latest version: a version deployed through another node
// is used for new instances within this time (one deployed through this
// runner at once).
const latestFor = time.Second

// latestDef is a definition's latest version as the runner last read it.
type latestDef struct {
	version int
	until   time.Time
}

// Definition returns a compiled definition version (0: latest), cached.
func (r *Runner) Definition(ctx context.Context, id string, version int) (*model.Definition, store.DefinitionRow, error) {
	if version <= 0 {
		r.mu.RLock()
		l, ok := r.latest[id]
		r.mu.RUnlock()
		if ok && r.clk.Now().Before(l.until) {
			version = l.version
		}
	}
	if version > 0 {
		key := fmt.Sprintf("%s@%d", id, version)
		r.mu.RLock()
		d := r.defs[key]
		r.mu.RUnlock()
		if d != nil {
			return d, store.DefinitionRow{ID: id, Version: version, Name: d.Name}, nil
		}
	}
	row, err := r.st.Definition(ctx, id, version)
	if err != nil {
		return nil, row, err
	}
	if version <= 0 && row.Format != FormatDMN {
		r.mu.Lock()
		r.latest[id] = latestDef{version: row.Version, until: r.clk.Now().Add(latestFor)}
		r.mu.Unlock()
	}
	key := fmt.Sprintf("%s@%d", row.ID, row.Version)
	r.mu.RLock()
	d := r.defs[key]
	r.mu.RUnlock()
	if d != nil {
		return d, row, nil
	}
	if row.Format == FormatDMN {
		return nil, row, fmt.Errorf("%w: %s is a decision table, not a workflow", ErrInvalid, row.ID)
	}
	d, _, err = ParseSource(row.ID, row.Source)
	if err != nil {
		return nil, row, fmt.Errorf("definition %s v%d no longer compiles: %w", row.ID, row.Version, err)
	}
	d.Version = row.Version
	r.mu.Lock()
	r.defs[key] = d
	r.mu.Unlock()
	return d, row, nil
}

// NewID returns a new instance id: 24 hex digits, the first 12 the
// creation time in milliseconds and the rest random. Ids made later sort
// later, so new instances (and their history and commands, keyed by
// instance id) land at the end of the stores' indexes instead of on a
// random page each: that keeps the pages a commit writes few.
func NewID() string {
	var b [12]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// StartRequest starts an instance.
type StartRequest struct {
	DefinitionID string
	Version      int
	Variables    map[string]any
	BusinessKey  string
	StartNode    string
	Actor        string
	// InstanceID may be given for idempotent starts; default random.
	InstanceID string
}

// StartInstance starts an instance and commits its first transition.
func (r *Runner) StartInstance(ctx context.Context, req StartRequest) (*engine.State, store.InstanceRow, error) {
	return r.startWith(ctx, req, nil)
}

func (r *Runner) startWith(ctx context.Context, req StartRequest, prepare func(*store.Transition)) (*engine.State, store.InstanceRow, error) {
	d, _, err := r.Definition(ctx, req.DefinitionID, req.Version)
	if err != nil {
		return nil, store.InstanceRow{}, err
	}
	id := req.InstanceID
	if id == "" {
		id = NewID()
	}
	cmd := engine.Command{Kind: engine.CmdStart, Time: r.clk.Now(), InstanceID: id, BusinessKey: req.BusinessKey,
		Variables: req.Variables, StartNode: req.StartNode, Actor: req.Actor}
	st, eff, err := engine.Step(d, nil, cmd)
	if err != nil {
		return nil, store.InstanceRow{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	st, eff, inlined := r.runPure(ctx, d, st, eff, cmd)
	row, err := r.commit(ctx, d, st, eff, 0, "", prepare, cmd, inlined...)
	if err != nil {
		return nil, row, err
	}
	return st, row, nil
}

// Apply loads the instance, applies cmd and commits, retrying on
// optimistic-lock conflicts with fresh state. prepare, if set, may add to
// the transition (closing the job that caused the command, say); it is
// called again on every retry.
func (r *Runner) Apply(ctx context.Context, instanceID string, cmd engine.Command, prepare func(*store.Transition)) (*engine.State, error) {
	var lastErr error
	for attempt := 0; attempt < maxConflictRetries; attempt++ {
		row, err := r.st.Instance(ctx, instanceID)
		if err != nil {
			return nil, err
		}
		d, _, err := r.Definition(ctx, row.DefinitionID, row.DefinitionVersion)
		if err != nil {
			return nil, err
		}
		st, err := decodeState(row.State)
		if err != nil {
			return nil, fmt.Errorf("instance %s: %w", instanceID, err)
		}
		prevStatus := string(st.Status)
		if cmd.Time.IsZero() || attempt > 0 {
			cmd.Time = r.clk.Now()
		}
		st, eff, err := engine.Step(d, st, cmd)
		if err != nil {
			return nil, err
		}
		st, eff, inlined := r.runPure(ctx, d, st, eff, cmd)
		_, err = r.commit(ctx, d, st, eff, row.Version, prevStatus, prepare, cmd, inlined...)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		lastErr = err
		if prepare != nil && attempt >= 2 {
			// A conflict that persists on fresh state is the transition's
			// own guard: a message id already consumed.
			var probe store.Transition
			prepare(&probe)
			if probe.ConsumeMessage != "" {
				return nil, fmt.Errorf("%w: message %s was already correlated", ErrDuplicateMessage, probe.ConsumeMessage)
			}
		}
		time.Sleep(time.Duration(attempt) * time.Millisecond)
	}
	return nil, fmt.Errorf("instance %s: gave up after %d conflicts: %w", instanceID, maxConflictRetries, lastErr)
}

func decodeState(b []byte) (*engine.State, error) {
	var st engine.State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode state: %w", err)
	}
	return &st, nil
}

// commit turns a step's result into one store transition. cmd is the
// command that was stepped; inlined are the commands stepped after it on
// the same state before this commit (jobs run inside the transition), in
// order. All of them are recorded with the transition.
func (r *Runner) commit(ctx context.Context, d *model.Definition, st *engine.State, eff []engine.Effect, prevVersion int64, prevStatus string, prepare func(*store.Transition), cmd engine.Command, inlined ...engine.Command) (store.InstanceRow, error) {
	start := r.clk.Now()
	now := cmd.Time
	hist := st.History
	st.History = nil
	defer func() { st.History = hist }()
	blob, err := json.Marshal(st)
	if err != nil {
		return store.InstanceRow{}, fmt.Errorf("encode state: %w", err)
	}
	row := store.InstanceRow{
		ID: st.InstanceID, DefinitionID: st.DefinitionID, DefinitionVersion: st.DefinitionVersion,
		BusinessKey: st.BusinessKey, Status: string(st.Status), State: blob, Version: prevVersion + 1,
		CreatedAt: st.StartedAt, UpdatedAt: now, EndedAt: st.EndedAt,
	}
	t := store.Transition{Instance: row}
	// The command is recorded with the transition it caused, so that the
	// instance can be re-run from its commands (baton replay); with inlined
	// commands the record is the list of them all.
	if len(inlined) == 0 {
		t.Command, err = json.Marshal(cmd)
	} else {
		t.Command, err = json.Marshal(append([]engine.Command{cmd}, inlined...))
	}
	if err != nil {
		return store.InstanceRow{}, fmt.Errorf("encode command: %w", err)
	}
	for _, h := range hist {
		var res []byte
		if h.Result != nil {
			res, _ = json.Marshal(h.Result)
		}
		t.History = append(t.History, store.HistoryRow{InstanceID: st.InstanceID, NodeID: h.NodeID, NodeType: h.NodeType,
			Action: string(h.Action), Time: h.Timestamp, Result: res, Actor: h.Actor})
	}
	var events []Event
	ev := func(typ, node, ref string) {
		events = append(events, Event{Type: typ, InstanceID: st.InstanceID, NodeID: node, Ref: ref, Status: string(st.Status), Time: now})
	}
	if prevVersion == 0 {
		ev(engine.EventInstanceStarted, "", "")
	}
	for _, e := range eff {
		switch e.Kind {
		case engine.EffJob:
			n := d.Node(e.NodeID)
			job := store.JobRow{ID: e.ID, InstanceID: st.InstanceID, Kind: r.jobKind(e, n), NodeID: e.NodeID,
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
				if e.Type == engine.JobLLMShadow {
					p["routed"] = e.Name
				}
				job.Payload, _ = json.Marshal(p)
			}
			t.NewJobs = append(t.NewJobs, job)
		case engine.EffTimer:
			t.NewJobs = append(t.NewJobs, store.JobRow{ID: e.ID, InstanceID: st.InstanceID, Kind: KindTimer, NodeID: e.NodeID,
				State: store.JobAvailable, RunAt: e.Due, CreatedAt: now})
		case engine.EffTask:
			info := e.Task
			task := store.TaskRow{ID: e.ID, InstanceID: st.InstanceID, DefinitionID: st.DefinitionID, NodeID: e.NodeID,
				Name: info.Name, Assignee: info.Assignee, CandidateUsers: info.CandidateUsers, CandidateGroups: info.CandidateGroups,
				DueAt: info.DueAt, FollowUpAt: info.FollowUpAt, FormKey: info.FormKey, State: store.TaskOpen, CreatedAt: now}
			if len(e.Locals) > 0 {
				task.Payload, _ = json.Marshal(map[string]any{"locals": e.Locals})
			}
			t.NewTasks = append(t.NewTasks, task)
			ev("task.created", e.NodeID, e.ID)
			if !info.DueAt.IsZero() {
				// The SLA watch: fires at the due date unless the task
				// closes first.
				t.NewJobs = append(t.NewJobs, store.JobRow{ID: slaJobID(e.ID), InstanceID: st.InstanceID, Kind: KindSLA,
					NodeID: e.NodeID, State: store.JobAvailable, RunAt: info.DueAt, CreatedAt: now, Payload: []byte(`{"task":"` + e.ID + `"}`)})
			}
		case engine.EffSubscribe:
			if e.Type == string(engine.SubMessage) || e.Type == string(engine.SubSignal) {
				t.NewSubs = append(t.NewSubs, store.SubscriptionRow{ID: e.ID, InstanceID: st.InstanceID, NodeID: e.NodeID,
					Kind: e.Type, Name: e.Name, Key: e.Key, CreatedAt: now})
			}
		case engine.EffCancel:
			switch e.Type {
			case string(engine.WaitTask):
				t.CloseTasks = append(t.CloseTasks, store.TaskClose{ID: e.ID, State: store.TaskCancelled, By: cmd.Actor})
			case string(engine.SubMessage), string(engine.SubSignal), string(engine.SubOther):
				t.DeleteSubs = append(t.DeleteSubs, e.ID)
			default: // job or timer
				t.CancelJobs = append(t.CancelJobs, e.ID)
			}
		case engine.EffIncident:
			inc := store.IncidentRow{ID: e.ID, InstanceID: st.InstanceID, DefinitionID: st.DefinitionID, NodeID: e.NodeID,
				Kind: e.Type, Message: e.Message, State: store.IncidentOpen, CreatedAt: now, FirstFailureAt: now, LastFailureAt: now}
			t.NewIncidents = append(t.NewIncidents, inc)
		case engine.EffResolve:
			t.ResolveIncidents = append(t.ResolveIncidents, e.ID)
		case engine.EffEvent:
			ev(e.Type, e.NodeID, e.ID)
		}
	}
	switch st.Status {
	case engine.StatusCompleted:
		ev(engine.EventInstanceCompleted, "", "")
	case engine.StatusCancelled:
		ev(engine.EventInstanceCancelled, "", "")
	}
	if prepare != nil {
		prepare(&t)
	}
	t.Outbox = append(t.Outbox, r.outboxRows(events, st, eff, now)...)
	// Jobs an in-process handler runs are leased to this node in the same
	// transaction, so they run right after the commit without a fetch.
	// Should this node die first, the lease expires and another takes over.
	var inline []store.JobRow
	if len(t.NewJobs) > 0 && r.leaseInline() {
		for i := range t.NewJobs {
			j := &t.NewJobs[i]
			if IsExternal(j.Kind) || j.RunAt.After(now) {
				continue
			}
			j.State, j.LeaseOwner, j.LeaseUntil, j.Attempt = store.JobRunning, r.cfg.Owner, now.Add(r.cfg.LeaseFor), 1
			inline = append(inline, *j)
		}
	}
	for _, c := range t.CloseTasks {
		t.CancelJobs = append(t.CancelJobs, slaJobID(c.ID))
	}
	// A job that this transition closes must not also be cancelled.
	if t.DoneJob != nil {
		keep := t.CancelJobs[:0]
		for _, id := range t.CancelJobs {
			if id != t.DoneJob.ID {
				keep = append(keep, id)
			}
		}
		t.CancelJobs = keep
	}
	err = r.st.Commit(ctx, t)
	if err == nil && r.cfg.Observer != nil && prevStatus != string(st.Status) {
		r.cfg.Observer.InstanceStatus(prevStatus, string(st.Status))
	}
	if r.cfg.Observer != nil {
		conflicts := 0
		if errors.Is(err, store.ErrConflict) {
			conflicts = 1
		}
		r.cfg.Observer.Committed(r.clk.Now().Sub(start), conflicts)
	}
	if err != nil {
		return row, err
	}
	if len(inline) > 0 {
		r.enqueueLocal(inline)
	} else if len(t.NewJobs) > 0 {
		r.poke()
	}
	ev("instance.updated", "", "")
	r.publish(events)
	if len(t.NewSubs) > 0 {
		r.takeBuffered(ctx, t.NewSubs, "", "")
	}
	return row, nil
}

func slaJobID(taskID string) string { return taskID + "-due" }

// Job kinds the runner itself knows.
const (
	KindTimer = "timer"
	// KindSLA watches a user task's due date.
	KindSLA = "sla"
	// KindExternal prefixes the kind of jobs no in-process handler serves
	// ("external:TYPE", TYPE being the task type): external workers fetch
	// and complete them over the API, by type.
	KindExternal = "external"
)

// jobKind decides who runs a job: an in-process handler registered for
// its kind or task type, or an external worker.
func (r *Runner) jobKind(e engine.Effect, n *model.Node) string {
	kind := e.Type
	if n != nil && (n.HTTP != nil || n.Notify != nil) {
		return kind
	}
	if n != nil && n.Type == model.BusinessRuleTask && n.DecisionRef == "" && n.TaskType != "" && r.handlerFor(kind, n.TaskType) == nil {
		return ExternalKind(n.TaskType)
	}
	if n != nil && n.Type == model.SendTask {
		// A send task without a notify block is work for whoever handles
		// its task type.
		if e.TaskType != "" && r.handlerFor(kind, e.TaskType) != nil && r.handlerFor(kind, "") != r.handlerFor(kind, e.TaskType) {
			return kind
		}
		return ExternalKind(e.TaskType)
	}
	// A service task without an http block runs in-process only when a
	// handler is registered for its task type ("service:TYPE"); the
	// generic "service" handler calls HTTP endpoints.
	if kind == engine.JobService {
		if e.TaskType != "" && r.handlerFor(kind+":"+e.TaskType, "") != nil {
			return kind
		}
		return ExternalKind(e.TaskType)
	}
	if r.handlerFor(kind, e.TaskType) != nil {
		return kind
	}
	return ExternalKind(e.TaskType)
}

// ExternalKind is the job kind of external work of a task type.
func ExternalKind(taskType string) string { return KindExternal + ":" + taskType }

// IsExternal reports whether a job kind is served by external workers.
func IsExternal(kind string) bool {
	return kind == KindExternal || strings.HasPrefix(kind, KindExternal+":")
}

// CompleteTask completes an open user task with the submitted variables.
func (r *Runner) CompleteTask(ctx context.Context, taskID string, vars map[string]any, actor string) (*engine.State, error) {
	task, err := r.st.Task(ctx, taskID)
	if err != nil {
		return nil, err
	}
	if task.State != store.TaskOpen {
		return nil, fmt.Errorf("task %s is %s: %w", taskID, task.State, store.ErrConflict)
	}
	return r.Apply(ctx, task.InstanceID, engine.Command{Kind: engine.CmdCompleteTask, Ref: taskID, Variables: vars, Actor: actor},
		func(t *store.Transition) {
			t.CloseTasks = append(t.CloseTasks, store.TaskClose{ID: taskID, State: store.TaskCompleted, By: actor})
		})
}

// Cancel cancels a running instance.
func (r *Runner) Cancel(ctx context.Context, instanceID, actor string) (*engine.State, error) {
	return r.Apply(ctx, instanceID, engine.Command{Kind: engine.CmdCancel, Actor: actor}, nil)
}

// RecoverRequest says how to recover a failed instance.
type RecoverRequest struct {
	InstanceID string
	// IncidentID picks one incident; default: every open incident.
	IncidentID string
	Variables  map[string]any
	// Action: "retry" (default), "skip" or "move" (to Target).
	Action string
	Target string
	Actor  string
}

// Recover resolves a failed instance's incidents from its last checkpoint.
func (r *Runner) Recover(ctx context.Context, req RecoverRequest) (*engine.State, error) {
	row, err := r.st.Instance(ctx, req.InstanceID)
	if err != nil {
		return nil, err
	}
	st, err := decodeState(row.State)
	if err != nil {
		return nil, err
	}
	if len(st.Incidents) == 0 {
		return nil, fmt.Errorf("%w: instance %s is %s", ErrNotFailed, req.InstanceID, st.Status)
	}
	kind := engine.CmdRetry
	switch req.Action {
	case "", "retry":
	case "skip":
		kind = engine.CmdSkip
	case "move":
		kind = engine.CmdMove
		if req.Target == "" {
			return nil, fmt.Errorf("%w: move needs a target node", ErrInvalid)
		}
	default:
		return nil, fmt.Errorf("%w: unknown recover action %q (want retry, skip or move)", ErrInvalid, req.Action)
	}
	var ids []string
	for _, inc := range st.Incidents {
		if req.IncidentID == "" || inc.ID == req.IncidentID {
			ids = append(ids, inc.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("incident %s: %w", req.IncidentID, store.ErrNotFound)
	}
	var out *engine.State
	for i, id := range ids {
		vars := req.Variables
		if i > 0 {
			vars = nil
		}
		out, err = r.Apply(ctx, req.InstanceID, engine.Command{Kind: kind, Ref: id, Target: req.Target, Variables: vars, Actor: req.Actor}, nil)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Correlate delivers a message to the instance whose subscription matches
// name and key; with none it reports store.ErrNotFound. messageID makes
// correlation exactly-once ("" disables the check).
func (r *Runner) Correlate(ctx context.Context, name, key, messageID string, vars map[string]any, actor string) (*engine.State, error) {
	subs, err := r.st.Subscriptions(ctx, string(engine.SubMessage), name, key)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 && key != "" {
		// Subscriptions without a key accept any key.
		subs, err = r.st.Subscriptions(ctx, string(engine.SubMessage), name, "")
		if err != nil {
			return nil, err
		}
	}
	if len(subs) == 0 {
		return r.startByMessage(ctx, name, key, messageID, vars, actor)
	}
	sub := subs[0]
	return r.Apply(ctx, sub.InstanceID, engine.Command{Kind: engine.CmdMessage, Ref: sub.ID, Variables: vars, Actor: actor},
		func(t *store.Transition) {
			if messageID != "" {
				t.ConsumeMessage = messageID
			}
		})
}

// Message is a message to deliver.
type Message struct {
	Name, Key string
	// ID makes correlation exactly-once ("" disables the check; a
	// buffered message without an id gets a random one).
	ID        string
	Variables map[string]any
	// TTL > 0 keeps a message no instance waits for yet, for a catch event
	// that opens within TTL.
	TTL   time.Duration
	Actor string
}

// Deliver correlates m, or buffers it when nothing waits and m.TTL > 0
// (then it returns the buffered row and a nil state).
func (r *Runner) Deliver(ctx context.Context, m Message) (*engine.State, *store.MessageRow, error) {
	st, err := r.Correlate(ctx, m.Name, m.Key, m.ID, m.Variables, m.Actor)
	if err == nil || m.TTL <= 0 || !errors.Is(err, store.ErrNotFound) {
		return st, nil, err
	}
	row := store.MessageRow{ID: m.ID, Name: m.Name, Key: m.Key, CreatedAt: r.clk.Now(), ExpiresAt: r.clk.Now().Add(m.TTL)}
	if row.ID == "" {
		row.ID = NewID()
	}
	if len(m.Variables) > 0 {
		row.Variables, _ = json.Marshal(m.Variables)
	}
	created, berr := r.st.BufferMessage(ctx, row)
	if berr != nil {
		return nil, nil, berr
	}
	if !created {
		return nil, nil, fmt.Errorf("%w: message %s was already received", ErrDuplicateMessage, row.ID)
	}
	// A catch event may have opened while we buffered: try once more.
	r.takeBuffered(ctx, nil, m.Name, m.Key)
	return nil, &row, nil
}

// takeBuffered delivers buffered messages to subscriptions that just
// opened (subs), or to whatever waits for name/key.
func (r *Runner) takeBuffered(ctx context.Context, subs []store.SubscriptionRow, name, key string) {
	if subs == nil {
		found, err := r.st.Subscriptions(ctx, string(engine.SubMessage), name, key)
		if err != nil {
			return
		}
		subs = found
	}
	for _, sb := range subs {
		if sb.Kind != string(engine.SubMessage) {
			continue
		}
		msgs, err := r.st.BufferedMessages(ctx, sb.Name, sb.Key, r.clk.Now())
		if err != nil || len(msgs) == 0 {
			continue
		}
		m := msgs[0]
		var vars map[string]any
		if len(m.Variables) > 0 {
			_ = json.Unmarshal(m.Variables, &vars)
		}
		_, err = r.Apply(ctx, sb.InstanceID, engine.Command{Kind: engine.CmdMessage, Ref: sb.ID, Variables: vars, Actor: "message-buffer"},
			func(t *store.Transition) { t.ConsumeMessage = m.ID })
		if err != nil {
			r.log.Info("buffered message not delivered", "message", m.ID, "subscription", sb.ID, "err", err)
		}
	}
}

// History returns an instance's history rows.
func (r *Runner) History(ctx context.Context, id string) ([]store.HistoryRow, error) {
	return r.st.History(ctx, id)
}

// InstanceState loads an instance's current state.
func (r *Runner) InstanceState(ctx context.Context, id string) (*engine.State, store.InstanceRow, error) {
	row, err := r.st.Instance(ctx, id)
	if err != nil {
		return nil, row, err
	}
	st, err := decodeState(row.State)
	return st, row, err
}

func trimErr(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}
