package bpmn

import (
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/corpus"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

// corpusDir holds the shared BPMN conformance corpus (see its README.md).
var corpusDir = corpus.Dir()

// corpusGaps are executable corpus models Baton cannot import yet, with
// the reason. Each needs a change outside this package; the test fails
// when one starts to pass, so the list stays honest.
var corpusGaps = map[string]string{}

// invalidMentions are words the rejection of each invalid corpus model
// must contain, so that the message names the problem.
var invalidMentions = map[string][]string{
	"bpmn-engine/service-task-operation":         {"http://schema.omg.org/spec/BPMN/2.0", "line 2, column "},
	"bpmn-engine/bpmn-engine-not-xml":            {"not XML", "line 1, column "},
	"bpmn-engine/bpmn-engine-invalid-timer-date": {"2023-01-32", "bound-timer-2"},
	"lib-bpmn-engine/simple-link-event-broken":   {"Link-A", "Link-A-Throw"},
}

// unsupportedRE matches a rejection naming the element type and an id:
// its own, or the id of the element it sits in.
var unsupportedRE = regexp.MustCompile(`unsupported element [A-Za-z]+ (?:"[^"]+"|in [A-Za-z]+ "[^"]+")`)

func loadManifest(t testing.TB) *corpus.Manifest {
	t.Helper()
	m, err := corpus.Load()
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("SKIP: no conformance corpus at %s (manifest.json missing)", corpusDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCorpus imports every model of the conformance corpus and compares
// the flow element counts with the reference parser's.
func TestCorpus(t *testing.T) {
	m := loadManifest(t)
	type tally struct{ pass, fail, gap, missing, total int }
	tallies := map[string]*tally{}
	var kinds []string
	for _, e := range m.Models {
		tl := tallies[e.Kind]
		if tl == nil {
			tl = &tally{}
			tallies[e.Kind] = tl
			kinds = append(kinds, e.Kind)
		}
		tl.total++
		path := e.Path()
		data, err := os.ReadFile(path)
		if err != nil {
			tl.missing++
			t.Logf("%-13s %-60s MISSING %v", e.Kind, e.ID, err)
			continue
		}
		var verdict string
		var failed bool
		switch e.Kind {
		case "import-only":
			verdict, failed = checkImportOnly(&e, data)
		case "executable":
			verdict, failed = checkExecutable(&e, data)
		case "invalid":
			verdict, failed = checkInvalid(&e, data)
		default:
			verdict = "unknown kind, not checked"
		}
		if gap, ok := corpusGaps[e.ID]; ok {
			if failed {
				tl.gap++
				t.Logf("%-13s %-60s KNOWN GAP: %s (%s)", e.Kind, e.ID, gap, verdict)
			} else {
				tl.fail++
				t.Errorf("%-13s %-60s passes now: remove it from corpusGaps (%s)", e.Kind, e.ID, verdict)
			}
			continue
		}
		if failed {
			tl.fail++
			t.Errorf("%-13s %-60s FAIL %s", e.Kind, e.ID, verdict)
			continue
		}
		tl.pass++
		t.Logf("%-13s %-60s ok   %s", e.Kind, e.ID, verdict)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		tl := tallies[k]
		t.Logf("TOTAL %-13s %d/%d passed, %d failed, %d known gaps, %d files missing", k, tl.pass, tl.total, tl.fail, tl.gap, tl.missing)
	}
}

// checkImportOnly: the file imports with the reference counts, or is
// rejected naming an unsupported element and its id.
func checkImportOnly(e *corpus.Entry, data []byte) (string, bool) {
	doc, err := Import(filepath.Base(e.File), data)
	if err != nil {
		return rejectedClearly(err)
	}
	if msg := compareCounts(doc, e.Processes()); msg != "" {
		return msg, true
	}
	built := 0
	var why []string
	for _, p := range doc.Processes {
		if p.Definition != nil {
			built++
		} else if len(p.Problems) > 0 {
			why = append(why, fmt.Sprintf("%s: %s", p.ID, firstLine(p.Problems[0].String())))
		}
	}
	v := fmt.Sprintf("imported, counts match (%d processes, %d build)", len(doc.Processes), built)
	if len(why) > 0 {
		v += "; not runnable: " + strings.Join(why, "; ")
	}
	return v, false
}

// checkExecutable: the file imports with the reference counts and every
// executable process builds, with and without vendor extensions.
func checkExecutable(e *corpus.Entry, data []byte) (string, bool) {
	name := filepath.Base(e.File)
	doc, err := Import(name, data)
	if err != nil {
		return "import failed: " + err.Error(), true
	}
	if msg := compareCounts(doc, e.Processes()); msg != "" {
		return msg, true
	}
	defs, err := Parse(name, data)
	if err != nil {
		return "parse failed: " + err.Error(), true
	}
	if _, err := ParseWith(name, data, Options{IgnoreExtensions: true}); err != nil {
		return "parse without extensions failed: " + err.Error(), true
	}
	ids := make([]string, len(defs))
	warnings := 0
	for i, d := range defs {
		ids[i] = d.ID
		warnings += len(d.Warnings)
	}
	return fmt.Sprintf("imported, counts match, runs %s (%d warnings)", strings.Join(ids, ", "), warnings), false
}

// checkInvalid: the file is refused at import, by a message that names
// the problem.
func checkInvalid(e *corpus.Entry, data []byte) (string, bool) {
	_, err := Parse(filepath.Base(e.File), data)
	if err == nil {
		return "accepted, but the corpus says: " + e.Expected.Reason, true
	}
	var ve *model.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Sprintf("rejected with %T, want *model.ValidationError: %v", err, err), true
	}
	msg := err.Error()
	for _, want := range invalidMentions[e.ID] {
		if !strings.Contains(msg, want) {
			return fmt.Sprintf("rejected, but the message does not mention %q: %s", want, msg), true
		}
	}
	return "rejected: " + firstLine(msg), false
}

func rejectedClearly(err error) (string, bool) {
	var ve *model.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Sprintf("rejected with %T: %v", err, err), true
	}
	for _, p := range ve.Problems {
		if !unsupportedRE.MatchString(p.Message) || p.Line == 0 {
			return "rejected, but not by naming an unsupported element with id and line: " + p.String(), true
		}
	}
	return fmt.Sprintf("rejected (%d problems): %s", len(ve.Problems), ve.Problems[0].String()), false
}

func compareCounts(doc *Document, want []corpus.Process) string {
	if len(doc.Processes) != len(want) {
		return fmt.Sprintf("%d processes, the reference parser found %d", len(doc.Processes), len(want))
	}
	for i, w := range want {
		got := doc.Processes[i]
		if got.ID != w.ID {
			return fmt.Sprintf("process %d is %q, want %q", i, got.ID, w.ID)
		}
		if got.IsExecutable != w.IsExecutable {
			return fmt.Sprintf("process %q: IsExecutable %v, want %v", got.ID, got.IsExecutable, w.IsExecutable)
		}
		if !equalCounts(got.FlowElements, w.FlowElements) {
			return fmt.Sprintf("process %q: flow elements %v, want %v", got.ID, got.FlowElements, w.FlowElements)
		}
		if got.SequenceFlows != w.SequenceFlows {
			return fmt.Sprintf("process %q: %d sequence flows, want %d", got.ID, got.SequenceFlows, w.SequenceFlows)
		}
	}
	return ""
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
