package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// testIncidentGroups: open incidents counted by definition, node and
// message, largest first; resolved ones left out; a group's incidents
// listed by its message.
func testIncidentGroups(t *testing.T, newStore NewStore) {
	s := newStore(t)
	if gs, err := s.IncidentGroups(ctxFor(t)); err != nil || len(gs) != 0 {
		t.Fatalf("IncidentGroups(empty) = %v, %v", gs, err)
	}
	add := func(id, def, node, msg string, created time.Duration, resolved bool) {
		in := instance(id, 1)
		in.DefinitionID, in.Status = def, "FAILED"
		mustCommit(t, s, store.Transition{Instance: in, NewIncidents: []store.IncidentRow{{ID: "inc-" + id, InstanceID: id,
			DefinitionID: def, NodeID: node, Kind: "jobFailed", Message: msg, State: store.IncidentOpen, CreatedAt: at(created)}}})
		if resolved {
			in.Version = 2
			mustCommit(t, s, store.Transition{Instance: in, ResolveIncidents: []string{"inc-" + id}})
		}
	}
	add("a", "loan", "payout", "503", 1*time.Minute, false)
	add("b", "loan", "payout", "503", 3*time.Minute, false)
	add("c", "loan", "payout", "503", 2*time.Minute, false)
	add("d", "loan", "payout", "timeout", 4*time.Minute, false)
	add("e", "order", "ship", "503", 5*time.Minute, false)
	add("f", "loan", "payout", "timeout", 6*time.Minute, true)
	gs, err := s.IncidentGroups(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range gs {
		got = append(got, fmt.Sprintf("%s/%s/%s=%d", g.DefinitionID, g.NodeID, g.Message, g.Count))
	}
	if want := "[loan/payout/503=3 loan/payout/timeout=1 order/ship/503=1]"; fmt.Sprint(got) != want {
		t.Errorf("IncidentGroups = %v, want %s", got, want)
	}
	if len(gs) > 0 && (!gs[0].FirstAt.Equal(at(time.Minute)) || !gs[0].LastAt.Equal(at(3*time.Minute))) {
		t.Errorf("group times = %v..%v, want %v..%v", gs[0].FirstAt, gs[0].LastAt, at(time.Minute), at(3*time.Minute))
	}
	rows, err := s.Incidents(ctxFor(t), store.IncidentFilter{State: store.IncidentOpen, DefinitionID: "loan", NodeID: "payout", Message: "503"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[inc-a inc-b inc-c]" {
		t.Errorf("Incidents(group loan/payout/503) = %v", ids)
	}
}
