package replay

import (
	"errors"
	"fmt"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
)

// Options configures Replay.
type Options struct {
	// Definition, when set, is a changed definition to replay the
	// recording on instead of the recorded one. The recorded answers are
	// matched to its jobs, user tasks, timers, message subscriptions and
	// incidents by node id and occurrence: the k-th job the replay creates
	// at node N gets the answer the recording gave its k-th job at N.
	Definition *model.Definition
	// MaxDivergences bounds the divergences listed (default 20); the rest
	// are counted in Report.More.
	MaxDivergences int
}

// Divergence kinds.
const (
	// KindRejected: the engine refused a recorded command (same
	// definition); the replay stops there.
	KindRejected = "rejected"
	// KindHistory: a command's transition wrote other history entries
	// than recorded.
	KindHistory = "history"
	// KindStatus, KindVariables, KindTokens, KindState: the final state
	// differs.
	KindStatus    = "status"
	KindVariables = "variables"
	KindTokens    = "tokens"
	KindState     = "state"
	// KindPath: the replay went through other nodes than the recording.
	KindPath = "path"
	// KindUnanswered: the replay waits at a node the recording never
	// completed, so nothing in the recording can answer it.
	KindUnanswered = "unanswered"
	// KindUnused: a recorded command found nothing to apply to in the
	// replay (the replay never reached its node, or no longer waited).
	KindUnused = "unused"
	// KindBaseline: the recording does not replay on its own definition,
	// so commands after that point cannot be matched to nodes.
	KindBaseline = "baseline"
)

// Report is the outcome of a replay.
type Report struct {
	InstanceID string `json:"instanceId"`
	// Definition is the recorded definition ("id v3").
	Definition string `json:"definition"`
	// Against is the changed definition replayed on ("" for the recorded
	// one).
	Against string `json:"against,omitempty"`
	// Commands is how many commands the record holds; Applied how many
	// the replay applied.
	Commands int `json:"commands"`
	Applied  int `json:"applied"`
	// HistoryEntries is how many history entries the replay wrote.
	HistoryEntries int    `json:"historyEntries"`
	RecordedStatus string `json:"recordedStatus"`
	ReplayedStatus string `json:"replayedStatus"`
	// Identical is true when nothing diverged.
	Identical   bool         `json:"identical"`
	Divergences []Divergence `json:"divergences"`
	// More counts divergences found beyond Options.MaxDivergences.
	More int `json:"more,omitempty"`
	// Reused lists the recorded LLM answers (gateway decisions, rules,
	// agent steps) the replay used instead of asking a model.
	Reused []Reuse `json:"reused,omitempty"`
}

// Divergence is one place where the replay departs from the recording.
type Divergence struct {
	Kind string `json:"kind"`
	// Command is the 1-based position of the command in the record (0:
	// none), Seq its seq.
	Command int    `json:"command,omitempty"`
	Seq     int64  `json:"seq,omitempty"`
	NodeID  string `json:"nodeId,omitempty"`
	// Message says what happened, in one sentence; Expected and Got show
	// the recorded and the replayed value where there are two.
	Message  string `json:"message"`
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
}

// Reuse is a recorded LLM answer the replay used.
type Reuse struct {
	Command    int    `json:"command"`
	NodeID     string `json:"nodeId"`
	JobType    string `json:"jobType"`
	Answer     string `json:"answer"`
	DecisionID string `json:"decisionId,omitempty"`
	Provider   string `json:"provider,omitempty"`
	Model      string `json:"model,omitempty"`
}

// Replay re-runs rec on def, the recorded definition (its id must be the
// record's), or on opts.Definition when set, and reports every divergence
// from the recording. The error is for input that cannot be replayed: a
// record that is malformed or incomplete (*InputError), or a definition
// that is not the recorded one. Replay never calls out: every answer comes
// from the record.
func Replay(def *model.Definition, rec *Record, opts Options) (rep Report, err error) {
	defer func() {
		// The engine's panics are caught per step; this is the last line
		// for anything else a strange record might trigger.
		if r := recover(); r != nil {
			rep, err = Report{}, fmt.Errorf("replay: internal error on this record: %v", r)
		}
	}()
	if rec == nil {
		return Report{}, inputErr("", "no record")
	}
	d, err := rec.decode()
	if err != nil {
		return Report{}, err
	}
	for i, c := range d.cmds {
		if c.Kind == engine.CmdMigrate {
			// The record holds one definition; the commands before the
			// migration ran on another version.
			return Report{}, fmt.Errorf("replay: instance %s was migrated to %s v%d by command %d (seq %d); a migrated instance cannot be replayed",
				rec.InstanceID, c.DefinitionID, c.DefinitionVersion, i+1, d.seq[i])
		}
	}
	if def == nil || !def.Built() {
		return Report{}, errors.New("replay: the recorded definition is not compiled")
	}
	if def.ID != rec.Definition.ID {
		return Report{}, fmt.Errorf("replay: definition %q is not the recorded one (%q)", def.ID, rec.Definition.ID)
	}
	if opts.Definition != nil && !opts.Definition.Built() {
		return Report{}, errors.New("replay: the changed definition is not compiled")
	}
	if opts.MaxDivergences <= 0 {
		opts.MaxDivergences = 20
	}
	p := &replayer{rec: rec, d: d, max: opts.MaxDivergences}
	p.rep = Report{
		InstanceID:     rec.InstanceID,
		Definition:     fmt.Sprintf("%s v%d", rec.Definition.ID, rec.Definition.Version),
		Commands:       len(d.cmds),
		RecordedStatus: rec.Final.Status,
		Divergences:    []Divergence{},
	}
	if p.rep.RecordedStatus == "" {
		p.rep.RecordedStatus = string(d.final.Status)
	}
	p.byCheckpoint = map[int64][]RecordEntry{}
	for _, h := range rec.History {
		p.byCheckpoint[h.Checkpoint] = append(p.byCheckpoint[h.Checkpoint], h)
	}
	if opts.Definition == nil {
		p.same(def)
	} else {
		p.rep.Against = fmt.Sprintf("%s v%d", opts.Definition.ID, opts.Definition.Version)
		p.changed(def, opts.Definition)
	}
	p.rep.Identical = len(p.rep.Divergences) == 0 && p.rep.More == 0
	return p.rep, nil
}

type replayer struct {
	// broken is set when the engine failed in a way that leaves the
	// replay's state in doubt (a panic): nothing more is applied.
	broken       bool
	rec          *Record
	d            *decoded
	max          int
	rep          Report
	byCheckpoint map[int64][]RecordEntry
}

func (p *replayer) add(d Divergence) {
	if len(p.rep.Divergences) >= p.max {
		p.rep.More++
		return
	}
	p.rep.Divergences = append(p.rep.Divergences, d)
}
