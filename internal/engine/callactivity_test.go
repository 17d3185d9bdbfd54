package engine

import (
	"strings"
	"testing"
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
