package engine

import (
	"reflect"
	"strings"
	"testing"
)

// adHocModel is a process start → adhoc → end whose ad-hoc sub-process
// holds service task "a" (followed by task "c"), and task "b" that sets
// done; adHoc is the ad-hoc settings JSON ("" for none).
func adHocModel(adHoc string) string {
	settings := ""
	if adHoc != "" {
		settings = `,"adHoc":` + adHoc
	}
	return `{"id":"adhoc","nodes":[` + sStart + `,
		{"id":"adhoc","type":"adHocSubProcess"` + settings + `},
		{"id":"a","type":"serviceTask","taskType":"work","parent":"adhoc"},
		{"id":"c","type":"task","parent":"adhoc"},
		{"id":"b","type":"task","parent":"adhoc","outputs":[{"source":"=true","target":"done"}]},
		` + sEnd + `],"edges":[` + chain("start", "adhoc", "end") + `,` + chain("a", "c") + `]}`
}

func TestAdHocSubProcess(t *testing.T) {
	for _, tc := range []struct {
		name  string
		adHoc string
		vars  map[string]any
		// completeA completes a's job after the start (when it waits).
		completeA bool
		activated []string
		completed []string // activities of the ad-hoc sub-process that completed, in order
		cancelled []string
		incident  string // part of the incident's message; then nothing else is checked
	}{
		{
			name: "without active elements every element without incoming flows runs", completeA: true,
			activated: []string{"a", "b"}, completed: []string{"b", "a", "c", "adhoc"},
		},
		{
			name: "the active elements collection chooses", adHoc: `{"activeElements":"=[\"b\"]"}`,
			activated: []string{"b"}, completed: []string{"b", "adhoc"},
		},
		{
			name: "a collection from the variables", adHoc: `{"activeElements":"=tools"}`, vars: map[string]any{"tools": []any{"a"}}, completeA: true,
			activated: []string{"a"}, completed: []string{"a", "c", "adhoc"},
		},
		{
			name: "an empty collection completes at once", adHoc: `{"activeElements":"=[]"}`,
			activated: []string{}, completed: []string{"adhoc"},
		},
		{
			name: "completion condition cancels the remaining elements", adHoc: `{"completionCondition":"=done = true"}`,
			activated: []string{"a", "b"}, completed: []string{"b", "adhoc"}, cancelled: []string{"a"},
		},
		{
			name: "cancelRemainingInstances false lets them finish", adHoc: `{"completionCondition":"=done = true","cancelRemainingInstances":false}`, completeA: true,
			activated: []string{"a", "b"}, completed: []string{"b", "a", "c", "adhoc"},
		},
		{
			name: "an unknown element is an incident naming it", adHoc: `{"activeElements":"=[\"b\", \"nope\"]"}`,
			incident: `"nope" is not an element of it`,
		},
		{
			name: "an element with incoming flows cannot be activated", adHoc: `{"activeElements":"=[\"c\"]"}`,
			incident: `"c" has incoming flows`,
		},
		{
			name: "not a list", adHoc: `{"activeElements":"=\"b\""}`,
			incident: "want a list of element ids",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustParse(t, adHocModel(tc.adHoc))
			st, eff := start(t, d, tc.vars)
			if tc.incident != "" {
				if len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, tc.incident) || st.Incidents[0].NodeID != "adhoc" {
					t.Fatalf("incidents = %+v, want one at adhoc containing %q", st.Incidents, tc.incident)
				}
				return
			}
			var activated []string
			for _, h := range st.History {
				if h.NodeID == "adhoc" && h.Action == ActWaiting {
					for _, id := range h.Result.(map[string]any)["activated"].([]string) {
						activated = append(activated, id)
					}
				}
			}
			if activated == nil {
				activated = []string{}
			}
			if !reflect.DeepEqual(activated, tc.activated) {
				t.Errorf("activated = %v, want %v", activated, tc.activated)
			}
			if tc.completeA && st.Status != StatusCompleted {
				st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: waitRef(t, st, "a")})
			}
			if st.Status != StatusCompleted {
				t.Fatalf("status = %s, want COMPLETED (tokens %+v, incidents %+v)", st.Status, st.Tokens, st.Incidents)
			}
			var inner []string
			for _, id := range actions(st, ActCompleted) {
				if id != "start" && id != "end" {
					inner = append(inner, id)
				}
			}
			if !reflect.DeepEqual(inner, tc.completed) {
				t.Errorf("completed = %v, want %v", inner, tc.completed)
			}
			if got := actions(st, ActCancelled); !reflect.DeepEqual(got, tc.cancelled) {
				t.Errorf("cancelled = %v, want %v", got, tc.cancelled)
			}
			if tc.cancelled != nil && find(eff, EffCancel) == nil {
				t.Errorf("a's job was not cancelled: %+v", eff)
			}
		})
	}
}

// TestAdHocCompletionConditionFails: a condition that cannot be evaluated
// stops the inner token with an incident naming the sub-process. A retry
// evaluates the condition again without running the activity; a skip goes
// on as if it did not hold.
func TestAdHocCompletionConditionFails(t *testing.T) {
	d := mustParse(t, adHocModel(`{"completionCondition":"missing > 0"}`))
	for _, how := range []CommandKind{CmdRetry, CmdSkip} {
		t.Run(string(how), func(t *testing.T) {
			st, _ := start(t, d, nil)
			if len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, `completion condition of ad-hoc sub-process "adhoc"`) || st.Incidents[0].NodeID != "b" {
				t.Fatalf("incidents = %+v", st.Incidents)
			}
			st, eff := step(t, d, st, Command{Kind: how, Ref: st.Incidents[0].ID, Variables: map[string]any{"missing": 1}})
			if how == CmdRetry {
				if st.Status != StatusCompleted || find(eff, EffCancel) == nil {
					t.Fatalf("retry: status %s, effects %+v; want the condition to hold and a cancelled", st.Status, eff)
				}
			} else {
				if st.Status != StatusRunning {
					t.Fatalf("skip: status %s (%+v)", st.Status, st.Incidents)
				}
				st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: waitRef(t, st, "a"), Variables: map[string]any{"missing": 0}})
				if st.Status != StatusCompleted {
					t.Fatalf("skip: status %s after a completed (%+v)", st.Status, st.Incidents)
				}
			}
			if got := completedIDs(st); strings.Count(strings.Join(got, ","), "b") != 1 {
				t.Errorf("b completed %v: want once", got)
			}
		})
	}
}

func TestAdHocSimulation(t *testing.T) {
	d := mustParse(t, adHocModel(`{"activeElements":"=tools","completionCondition":"=done = true","cancelRemainingInstances":false}`))
	res := Simulate(d, nil, SimOptions{})
	if res.Outcome != "completed" {
		t.Fatalf("outcome = %s (%+v)", res.Outcome, res.Error)
	}
	var ids []string
	for _, e := range res.Completed {
		ids = append(ids, e.ID)
	}
	want := []string{"start", "a", "b", "c", "adhoc", "end"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("simulation completed %v, want %v", ids, want)
	}
}
