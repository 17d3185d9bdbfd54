package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

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

// ---- what waits for what ----

// key names a wait state by where it is, not by its id: the N-th job
// (task, timer, subscription, incident) created at a node.
type key struct {
	Class string // job, task, timer, sub, incident, token
	Node  string
	N     int
}

func (k key) String() string {
	if k.Class == "token" {
		return "a token at " + k.Node
	}
	return fmt.Sprintf("%s #%d at %s", k.Class, k.N, k.Node)
}

// tracker follows the jobs, tasks, timers, subscriptions and incidents a
// run creates, from its effects.
type tracker struct {
	count   map[[2]string]int
	byID    map[string]key
	ids     map[key]string
	jobType map[string]string
}

func newTracker() *tracker {
	return &tracker{count: map[[2]string]int{}, byID: map[string]key{}, ids: map[key]string{}, jobType: map[string]string{}}
}

func (tr *tracker) note(eff []engine.Effect) {
	for _, e := range eff {
		var class string
		switch e.Kind {
		case engine.EffJob:
			class = "job"
			tr.jobType[e.ID] = e.Type
		case engine.EffTask:
			class = "task"
		case engine.EffTimer:
			class = "timer"
		case engine.EffSubscribe:
			class = "sub"
		case engine.EffIncident:
			class = "incident"
		default:
			continue
		}
		if e.ID == "" {
			continue
		}
		if _, seen := tr.byID[e.ID]; seen {
			continue
		}
		c := [2]string{class, e.NodeID}
		tr.count[c]++
		k := key{Class: class, Node: e.NodeID, N: tr.count[c]}
		tr.byID[e.ID] = k
		tr.ids[k] = e.ID
	}
}

// refClass is the class of what a command answers ("" for commands that
// answer nothing in particular: cancel, signal, variables, notes).
func refClass(c engine.Command) string {
	switch c.Kind {
	case engine.CmdCompleteJob, engine.CmdFailJob, engine.CmdThrowError:
		return "job"
	case engine.CmdCompleteTask:
		return "task"
	case engine.CmdFireTimer:
		return "timer"
	case engine.CmdMessage:
		if c.Ref != "" {
			return "sub"
		}
	case engine.CmdRetry, engine.CmdSkip:
		return "incident"
	case engine.CmdMove:
		if c.Ref != "" {
			return "incident"
		}
		return "token"
	}
	return ""
}

// isLLMJob reports whether a job type is answered by a model: gateway
// decisions, natural-language rules, agent steps.
func isLLMJob(typ string) bool {
	return typ == engine.JobLLMDecision || typ == engine.JobLLMRule || typ == engine.JobAgent
}

// step is engine.Step that turns a panic into an error.
func step(def *model.Definition, st *engine.State, cmd engine.Command) (next *engine.State, eff []engine.Effect, err error) {
	defer func() {
		if r := recover(); r != nil {
			next, eff, err = nil, nil, fmt.Errorf("the engine panicked: %v", r)
		}
	}()
	return engine.Step(def, st, cmd)
}

// settle drains a stepped state's history and passes the state through
// JSON, as the runner does between transitions (it stores the checkpoint
// and reads it back for the next command).
func settle(st *engine.State) (*engine.State, []engine.HistoryEntry, error) {
	hist := st.History
	st.History = nil
	b, err := json.Marshal(st)
	if err != nil {
		return nil, hist, fmt.Errorf("encode state: %w", err)
	}
	var out engine.State
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, hist, fmt.Errorf("decode state: %w", err)
	}
	return &out, hist, nil
}

// describe names a command for messages: "completeTask at review".
func describe(c engine.Command, tr *tracker) string {
	s := string(c.Kind)
	if k, ok := tr.byID[c.Ref]; ok && c.Ref != "" && k.Class == refClass(c) {
		return s + " at " + k.Node
	}
	switch {
	case c.Kind == engine.CmdStart:
		if c.StartNode != "" {
			return s + " at " + c.StartNode
		}
	case c.Ref != "":
		return s + " " + c.Ref
	case c.Name != "":
		return s + " " + c.Name
	case c.Target != "":
		return s + " to " + c.Target
	}
	return s
}

func (p *replayer) reuse(pos int, c engine.Command, node, typ, recordedRef string) {
	r := Reuse{Command: pos, NodeID: node, JobType: typ, Answer: answerText(c, typ)}
	for _, d := range p.rec.Decisions {
		if d.JobID != "" && d.JobID == recordedRef {
			r.DecisionID, r.Provider, r.Model = d.ID, d.Provider, d.Model
		}
	}
	p.rep.Reused = append(p.rep.Reused, r)
}

// answerText summarises a recorded answer to an LLM job.
func answerText(c engine.Command, typ string) string {
	switch {
	case c.Kind != engine.CmdCompleteJob:
		return string(c.Kind)
	case typ == engine.JobLLMDecision && c.Target != "":
		if c.Name == engine.DecisionReview {
			return "flow " + c.Target + ", confirmed by a person"
		}
		return "flow " + c.Target
	case typ == engine.JobLLMDecision && c.Name == engine.DecisionReview:
		return "a person decides"
	case typ == engine.JobLLMDecision:
		if f, ok := c.Variables["fallback"].(string); ok {
			return "no decision (" + f + "): the gateway's fallback"
		}
		return "no decision: the gateway's fallback"
	}
	return compact(c.Variables)
}

// ---- the recorded definition ----

// same replays the commands on the recorded definition and compares every
// transition's history and the final state with the recording.
func (p *replayer) same(def *model.Definition) {
	tr := newTracker()
	var st *engine.State
	for _, group := range p.d.groups {
		first, seq := group[0], p.d.seq[group[0]]
		what := describe(p.d.cmds[first], tr)
		if len(group) > 1 {
			what += fmt.Sprintf(", with %d more in the same transition", len(group)-1)
		}
		// The commands of one transition are stepped one after the other
		// on the same state, as the runner does before it commits.
		cur := st
		for _, i := range group {
			c := p.d.cmds[i]
			next, eff, err := step(def, cur, c)
			if err != nil {
				p.add(Divergence{Kind: KindRejected, Command: i + 1, Seq: seq, NodeID: nodeOf(c, tr),
					Message: fmt.Sprintf("command %d (%s) was refused by the engine: %v; the replay stops here", i+1, describe(c, tr), err)})
				p.finish(cur)
				return
			}
			if c.Kind == engine.CmdCompleteJob {
				if typ := tr.jobType[c.Ref]; isLLMJob(typ) {
					p.reuse(i+1, c, tr.byID[c.Ref].Node, typ, c.Ref)
				}
			}
			tr.note(eff)
			cur = next
		}
		next, hist, err := settle(cur)
		if err != nil {
			p.add(Divergence{Kind: KindRejected, Command: first + 1, Seq: seq,
				Message: fmt.Sprintf("command %d (%s): %v; the replay stops here", first+1, what, err)})
			p.finish(cur)
			return
		}
		p.rep.Applied += len(group)
		p.rep.HistoryEntries += len(hist)
		p.compareHistory(first+1, seq, what, p.byCheckpoint[seq], hist)
		st = next
	}
	p.finish(st)
}

func nodeOf(c engine.Command, tr *tracker) string {
	if k, ok := tr.byID[c.Ref]; ok && c.Ref != "" && k.Class == refClass(c) {
		return k.Node
	}
	return ""
}

// compareHistory reports the first entry of one transition that differs
// from the recording (node, action and result).
func (p *replayer) compareHistory(pos int, seq int64, what string, want []RecordEntry, got []engine.HistoryEntry) {
	n := max(len(want), len(got))
	for j := 0; j < n; j++ {
		var w, g string
		var node string
		if j < len(want) {
			w = entryText(want[j].NodeID, want[j].Action, rawValue(want[j].Result))
			node = want[j].NodeID
		}
		if j < len(got) {
			res := got[j].Result
			if j < len(want) && want[j].Result == nil && got[j].Action == engine.ActCompleted {
				// Recorded before completions kept their output in the
				// history: the result is a note, not behaviour.
				res = nil
			}
			g = entryText(got[j].NodeID, string(got[j].Action), normalize(res))
			if node == "" {
				node = got[j].NodeID
			}
		}
		if w == g {
			continue
		}
		label := node
		if label == "" {
			label = "the instance"
		}
		msg := fmt.Sprintf("command %d (%s): history differs at %s (entry %d of the transition)", pos, what, label, j+1)
		switch {
		case j >= len(want):
			msg = fmt.Sprintf("command %d (%s): the replay wrote history the recording does not have", pos, what)
			w = "(nothing)"
		case j >= len(got):
			msg = fmt.Sprintf("command %d (%s): the replay did not write history the recording has", pos, what)
			g = "(nothing)"
		}
		p.add(Divergence{Kind: KindHistory, Command: pos, Seq: seq, NodeID: node, Message: msg, Expected: w, Got: g})
		return
	}
}

// finish compares the replay's final state with the recorded checkpoint:
// status, tokens, variables and the rest of the snapshot.
func (p *replayer) finish(got *engine.State) {
	want := p.d.final
	if got == nil {
		p.rep.ReplayedStatus = "NOT STARTED"
		p.add(Divergence{Kind: KindStatus, Message: "final status differs: the replay did not start", Expected: p.rep.RecordedStatus, Got: "NOT STARTED"})
		return
	}
	p.rep.ReplayedStatus = string(got.Status)
	if p.rep.RecordedStatus != string(got.Status) {
		p.add(Divergence{Kind: KindStatus, Message: "final status differs", Expected: p.rep.RecordedStatus, Got: string(got.Status)})
	}
	if !reflect.DeepEqual(normalize(want.Tokens), normalize(got.Tokens)) {
		p.add(Divergence{Kind: KindTokens, Message: "the tokens at the end differ", Expected: tokensText(want, true), Got: tokensText(got, true)})
	}
	p.compareVariables(want.Variables, got.Variables)
	// Everything else of the checkpoint: subscriptions, incidents, ids.
	wm, _ := normalize(want).(map[string]any)
	gm, _ := normalize(got).(map[string]any)
	var fields []string
	var first string
	for _, k := range unionKeys(wm, gm) {
		switch k {
		case "variables", "tokens", "status", "history", "definitionVersion":
			continue
		}
		if !reflect.DeepEqual(wm[k], gm[k]) {
			fields = append(fields, k)
			if first == "" {
				first = k
			}
		}
	}
	if len(fields) > 0 {
		p.add(Divergence{Kind: KindState, Message: "the final checkpoint differs in " + strings.Join(fields, ", "),
			Expected: first + ": " + compact(wm[first]), Got: first + ": " + compact(gm[first])})
	}
}

func (p *replayer) compareVariables(want, got map[string]any) {
	wm, _ := normalize(want).(map[string]any)
	gm, _ := normalize(got).(map[string]any)
	for _, k := range unionKeys(wm, gm) {
		w, inW := wm[k]
		g, inG := gm[k]
		if inW && inG && reflect.DeepEqual(w, g) {
			continue
		}
		d := Divergence{Kind: KindVariables, Message: fmt.Sprintf("variable %q differs at the end", k), Expected: compact(w), Got: compact(g)}
		if !inW {
			d.Message, d.Expected = fmt.Sprintf("variable %q is set by the replay only", k), "(not set)"
		}
		if !inG {
			d.Message, d.Got = fmt.Sprintf("variable %q is not set by the replay", k), "(not set)"
		}
		p.add(d)
	}
}

// ---- a changed definition ----

// answer is a recorded command waiting to be applied to the replay.
type answer struct {
	i   int // index in p.d.cmds
	key key // what it answers ({} for commands that answer nothing)
}

// changed replays the recording on a changed definition: the start as
// recorded, then every recorded answer applied to the replay's own wait
// state at the same node and occurrence, when the replay gets there.
func (p *replayer) changed(recDef, def *model.Definition) {
	keys, openAtEnd, stop := p.baseline(recDef)
	answered := map[key]bool{}
	for _, k := range keys {
		if k.Class != "" && k.Class != "token" {
			answered[k] = true
		}
	}
	tr := newTracker()
	start := p.d.cmds[0]
	st, eff, err := step(def, nil, start)
	var hist []engine.HistoryEntry
	if err == nil {
		st, hist, err = settle(st)
	}
	if err != nil {
		p.add(Divergence{Kind: KindRejected, Command: 1, Seq: 1, NodeID: start.StartNode,
			Message: fmt.Sprintf("command 1 (%s) was refused by the engine on the changed definition: %v", describe(start, tr), err)})
		p.finish(nil)
		return
	}
	p.rep.Applied++
	allHist := hist
	tr.note(eff)

	var pending []answer
	for i := 1; i < len(p.d.cmds); i++ {
		if i >= stop {
			break // not matched: reported by baseline
		}
		pending = append(pending, answer{i: i, key: keys[i]})
		// Apply whatever can be applied, in recorded order, until nothing
		// moves.
		for progress := true; progress; {
			progress = false
			for j := 0; j < len(pending); j++ {
				a := pending[j]
				applied, drop, h := p.apply(def, &st, tr, a)
				if !applied && !drop {
					continue
				}
				pending = slices.Delete(pending, j, j+1)
				allHist = append(allHist, h...)
				progress = true
				break
			}
		}
	}
	p.rep.HistoryEntries = len(allHist)
	if p.broken {
		p.finishChanged(st)
		return
	}

	// The path: which nodes the replay went through.
	p.comparePath(allHist)
	// Where the replay waits without an answer in the recording.
	for _, t := range st.Tokens {
		p.unanswered(st, t, tr, answered, openAtEnd)
	}
	// Recorded answers the replay never needed.
	if st.Status.Ended() && len(pending) > 0 {
		a := pending[0]
		c := p.d.cmds[a.i]
		what := string(c.Kind)
		if a.key.Class != "" {
			what += " at " + a.key.Node
		}
		p.add(Divergence{Kind: KindUnused, Command: a.i + 1, Seq: p.d.seq[a.i], NodeID: a.key.Node,
			Message: fmt.Sprintf("the replay ended (%s) with %d recorded command(s) left, from command %d (%s)", st.Status, len(pending), a.i+1, what)})
	} else {
		for _, a := range pending {
			p.unusedAnswer(a)
		}
	}
	p.finishChanged(st)
}

// baseline replays the recording on its own definition to learn what each
// recorded command answers (node and occurrence) and which wait states
// were still open at the end. stop is the index of the first command that
// could not be replayed (len(cmds) when all were).
func (p *replayer) baseline(def *model.Definition) (keys []key, openAtEnd map[key]bool, stop int) {
	keys = make([]key, len(p.d.cmds))
	openAtEnd = map[key]bool{}
	tr := newTracker()
	var st *engine.State
	fail := func(i int, err error) {
		p.add(Divergence{Kind: KindBaseline, Command: i + 1, Seq: p.d.seq[i],
			Message: fmt.Sprintf("the recording does not replay on its own definition from command %d (%s): %v; the %d command(s) from there on cannot be matched to nodes",
				i+1, describe(p.d.cmds[i], tr), err, len(p.d.cmds)-i)})
	}
	for _, group := range p.d.groups {
		cur := st
		for _, i := range group {
			c := p.d.cmds[i]
			switch class := refClass(c); class {
			case "":
			case "token":
				if cur != nil {
					if t := cur.Token(c.Token); t != nil {
						keys[i] = key{Class: "token", Node: t.Node}
					}
				}
			default:
				keys[i] = tr.byID[c.Ref]
			}
			next, eff, err := step(def, cur, c)
			if err != nil {
				fail(i, err)
				return keys, openAtEnd, i
			}
			tr.note(eff)
			cur = next
		}
		next, _, err := settle(cur)
		if err != nil {
			fail(group[0], err)
			return keys, openAtEnd, group[0]
		}
		st = next
	}
	for _, t := range st.Tokens {
		if k, ok := tr.byID[t.Ref]; ok && t.Ref != "" {
			openAtEnd[k] = true
		}
		for _, sb := range st.Subs {
			if sb.Owner == t.ID {
				openAtEnd[tr.byID[sb.ID]] = true
			}
		}
	}
	return keys, openAtEnd, len(p.d.cmds)
}

// apply applies one recorded command to the replay, its ref rewritten to
// the replay's own wait state. applied: it was; drop: it never will be
// (reported); neither: its wait state does not exist yet.
func (p *replayer) apply(def *model.Definition, st **engine.State, tr *tracker, a answer) (applied, drop bool, hist []engine.HistoryEntry) {
	c := p.d.cmds[a.i]
	pos, seq := a.i+1, p.d.seq[a.i]
	recordedRef := c.Ref
	if p.broken || (*st).Status.Ended() {
		return false, false, nil
	}
	switch a.key.Class {
	case "":
		if refClass(c) != "" {
			p.add(Divergence{Kind: KindUnused, Command: pos, Seq: seq,
				Message: fmt.Sprintf("command %d (%s) answers nothing the recording's own replay had at that point; it is skipped", pos, describe(c, tr))})
			return false, true, nil
		}
	case "token":
		found := false
		for _, t := range (*st).Tokens {
			if t.Node == a.key.Node {
				c.Token, found = t.ID, true
				break
			}
		}
		if !found {
			return false, false, nil
		}
	default:
		rid, ok := tr.ids[a.key]
		if !ok {
			return false, false, nil
		}
		c.Ref = rid
	}
	typ := tr.jobType[c.Ref]
	next, eff, err := step(def, *st, c)
	if err == nil {
		next, hist, err = settle(next)
	}
	if err != nil {
		if errors.Is(err, engine.ErrInvalidCommand) || errors.Is(err, engine.ErrStale) || errors.Is(err, engine.ErrNoSubscription) || errors.Is(err, engine.ErrEnded) {
			node := a.key.Node
			msg := fmt.Sprintf("command %d (%s) could not apply to the replay: %v", pos, c.Kind, err)
			if node != "" {
				msg = fmt.Sprintf("the recording answered %s with command %d (%s), but the replay no longer waits there: %v", node, pos, c.Kind, err)
			}
			p.add(Divergence{Kind: KindUnused, Command: pos, Seq: seq, NodeID: node, Message: msg})
			// Step leaves the state unchanged when it refuses a command.
			return false, true, nil
		}
		// Anything else (a panic) leaves the state in doubt: stop here.
		p.add(Divergence{Kind: KindRejected, Command: pos, Seq: seq, NodeID: a.key.Node,
			Message: fmt.Sprintf("command %d (%s) broke the replay: %v; the replay stops here", pos, c.Kind, err)})
		p.broken = true
		return false, true, nil
	}
	p.rep.Applied++
	if c.Kind == engine.CmdCompleteJob && isLLMJob(typ) {
		p.reuse(pos, c, a.key.Node, typ, recordedRef)
	}
	tr.note(eff)
	*st = next
	return true, false, hist
}

// unanswered reports a token of the replay that waits for something no
// recorded command answers (unless the recording also still waits there).
func (p *replayer) unanswered(st *engine.State, t engine.Token, tr *tracker, answered, openAtEnd map[key]bool) {
	var keys []key
	switch t.Wait {
	case engine.WaitJob, engine.WaitTask:
		keys = append(keys, tr.byID[t.Ref])
	case engine.WaitEvent, engine.WaitGateway:
		for _, sb := range st.Subs {
			if sb.Owner == t.ID {
				keys = append(keys, tr.byID[sb.ID])
			}
		}
	case engine.WaitIncident:
		k := tr.byID[t.Ref]
		if answered[k] || openAtEnd[k] {
			return
		}
		msg := ""
		for _, inc := range st.Incidents {
			if inc.ID == t.Ref {
				msg = inc.Message
			}
		}
		p.add(Divergence{Kind: KindUnanswered, NodeID: t.Node,
			Message: fmt.Sprintf("an incident opened at %s, which the recording never had to resolve", t.Node), Expected: "(no incident)", Got: msg})
		return
	default:
		return // joins and scopes wait for other tokens
	}
	for _, k := range keys {
		if answered[k] || openAtEnd[k] {
			return
		}
	}
	msg := fmt.Sprintf("reached %s which the recording never completed", t.Node)
	if t.Wait == engine.WaitJob && isLLMJob(tr.jobType[t.Ref]) {
		msg += " (a model decision the recording does not hold; replay asks no provider)"
	}
	p.add(Divergence{Kind: KindUnanswered, NodeID: t.Node, Message: msg, Expected: "(no answer recorded)", Got: fmt.Sprintf("waiting at %s (%s)", t.Node, t.Wait)})
}

func (p *replayer) unusedAnswer(a answer) {
	c := p.d.cmds[a.i]
	pos, seq := a.i+1, p.d.seq[a.i]
	if a.key.Class == "" {
		p.add(Divergence{Kind: KindUnused, Command: pos, Seq: seq, Message: fmt.Sprintf("command %d (%s) was not applied", pos, c.Kind)})
		return
	}
	p.add(Divergence{Kind: KindUnused, Command: pos, Seq: seq, NodeID: a.key.Node,
		Message: fmt.Sprintf("the recording answered %s with command %d (%s), but the replay never got there", a.key, pos, c.Kind)})
}

// comparePath reports where the replay's history departs from the
// recorded one. Entries are compared by node and action; the same steps in
// another order (parallel branches) are not a divergence.
func (p *replayer) comparePath(got []engine.HistoryEntry) {
	type stepAt struct{ node, text string }
	want := make([]stepAt, len(p.rec.History))
	wantNodes := map[string]bool{}
	for i, h := range p.rec.History {
		want[i] = stepAt{h.NodeID, entryText(h.NodeID, h.Action, nil)}
		if h.NodeID != "" {
			wantNodes[h.NodeID] = true
		}
	}
	have := make([]stepAt, len(got))
	gotNodes := map[string]bool{}
	for i, h := range got {
		have[i] = stepAt{h.NodeID, entryText(h.NodeID, string(h.Action), nil)}
		if h.NodeID != "" {
			gotNodes[h.NodeID] = true
		}
	}
	texts := func(steps []stepAt) []string {
		out := make([]string, len(steps))
		for i, s := range steps {
			out[i] = s.text
		}
		return out
	}
	a, b := texts(want), texts(have)
	sort.Strings(a)
	sort.Strings(b)
	if slices.Equal(a, b) {
		return
	}
	j := 0
	for j < len(want) && j < len(have) && want[j].text == have[j].text {
		j++
	}
	after, node := "the start", ""
	if j > 0 {
		after = want[j-1].node
		if after == "" {
			after = "the instance's " + strings.Fields(want[j-1].text)[1]
		}
	}
	if j < len(want) {
		node = want[j].node
	} else if j < len(have) {
		node = have[j].node
	}
	msg := fmt.Sprintf("the path differs after %s", after)
	if only := missing(wantNodes, gotNodes); len(only) > 0 {
		msg += "; only the recording went through " + strings.Join(only, ", ")
	}
	if only := missing(gotNodes, wantNodes); len(only) > 0 {
		msg += "; only the replay went through " + strings.Join(only, ", ")
	}
	p.add(Divergence{Kind: KindPath, NodeID: node, Message: msg, Expected: pathText(texts(want[j:])), Got: pathText(texts(have[j:]))})
}

func missing(in, notIn map[string]bool) []string {
	var out []string
	for n := range in {
		if !notIn[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func pathText(steps []string) string {
	if len(steps) == 0 {
		return "(end)"
	}
	const show = 4
	s := strings.Join(steps[:min(show, len(steps))], " → ")
	if len(steps) > show {
		s += fmt.Sprintf(" → … (%d more)", len(steps)-show)
	}
	return s
}

// finishChanged compares the end of a replay on a changed definition:
// status, where the tokens are (by node and wait), variables.
func (p *replayer) finishChanged(got *engine.State) {
	want := p.d.final
	p.rep.ReplayedStatus = string(got.Status)
	if p.rep.RecordedStatus != string(got.Status) {
		p.add(Divergence{Kind: KindStatus, Message: "final status differs", Expected: p.rep.RecordedStatus, Got: string(got.Status)})
	}
	if w, g := tokensText(want, false), tokensText(got, false); w != g {
		p.add(Divergence{Kind: KindTokens, Message: "the tokens at the end are at other nodes", Expected: w, Got: g})
	}
	p.compareVariables(want.Variables, got.Variables)
}

// ---- values ----

// normalize passes a value through JSON, as it would be stored: numbers
// become float64, structs maps.
func normalize(v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return string(b)
	}
	return out
}

func rawValue(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	return v
}

// compact renders a value as short JSON.
func compact(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const limit = 200
	if len(b) > limit {
		return string(b[:limit]) + "…"
	}
	return string(b)
}

func entryText(node, action string, result any) string {
	if node == "" {
		node = "(instance)"
	}
	s := node + " " + action
	if result != nil {
		s += " " + compact(result)
	}
	return s
}

// tokensText lists where the tokens are: "review (task x-5), join (join)".
func tokensText(st *engine.State, refs bool) string {
	if len(st.Tokens) == 0 {
		return "(none)"
	}
	parts := make([]string, 0, len(st.Tokens))
	for _, t := range st.Tokens {
		w := string(t.Wait)
		if w == "" {
			w = "moving"
		}
		if refs && t.Ref != "" {
			w += " " + t.Ref
		}
		parts = append(parts, t.Node+" ("+w+")")
	}
	if !refs {
		sort.Strings(parts)
	}
	return strings.Join(parts, ", ")
}

func unionKeys(a, b map[string]any) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var out []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
