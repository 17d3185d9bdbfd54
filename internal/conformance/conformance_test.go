// Package conformance runs the shared BPMN corpus (../shared/corpus) against
// Baton's BPMN importer and token simulation, as the corpus README
// prescribes, and prints a pass/fail line per entry with totals.
package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/corpus"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
)

// knownFailures are entries Baton does not pass yet, each with the reason
// (also listed in docs/conformance.md). They are reported, not failed.
var knownFailures = map[string]string{}

type tally struct{ pass, fail, skip int }

func (t *tally) String() string {
	return fmt.Sprintf("%d passed / %d total (%d failed, %d not present)", t.pass, t.pass+t.fail, t.fail, t.skip)
}

func TestCorpus(t *testing.T) {
	m, err := corpus.Load()
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("SKIP: conformance corpus not found at %s (a fresh clone without ../shared): %v", corpus.Dir(), err)
	}
	if err != nil {
		t.Fatal(err)
	}
	totals := map[string]*tally{"import-only": {}, "invalid": {}, "executable": {}, "executable scenarios": {}, "peer-specific scenarios (strict joins)": {}}
	var failures []string
	for _, e := range m.Models {
		src, err := os.ReadFile(e.Path())
		if err != nil {
			t.Logf("SKIP %-60s file not present: %s", e.ID, e.File)
			totals[e.Kind].skip++
			continue
		}
		var problems []string
		switch e.Kind {
		case "import-only":
			problems = checkImport(e, src)
		case "invalid":
			problems = checkInvalid(e, src)
		case "executable":
			var scen []string
			problems, scen = checkExecutable(e, src, totals)
			for _, s := range scen {
				t.Logf("     %s", s)
			}
		default:
			problems = []string{"unknown kind " + e.Kind}
		}
		if len(problems) == 0 {
			totals[e.Kind].pass++
			t.Logf("PASS %-60s %s", e.ID, e.Kind)
			continue
		}
		totals[e.Kind].fail++
		if why, ok := knownFailures[e.ID]; ok {
			t.Logf("KNOWN %-59s %s: %s (%s)", e.ID, e.Kind, strings.Join(problems, "; "), why)
			continue
		}
		msg := fmt.Sprintf("FAIL %-60s %s: %s", e.ID, e.Kind, strings.Join(problems, "; "))
		t.Log(msg)
		failures = append(failures, msg)
	}
	keys := make([]string, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("TOTAL %-40s %s", k, totals[k])
	}
	for _, f := range failures {
		t.Error(f)
	}
}

var namesElement = regexp.MustCompile(`unsupported element [A-Za-z]+[^"]*"[^"]+"`)

// checkImport: import with the reference counts, or a rejection naming the
// unsupported element and its id.
func checkImport(e corpus.Entry, src []byte) []string {
	doc, err := bpmn.Import(e.File, src)
	if err != nil {
		if namesElement.MatchString(err.Error()) {
			return nil
		}
		return []string{"rejected without naming an unsupported element: " + firstLine(err.Error())}
	}
	return compareCounts(doc, e.Processes())
}

func compareCounts(doc *bpmn.Document, want []corpus.Process) []string {
	var probs []string
	got := map[string]bpmn.ProcessInfo{}
	for _, p := range doc.Processes {
		got[p.ID] = p
	}
	for _, w := range want {
		p, ok := got[w.ID]
		if !ok {
			probs = append(probs, fmt.Sprintf("process %q not imported", w.ID))
			continue
		}
		if !reflect.DeepEqual(nonZero(p.FlowElements), nonZero(w.FlowElements)) {
			probs = append(probs, fmt.Sprintf("process %q: flow elements %v, reference %v", w.ID, p.FlowElements, w.FlowElements))
		}
		if p.SequenceFlows != w.SequenceFlows {
			probs = append(probs, fmt.Sprintf("process %q: %d sequence flows, reference %d", w.ID, p.SequenceFlows, w.SequenceFlows))
		}
	}
	return probs
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// checkInvalid: rejected at import, or the run fails with an error.
func checkInvalid(e corpus.Entry, src []byte) []string {
	defs, err := bpmn.Parse(e.File, src)
	if err != nil {
		return nil
	}
	for _, d := range defs {
		if r := engine.Simulate(d, nil, engine.SimOptions{}); r.Outcome == "error" {
			return nil
		}
	}
	return []string{"accepted and ran without error; expected: " + e.Expected.Reason}
}

func checkExecutable(e corpus.Entry, src []byte, totals map[string]*tally) (probs, lines []string) {
	defs, err := bpmn.Parse(e.File, src)
	if err != nil {
		return []string{"import failed: " + firstLine(err.Error())}, nil
	}
	// Substitute the portable form of every condition.
	portable := map[string]string{}
	for _, c := range e.Conditions {
		portable[c.Flow] = c.Portable
	}
	for i, d := range defs {
		u := d.Unbuilt()
		for _, ed := range u.Edges {
			if p, ok := portable[ed.ID]; ok {
				ed.Condition, ed.Language = p, ""
			}
		}
		if err := u.Build(model.Options{ImplicitStart: true}); err != nil {
			return []string{"portable conditions rejected: " + firstLine(err.Error())}, nil
		}
		defs[i] = u
	}
	for _, sc := range e.Scenarios {
		res := simulateAll(defs, sc, func(id string) *model.Definition {
			d, err := bpmn.ParseOne(e.File, src, id)
			if err != nil {
				return nil
			}
			return d
		})
		group := "executable scenarios"
		var sp []string
		if sc.PeerSpecific != "" {
			group = "peer-specific scenarios (strict joins)"
			// Baton follows BPMN 2.0: a parallel join waits for a token on
			// every incoming flow, so where the peer relied on dead-path
			// elimination Baton must wait at the join.
			if res.Outcome != "waiting" {
				sp = append(sp, fmt.Sprintf("outcome %s, want waiting (strict join)", res.Outcome))
			}
		} else {
			sp = compareScenario(sc, res)
		}
		if len(sp) == 0 {
			totals[group].pass++
			lines = append(lines, fmt.Sprintf("ok   scenario %s (%s)", sc.Name, group))
		} else {
			totals[group].fail++
			lines = append(lines, fmt.Sprintf("FAIL scenario %s (%s): %s", sc.Name, group, strings.Join(sp, "; ")))
			probs = append(probs, fmt.Sprintf("scenario %s: %s", sc.Name, strings.Join(sp, "; ")))
		}
	}
	return probs, lines
}

// simulateAll runs every executable process in document order and joins
// their results.
func simulateAll(defs []*model.Definition, sc corpus.Scenario, called func(string) *model.Definition) engine.SimResult {
	var all engine.SimResult
	all.Outcome = "completed"
	for _, d := range defs {
		r := engine.Simulate(d, cloneVars(sc.Input), engine.SimOptions{DeliverEvents: sc.DeliverEvents, Called: called})
		all.Completed = append(all.Completed, r.Completed...)
		all.WaitingAt = append(all.WaitingAt, r.WaitingAt...)
		all.Variables = r.Variables
		switch {
		case r.Outcome == "error":
			all.Outcome, all.Error = "error", r.Error
		case r.Outcome == "waiting" && all.Outcome != "error":
			all.Outcome = "waiting"
		}
	}
	return all
}

func cloneVars(in map[string]any) map[string]any {
	b, _ := json.Marshal(in)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func compareScenario(sc corpus.Scenario, r engine.SimResult) []string {
	var probs []string
	x := sc.Expected
	if r.Outcome != x.Outcome {
		msg := fmt.Sprintf("outcome %s, want %s", r.Outcome, x.Outcome)
		if r.Error != nil {
			msg += fmt.Sprintf(" (error at %q: %s)", r.Error.NodeID, r.Error.Message)
		}
		probs = append(probs, msg)
	}
	if x.Order == "sequence" {
		want := make([]engine.Element, len(x.Completed))
		for i, c := range x.Completed {
			want[i] = engine.Element(c)
		}
		if !reflect.DeepEqual(r.Completed, want) && !(len(r.Completed) == 0 && len(want) == 0) {
			probs = append(probs, fmt.Sprintf("completed %v, want %v", ids(r.Completed), ids(want)))
		}
	} else {
		got := map[string]int{}
		types := map[string]string{}
		for _, c := range r.Completed {
			got[c.ID]++
			types[c.ID] = c.Type
		}
		want := map[string]int{}
		for id, c := range x.CompletedMultiset {
			want[id] = c.Count
			if types[id] != "" && types[id] != c.Type {
				probs = append(probs, fmt.Sprintf("%s has type %s, want %s", id, types[id], c.Type))
			}
		}
		if !reflect.DeepEqual(got, want) {
			probs = append(probs, fmt.Sprintf("completed multiset %v, want %v", got, want))
		}
	}
	if x.Outcome == "waiting" {
		var want []string
		for _, w := range x.WaitingAt {
			want = append(want, w.ID)
		}
		got := append([]string(nil), r.WaitingAt...)
		sort.Strings(got)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			probs = append(probs, fmt.Sprintf("waiting at %v, want %v", got, want))
		}
	}
	if x.FinalVariables != nil {
		gv := cloneVars(r.Variables)
		if !reflect.DeepEqual(gv, cloneVars(x.FinalVariables)) {
			probs = append(probs, fmt.Sprintf("variables %v, want %v", gv, x.FinalVariables))
		}
	}
	return probs
}

func ids(es []engine.Element) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
