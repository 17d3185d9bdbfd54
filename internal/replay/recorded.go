package replay

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
)

// Replay on the recorded definition: every transition must give the
// recorded history and the recorded state.

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
