package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const migV1 = `{"id":"mig","version":1,"nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask","assignee":"ann"},
 {"id":"late","type":"boundaryEvent","attachedTo":"review","event":{"kind":"timer","timer":{"duration":"PT1H"}}},
 {"id":"lateEnd","type":"endEvent"},
 {"id":"work","type":"serviceTask","taskType":"work"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"work"},
 {"id":"f3","source":"work","target":"end"},{"id":"f4","source":"late","target":"lateEnd"}]}`

// migV2 renames review to check and its timer to late2, and adds a
// message boundary event.
const migV2 = `{"id":"mig","version":2,"nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"check","type":"userTask","assignee":"ann"},
 {"id":"late2","type":"boundaryEvent","attachedTo":"check","event":{"kind":"timer","timer":{"duration":"PT2H"}}},
 {"id":"abort","type":"boundaryEvent","attachedTo":"check","event":{"kind":"message","name":"abort"}},
 {"id":"lateEnd","type":"endEvent"},
 {"id":"work","type":"serviceTask","taskType":"work"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"check"},{"id":"f2","source":"check","target":"work"},
 {"id":"f3","source":"work","target":"end"},{"id":"f4","source":"late2","target":"lateEnd"},{"id":"f5","source":"abort","target":"lateEnd"}]}`

func TestMigrateCarriesTaskAndTimer(t *testing.T) {
	v1, v2 := mustParse(t, migV1), mustParse(t, migV2)
	st, eff := start(t, v1, nil)
	task, timer := find(eff, EffTask), find(eff, EffTimer)
	st.History = nil
	st, eff, err := Migrate(v1, v2, st, Command{Kind: CmdMigrate, Time: t0.Add(time.Minute), Actor: "olga",
		Mapping: map[string]string{"review": "check", "late": "late2"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.DefinitionVersion != 2 || st.Tokens[0].Node != "check" || st.Tokens[0].Ref != task.ID {
		t.Fatalf("state = v%d token %+v, want v2 at check holding task %s", st.DefinitionVersion, st.Tokens[0], task.ID)
	}
	moves := map[string]string{}
	for _, e := range effectsOf(eff, EffMove) {
		moves[e.Type+" "+e.ID] = e.NodeID
	}
	if moves["task "+task.ID] != "check" || moves["timer "+timer.ID] != "late2" || len(moves) != 2 {
		t.Errorf("moves = %v, want the task to check and the timer to late2", moves)
	}
	// The timer keeps its due time; the new message boundary is opened.
	if len(st.Subs) != 2 || st.Subs[0].ID != timer.ID || !st.Subs[0].Due.Equal(timer.Due) {
		t.Errorf("subs = %+v", st.Subs)
	}
	if sub := find(eff, EffSubscribe); sub == nil || sub.NodeID != "abort" || sub.Name != "abort" {
		t.Errorf("subscribe = %+v, want the abort boundary", sub)
	}
	if len(effectsOf(eff, EffCancel)) != 0 || len(effectsOf(eff, EffTask)) != 0 {
		t.Errorf("effects = %+v: nothing is cancelled or created again", eff)
	}
	h := historyOf(st, ActMigrated)
	if len(h) != 1 || h[0].Actor != "olga" {
		t.Fatalf("history = %+v", st.History)
	}
	// It runs on in the target: completing the task moves on to work.
	st, eff = step(t, v2, st, Command{Kind: CmdCompleteTask, Ref: task.ID})
	if j := find(eff, EffJob); j == nil || j.NodeID != "work" || st.Status != StatusRunning {
		t.Errorf("after completion: job %+v, status %s", j, st.Status)
	}
}

func TestMigrateClosesDroppedBoundary(t *testing.T) {
	v1, v2 := mustParse(t, migV1), mustParse(t, migV2)
	st, eff := start(t, v1, nil)
	timer := find(eff, EffTimer)
	st, eff, err := Migrate(v1, v2, st, Command{Kind: CmdMigrate, Time: t0, Mapping: map[string]string{"review": "check"}})
	if err != nil {
		t.Fatal(err)
	}
	// late has no counterpart: closed; late2 and abort are opened.
	if c := find(eff, EffCancel); c == nil || c.ID != timer.ID {
		t.Errorf("cancel = %+v, want the old timer", c)
	}
	var opened []string
	for _, sb := range st.Subs {
		opened = append(opened, sb.Node)
	}
	if strings.Join(opened, ",") != "late2,abort" {
		t.Errorf("subs at %v, want late2,abort", opened)
	}
	if tm := find(eff, EffTimer); tm == nil || !tm.Due.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("timer = %+v, want late2 due in 2h", tm)
	}
}

func TestMigrateRefusedChangesNothing(t *testing.T) {
	v1, v2 := mustParse(t, migV1), mustParse(t, migV2)
	cases := []struct {
		name    string
		mapping map[string]string
		node    string
		reason  string
	}{
		{"unmapped", nil, "review", "neither mapped nor present"},
		{"wrong type", map[string]string{"review": "work"}, "review", "is a userTask but"},
		{"unknown target", map[string]string{"review": "nope"}, "review", "does not have"},
		{"unknown source", map[string]string{"ghost": "check"}, "ghost", "does not have"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _ := start(t, v1, nil)
			before := snapshot(t, st)
			_, eff, err := Migrate(v1, v2, st, Command{Kind: CmdMigrate, Time: t0, Mapping: c.mapping})
			var me *MigrationError
			if !errors.As(err, &me) || !errors.Is(err, ErrInvalidCommand) {
				t.Fatalf("err = %v, want a MigrationError", err)
			}
			if me.Node != c.node || !strings.Contains(me.Reason, c.reason) {
				t.Errorf("error = %+v, want node %q, reason containing %q", me, c.node, c.reason)
			}
			if len(eff) != 0 || snapshot(t, st) != before {
				t.Error("a refused migration changed the state")
			}
		})
	}
	// An instance with an open incident is refused until it is resolved.
	st, eff := start(t, v1, nil)
	st, eff = step(t, v1, st, Command{Kind: CmdCompleteTask, Ref: find(eff, EffTask).ID})
	st, _ = step(t, v1, st, Command{Kind: CmdFailJob, Ref: find(eff, EffJob).ID, ErrorMessage: "down"})
	if _, _, err := Migrate(v1, v2, st, Command{Kind: CmdMigrate, Time: t0}); err == nil || !strings.Contains(err.Error(), "incident") {
		t.Errorf("err = %v, want the incident named", err)
	}
	// The wrong source definition is refused.
	if _, _, err := Migrate(v2, v1, st, Command{Kind: CmdMigrate, Time: t0}); !errors.Is(err, ErrInvalidCommand) {
		t.Errorf("err = %v, want ErrInvalidCommand", err)
	}
}

func TestMigrateKeepsScopes(t *testing.T) {
	v1 := mustParse(t, modModel)
	// In v2 the task after the sub-process has inner's job type: mapping
	// inner to it would take the token out of its scope.
	v2 := mustParse(t, strings.Replace(strings.Replace(modModel, `"id":"mod"`, `"id":"mod","version":2`, 1), `"taskType":"after"`, `"taskType":"inner"`, 1))
	st, _ := inSub(t)
	before := snapshot(t, st)
	_, _, err := Migrate(v1, v2, st, Command{Kind: CmdMigrate, Time: t0, Mapping: map[string]string{"inner": "after"}})
	if err == nil || !strings.Contains(err.Error(), `scope the process, but its token is in scope "sub"`) {
		t.Fatalf("err = %v, want the scope mismatch named", err)
	}
	if snapshot(t, st) != before {
		t.Error("refused migration changed the state")
	}
}

// withESP adds a process-level event sub-process started by ev.
func withESP(src, ev string) string {
	s := strings.Replace(src, `{"id":"end","type":"endEvent"}],`, `{"id":"end","type":"endEvent"},
 {"id":"esp","type":"subProcess","triggeredByEvent":true},
 {"id":"es","type":"startEvent","parent":"esp","event":`+ev+`},
 {"id":"ee","type":"endEvent","parent":"esp"}],`, 1)
	return strings.Replace(s, `"edges":[`, `"edges":[{"id":"g1","source":"es","target":"ee"},`, 1)
}

func TestMigrateEventSubProcessStarts(t *testing.T) {
	msg, sig := `{"kind":"message","name":"m"}`, `{"kind":"signal","name":"s"}`
	v1 := mustParse(t, withESP(migV1, msg))
	mapping := map[string]string{"review": "check", "late": "late2"}
	// The same start in the target: the subscription carries over as it is.
	same := mustParse(t, withESP(migV2, msg))
	st, _ := start(t, v1, nil)
	var msgSub Sub
	for _, sb := range st.Subs {
		if sb.Node == "es" {
			msgSub = sb
		}
	}
	st, eff, err := Migrate(v1, same, st, Command{Kind: CmdMigrate, Time: t0, Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	if len(effectsOf(eff, EffSubscribe)) != 1 || len(effectsOf(eff, EffCancel)) != 0 {
		t.Errorf("effects = %+v, want only the abort boundary opened", eff)
	}
	if i := slices.IndexFunc(st.Subs, func(sb Sub) bool { return sb.ID == msgSub.ID }); i < 0 || st.Subs[i].Node != "es" {
		t.Errorf("subs = %+v, want %s kept", st.Subs, msgSub.ID)
	}
	// Another kind of start: the old subscription closes, the new opens.
	other := mustParse(t, withESP(migV2, sig))
	st, _ = start(t, v1, nil)
	_, eff, err = Migrate(v1, other, st, Command{Kind: CmdMigrate, Time: t0, Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	var cancelled, opened []string
	for _, e := range effectsOf(eff, EffCancel) {
		cancelled = append(cancelled, e.ID)
	}
	for _, e := range effectsOf(eff, EffSubscribe) {
		opened = append(opened, e.NodeID+":"+e.Type)
	}
	if !slices.Equal(cancelled, []string{msgSub.ID}) || !slices.Equal(opened, []string{"abort:message", "es:signal"}) {
		t.Errorf("cancelled %v, opened %v", cancelled, opened)
	}
}

func TestMigrateInsideSubProcess(t *testing.T) {
	v1 := mustParse(t, modModel)
	v2 := mustParse(t, strings.NewReplacer(`"id":"mod"`, `"id":"mod","version":2`, `"id":"inner"`, `"id":"inner2"`,
		`"target":"inner"`, `"target":"inner2"`, `"source":"inner"`, `"source":"inner2"`).Replace(modModel))
	st, job := inSub(t)
	st, eff, err := Migrate(v1, v2, st, Command{Kind: CmdMigrate, Time: t0, Mapping: map[string]string{"inner": "inner2"}})
	if err != nil {
		t.Fatal(err)
	}
	if m := find(eff, EffMove); m == nil || m.ID != job.ID || m.NodeID != "inner2" || m.Type != "job" {
		t.Errorf("move = %+v, want the job to inner2", m)
	}
	if got := st.CurrentNodeIDs(); !slices.Equal(got, []string{"sub", "inner2"}) {
		t.Errorf("current = %v", got)
	}
	st, _ = step(t, v2, st, Command{Kind: CmdCompleteJob, Ref: job.ID})
	if got := st.CurrentNodeIDs(); !slices.Equal(got, []string{"after"}) {
		t.Errorf("after the job: current = %v, want [after]", got)
	}
}

// A parallel multi-instance sub-process: its body and every iteration
// migrate together, each iteration's job keeps its id.
const migMIModel = `{"id":"mi","version":%d,"nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"%s","type":"subProcess","multiInstance":{"collection":"items","elementVariable":"item"}},
 {"id":"s0","type":"startEvent","parent":"%[2]s"},
 {"id":"%s","type":"serviceTask","taskType":"w","parent":"%[2]s"},
 {"id":"e0","type":"endEvent","parent":"%[2]s"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"%[2]s"},{"id":"f2","source":"%[2]s","target":"end"},
 {"id":"g1","source":"s0","target":"%[3]s"},{"id":"g2","source":"%[3]s","target":"e0"}]}`

func TestMigrateMultiInstance(t *testing.T) {
	v1 := mustParse(t, fmt.Sprintf(migMIModel, 1, "each", "work"))
	v2 := mustParse(t, fmt.Sprintf(migMIModel, 2, "every", "job"))
	st, eff := start(t, v1, map[string]any{"items": []any{1.0, 2.0, 3.0}})
	jobs := effectsOf(eff, EffJob)
	if len(jobs) != 3 {
		t.Fatalf("jobs = %+v", jobs)
	}
	// Mapping the body but not the inner task is refused.
	if _, _, err := Migrate(v1, v2, st, Command{Kind: CmdMigrate, Time: t0, Mapping: map[string]string{"each": "every"}}); err == nil || !strings.Contains(err.Error(), `"work"`) {
		t.Fatalf("err = %v, want work named", err)
	}
	st, eff, err := Migrate(v1, v2, st, Command{Kind: CmdMigrate, Time: t0, Mapping: map[string]string{"each": "every", "work": "job"}})
	if err != nil {
		t.Fatal(err)
	}
	if moves := effectsOf(eff, EffMove); len(moves) != 3 || moves[0].NodeID != "job" {
		t.Errorf("moves = %+v", moves)
	}
	for _, j := range jobs {
		st, _ = step(t, v2, st, Command{Kind: CmdCompleteJob, Ref: j.ID})
	}
	if st.Status != StatusCompleted {
		t.Errorf("status %s at %v, want COMPLETED", st.Status, st.CurrentNodeIDs())
	}
}
