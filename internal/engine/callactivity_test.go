package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

const callDoc = `{"id": "caller", "nodes": [
  {"id": "s", "type": "startEvent"},
  {"id": "call", "type": "callActivity", "calledElement": %CALLED%},
  {"id": "e", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "s", "target": "call"}, {"id": "f2", "source": "call", "target": "e"}]}`

func TestCallActivityCalledElement(t *testing.T) {
	cases := []struct {
		name, called string
		vars         map[string]any
		want         string // job effect's Name; "" when an incident is wanted
		incident     string // part of the incident message
	}{
		{"static id", `"billing"`, nil, "billing", ""},
		{"FEEL string concatenation", `"= \"billing-\" + region"`, map[string]any{"region": "eu"}, "billing-eu", ""},
		{"FEEL if", `"= if vip then \"fast\" else \"slow\""`, map[string]any{"vip": true}, "fast", ""},
		{"expression gives a number", `"= 42"`, nil, "", "want a non-empty process id"},
		{"expression gives null", `"= missing"`, nil, "", "called element"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, strings.Replace(callDoc, "%CALLED%", c.called, 1))
			st, eff := start(t, d, c.vars)
			job := find(eff, EffJob)
			if c.want != "" {
				if job == nil || job.Type != JobCall || job.Name != c.want {
					t.Fatalf("start effects = %+v, want a %s job naming %q", eff, JobCall, c.want)
				}
				return
			}
			if job != nil {
				t.Fatalf("start made job %+v; want an incident", job)
			}
			if len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, c.incident) || st.Incidents[0].NodeID != "call" {
				t.Fatalf("incidents = %+v, want one at call containing %q", st.Incidents, c.incident)
			}
		})
	}
}

// TestSimulateCallError: in a simulation, a BPMN error the called process
// does not catch reaches the call activity's error boundary event.
func TestSimulateCallError(t *testing.T) {
	parent := mustParse(t, `{"id":"shop","nodes":[{"id":"s","type":"startEvent"},{"id":"call","type":"callActivity","calledElement":"pay"},
 {"id":"caught","type":"boundaryEvent","attachedTo":"call","event":{"kind":"error","errorCode":"NO_FUNDS"}},
 {"id":"e","type":"endEvent"},{"id":"sorry","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"call"},{"id":"f2","source":"call","target":"e"},{"id":"f3","source":"caught","target":"sorry"}]}`)
	child := mustParse(t, `{"id":"pay","nodes":[{"id":"ps","type":"startEvent"},{"id":"fail","type":"endEvent","event":{"kind":"error","errorCode":"NO_FUNDS"}}],
 "edges":[{"id":"p1","source":"ps","target":"fail"}]}`)
	res := Simulate(parent, nil, SimOptions{Called: func(id string) *model.Definition {
		if id == "pay" {
			return child
		}
		return nil
	}})
	var ids []string
	for _, c := range res.Completed {
		ids = append(ids, c.ID)
	}
	if res.Outcome != "completed" || !slices.Contains(ids, "sorry") || slices.Contains(ids, "e") {
		t.Errorf("simulation %s (%+v), completed %v; want it to end at sorry", res.Outcome, res.Error, ids)
	}
}
