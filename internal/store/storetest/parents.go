package storetest

import (
	"fmt"
	"testing"

	"github.com/batonhq/baton/internal/store"
)

// testParents: a child instance keeps the link to its caller written at
// insert, whatever later commits carry, and the parent lists it.
func testParents(t *testing.T, newStore NewStore) {
	s := newStore(t)
	mustCommit(t, s, store.Transition{Instance: instance("p", 1)})
	for _, id := range []string{"c1", "c2"} {
		in := instance(id, 1)
		in.ParentID, in.ParentNode, in.ParentJob = "p", "call", "job-"+id
		mustCommit(t, s, store.Transition{Instance: in})
	}
	mustCommit(t, s, store.Transition{Instance: instance("other", 1)})
	// A later commit of the child carries no link: the stored one stays.
	mustCommit(t, s, store.Transition{Instance: instance("c1", 2)})

	got, err := s.Instance(ctxFor(t), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ParentID != "p" || got.ParentNode != "call" || got.ParentJob != "job-c1" {
		t.Errorf("Instance(c1) link = %q %q %q, want p call job-c1", got.ParentID, got.ParentNode, got.ParentJob)
	}
	if top, err := s.Instance(ctxFor(t), "p"); err != nil || top.ParentID != "" {
		t.Errorf("Instance(p) parent = %q, %v; want none", top.ParentID, err)
	}
	kids, err := s.Instances(ctxFor(t), store.InstanceFilter{ParentID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(kids))
	for i, k := range kids {
		ids[i] = k.ID
	}
	if fmt.Sprint(ids) != "[c1 c2]" {
		t.Errorf("Instances(ParentID p) = %v, want [c1 c2]", ids)
	}
}
