package engine

import "time"

// CommandKind names what a command asks for.
type CommandKind string

// Command kinds.
const (
	CmdStart        CommandKind = "start"        // start a new instance
	CmdCompleteJob  CommandKind = "completeJob"  // a job finished: Ref = job id, Variables = its output
	CmdFailJob      CommandKind = "failJob"      // a job failed for good: Ref, ErrorMessage → incident
	CmdThrowError   CommandKind = "throwError"   // a job ended with a BPMN error: Ref, ErrorCode
	CmdCompleteTask CommandKind = "completeTask" // a user task was completed: Ref = task id
	CmdFireTimer    CommandKind = "fireTimer"    // a timer subscription is due: Ref = subscription id
	CmdMessage      CommandKind = "message"      // deliver a message: Ref = subscription id, or Name + Key
	CmdSignal       CommandKind = "signal"       // broadcast a signal by Name to this instance
	CmdCancel       CommandKind = "cancel"       // cancel the instance
	CmdRetry        CommandKind = "retry"        // resolve incident Ref by running its node again
	CmdSkip         CommandKind = "skip"         // resolve incident Ref by completing its node without running it
	CmdMove         CommandKind = "move"         // resolve incident Ref (or move token Token) to node Target
	CmdSetVariables CommandKind = "setVariables" // merge Variables from outside
	CmdNote         CommandKind = "note"         // record an outside observation (Name) about node Target in the history
	CmdModify       CommandKind = "modify"       // apply Instructions atomically (modify.go)
)

// Command carries everything non-deterministic into Step: the time, ids,
// outside results and who asked.
type Command struct {
	Kind CommandKind `json:"kind"`
	// Time is "now" for this transition. Step never reads a clock.
	Time time.Time `json:"time"`

	// Start only.
	InstanceID        string `json:"instanceId,omitempty"`
	DefinitionID      string `json:"definitionId,omitempty"`
	DefinitionVersion int    `json:"definitionVersion,omitempty"`
	BusinessKey       string `json:"businessKey,omitempty"`
	// StartNode picks one start event (message or timer start); "" starts
	// at the none start events.
	StartNode string `json:"startNode,omitempty"`
	Simulate  bool   `json:"simulate,omitempty"`

	// Ref is the job, task, subscription or incident the command is about.
	Ref string `json:"ref,omitempty"`
	// Token selects a token for CmdMove without an incident.
	Token int64 `json:"token,omitempty"`
	// Target is the node CmdMove moves the token to.
	Target string `json:"target,omitempty"`

	// Name and Key select a message (CmdMessage without Ref) or signal.
	Name string `json:"name,omitempty"`
	Key  string `json:"key,omitempty"`

	Variables    map[string]any `json:"variables,omitempty"`
	ErrorCode    string         `json:"errorCode,omitempty"`
	ErrorMessage string         `json:"errorMessage,omitempty"`
	// Mapping maps source to target node ids for CmdMigrate (migrate.go).
	Mapping map[string]string `json:"mapping,omitempty"`
	// Instructions are CmdModify's changes, applied in one step.
	Instructions []Instruction `json:"instructions,omitempty"`
	// Actor is who asked (user id, "system", worker id), for the history.
	Actor string `json:"actor,omitempty"`
}

// EffectKind names an effect.
type EffectKind string

// Effect kinds. The runner turns each into rows written in the same
// transaction as the state.
const (
	EffJob       EffectKind = "job"       // create job ID of kind Type for node NodeID
	EffTask      EffectKind = "task"      // create user task ID for node NodeID
	EffTimer     EffectKind = "timer"     // schedule timer subscription ID at Due
	EffSubscribe EffectKind = "subscribe" // open message/signal subscription ID (Name, Key)
	EffCancel    EffectKind = "cancel"    // cancel job, task, timer or subscription ID
	EffIncident  EffectKind = "incident"  // incident ID opened at NodeID (Message)
	EffResolve   EffectKind = "resolve"   // incident ID resolved
	EffEvent     EffectKind = "event"     // lifecycle event Type (task.assigned, incident.opened) for notifications
	EffThrow     EffectKind = "throw"     // a message or signal thrown to the outside: ID, Type, Name, Key, Locals (its variables)
)

// Job types carried by EffJob.Type.
const (
	JobService      = "service"
	JobSend         = "send"
	JobBusinessRule = "businessRule"
	JobCall         = "call"
	JobReceive      = "receive"
	// JobMessage is a message throw event (intermediate or end) that has
	// a task type: as in Zeebe, it is work for a worker of that type,
	// like a send task.
	JobMessage = "message"
)

// Effect is something the outside world must do because of a transition.
type Effect struct {
	Kind   EffectKind `json:"kind"`
	ID     string     `json:"id,omitempty"`
	NodeID string     `json:"nodeId,omitempty"`
	// Type is the job type (EffJob), event type (EffEvent) or thrown
	// event kind (EffThrow).
	Type string `json:"type,omitempty"`
	// TaskType is the worker type of a job (service task type).
	TaskType string    `json:"taskType,omitempty"`
	Due      time.Time `json:"due,omitzero"`
	Name     string    `json:"name,omitempty"`
	Key      string    `json:"key,omitempty"`
	Message  string    `json:"message,omitempty"`
	// Task describes a user task (EffTask).
	Task *TaskInfo `json:"task,omitempty"`
	// Locals are token-local variables the job or task sees on top of the
	// instance's (multi-instance items, input mappings).
	Locals map[string]any `json:"locals,omitempty"`
}

// TaskInfo is what a user task effect carries, evaluated at creation.
type TaskInfo struct {
	Name            string    `json:"name,omitempty"`
	Assignee        string    `json:"assignee,omitempty"`
	CandidateUsers  []string  `json:"candidateUsers,omitempty"`
	CandidateGroups []string  `json:"candidateGroups,omitempty"`
	DueAt           time.Time `json:"dueAt,omitzero"`
	FollowUpAt      time.Time `json:"followUpAt,omitzero"`
	FormKey         string    `json:"formKey,omitempty"`
	Priority        int       `json:"priority"`
}

// NetEffects drops from effs, the effects of several steps committed
// together, every timer or subscription that a later effect cancels,
// together with that cancel: a store applies cancels before inserts, so
// the pair would leave a row behind. Step's own effects are already net.
func NetEffects(effs []Effect) []Effect {
	var opened map[string]int
	for i, e := range effs {
		if e.Kind == EffTimer || e.Kind == EffSubscribe {
			if opened == nil {
				opened = map[string]int{}
			}
			opened[e.ID] = i
		}
	}
	if opened == nil {
		return effs
	}
	drop := map[int]bool{}
	for i, e := range effs {
		if j, ok := opened[e.ID]; ok && e.Kind == EffCancel && j < i && !drop[j] {
			drop[i], drop[j] = true, true
		}
	}
	if len(drop) == 0 {
		return effs
	}
	out := effs[:0:0]
	for i, e := range effs {
		if !drop[i] {
			out = append(out, e)
		}
	}
	return out
}
