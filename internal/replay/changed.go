package replay

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
)

// Replay on a changed definition: recorded answers are matched by node
// and occurrence, and the report says where the path departs.

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
