package engine

import "testing"

// compESP is a sub-process "sub" (inputs: ref) holding compensable tasks
// a and b and a compensation event sub-process whose task logs "esp" and
// the sub-process's local ref, then runs throw (a node JSON, or "").
func compESP(throw string) string { return compESPModel(throw, true) }

func compESPModel(throw string, compensate bool) string {
	nodes := []string{sStart,
		`{"id":"sub","type":"subProcess","inputs":[{"source":"'X'","target":"ref"}]}`,
		`{"id":"s0","type":"startEvent","parent":"sub"}`,
		compensable("a", "sub", ""), compensable("b", "sub", ""), `{"id":"s9","type":"endEvent","parent":"sub"}`,
		`{"id":"esp","type":"subProcess","triggeredByEvent":true,"parent":"sub"}`,
		`{"id":"cs","type":"startEvent","parent":"esp","event":{"kind":"compensate"}}`,
		`{"id":"note","type":"task","parent":"esp","outputs":[{"source":"log + 'esp' + ref + ','","target":"log"}]}`,
		`{"id":"ce","type":"endEvent","parent":"esp"}`,
		sEnd}
	edges := []string{chain("start", "sub", "end"), chain("s0", "a", "b", "s9")}
	if compensate {
		nodes = append(nodes, `{"id":"undoAll","type":"intermediateThrowEvent","event":{"kind":"compensate"}}`)
		edges[0] = chain("start", "sub", "undoAll", "end")
	}
	if throw == "" {
		edges = append(edges, chain("cs", "note", "ce"))
	} else {
		nodes = append(nodes, throw)
		edges = append(edges, chain("cs", "note", "inner", "ce"))
	}
	return compModel(nodes, edges...)
}

func TestCompensationEventSubProcess(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		model                   string
		compensating, completed []string
		log                     string
	}{
		{
			name:         "runs instead of the inner handlers",
			model:        compESP(""),
			compensating: []string{"sub"}, completed: []string{"sub"},
			log: "espX,",
		},
		{
			name:         "compensates the inner activities when it throws compensation",
			model:        compESP(`{"id":"inner","type":"intermediateThrowEvent","parent":"esp","event":{"kind":"compensate"}}`),
			compensating: []string{"sub", "b", "a"}, completed: []string{"b", "a", "sub"},
			log: "espX,undo_b,undo_a,",
		},
		{
			name:         "compensates one inner activity by activityRef",
			model:        compESP(`{"id":"inner","type":"intermediateThrowEvent","parent":"esp","event":{"kind":"compensate","activityRef":"a"}}`),
			compensating: []string{"sub", "a"}, completed: []string{"a", "sub"},
			log: "espX,undo_a,",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustParse(t, tc.model)
			st, _ := start(t, d, map[string]any{"log": ""})
			checkCompensated(t, st, tc.compensating, tc.completed, tc.log)
			if got := actions(st, ActCompleted); !contains(got, "esp") || !contains(got, "undoAll") {
				t.Errorf("completed = %v, want esp and undoAll among them", got)
			}
			if len(st.Compensable) != 0 {
				t.Errorf("records left after the end: %+v", st.Compensable)
			}
		})
	}
}

// TestCompensationEventSubProcessNotRunUncompensated: a sub-process that
// completes normally never starts its compensation event sub-process.
func TestCompensationEventSubProcessNotRunUncompensated(t *testing.T) {
	d := mustParse(t, compESPModel("", false))
	st, _ := start(t, d, map[string]any{"log": ""})
	if st.Status != StatusCompleted || st.Variables["log"] != "" {
		t.Fatalf("status %s, log %q: want COMPLETED with nothing run", st.Status, st.Variables["log"])
	}
	if got := actions(st, ActCompleted); contains(got, "esp") || contains(got, "cs") {
		t.Errorf("the compensation event sub-process ran: %v", got)
	}
}
