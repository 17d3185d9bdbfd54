package engine

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/model"
)

// FuzzStep drives the engine with commands chosen by the fuzzer over a set
// of definitions and checks invariants after every step: no panic, every
// committed token waits for something, status agrees with tokens and
// incidents, and the state survives a JSON round trip.
func FuzzStep(f *testing.F) {
	srcs := []string{straight, gateways, parallel, inclusive, boundary, subprocess}
	defs := make([]*model.Definition, len(srcs))
	for i, s := range srcs {
		d, err := model.ParseJSON("fuzz.json", []byte(s))
		if err != nil {
			f.Fatal(err)
		}
		defs[i] = d
	}
	f.Add([]byte{0, 1, 2, 3, 4, 5})
	f.Add([]byte{4, 0, 0, 1, 1, 2, 2, 3, 3})
	f.Add([]byte{5, 9, 8, 7, 6, 5, 4, 3, 2, 1})
	f.Add([]byte{2, 200, 100, 50, 25})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		d := defs[int(in[0])%len(defs)]
		vars := map[string]any{"n": float64(in[0]), "wantA": in[0]%2 == 0, "wantB": in[0]%3 == 0, "explode": in[0]%5 == 0, "owner": "ann"}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		st, _, err := Step(d, nil, Command{Kind: CmdStart, Time: now, InstanceID: "f", Variables: vars})
		if err != nil {
			t.Fatal(err)
		}
		check(t, st)
		for _, b := range in[1:] {
			if st.Status.Ended() {
				return
			}
			now = now.Add(time.Duration(b) * time.Minute)
			cmd := pick(st, b)
			cmd.Time = now
			next, _, err := Step(d, st, cmd)
			if err != nil {
				continue
			}
			st = next
			check(t, st)
		}
	})
}

func pick(st *State, b byte) Command {
	var cmds []Command
	for _, t := range st.Tokens {
		switch t.Wait {
		case WaitJob:
			cmds = append(cmds, Command{Kind: CmdCompleteJob, Ref: t.Ref}, Command{Kind: CmdThrowError, Ref: t.Ref, ErrorCode: "BOOM"}, Command{Kind: CmdFailJob, Ref: t.Ref})
		case WaitTask:
			cmds = append(cmds, Command{Kind: CmdCompleteTask, Ref: t.Ref, Variables: map[string]any{"approved": b%2 == 0}})
		}
		cmds = append(cmds, Command{Kind: CmdMove, Token: t.ID, Target: "end"})
	}
	for _, s := range st.Subs {
		if s.Kind == SubTimer {
			cmds = append(cmds, Command{Kind: CmdFireTimer, Ref: s.ID})
		} else {
			cmds = append(cmds, Command{Kind: CmdMessage, Ref: s.ID})
		}
	}
	for _, i := range st.Incidents {
		cmds = append(cmds, Command{Kind: CmdRetry, Ref: i.ID}, Command{Kind: CmdSkip, Ref: i.ID})
	}
	cmds = append(cmds, Command{Kind: CmdCancel}, Command{Kind: CmdSetVariables, Variables: map[string]any{"n": float64(b)}})
	return cmds[int(b)%len(cmds)]
}

func check(t *testing.T, st *State) {
	t.Helper()
	for _, tk := range st.Tokens {
		if tk.Wait == "" {
			t.Fatalf("token %d at %s does not wait for anything", tk.ID, tk.Node)
		}
	}
	switch {
	case st.Status == StatusCompleted || st.Status == StatusCancelled:
		if len(st.Tokens) != 0 {
			t.Fatalf("%s with tokens %+v", st.Status, st.Tokens)
		}
	case len(st.Incidents) > 0:
		if st.Status != StatusFailed {
			t.Fatalf("incidents but status %s", st.Status)
		}
	case len(st.Tokens) == 0:
		t.Fatalf("no tokens but status %s", st.Status)
	}
	for _, inc := range st.Incidents {
		if tk := st.Token(inc.Token); tk == nil || tk.Wait != WaitIncident || tk.Ref != inc.ID {
			t.Fatalf("incident %s not held by its token", inc.ID)
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
}
