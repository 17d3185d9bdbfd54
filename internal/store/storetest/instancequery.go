package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// testInstanceQuery holds both stores to the instance search: every
// filter, every sort in both directions, cursors that resume exactly, and
// counts that ignore the page.
func testInstanceQuery(t *testing.T, newStore NewStore) {
	s := newStore(t)
	type fx struct {
		id, def       string
		ver           int
		status, key   string
		created       time.Duration
		ended         time.Duration // 0: running
		vars          string
		incident, msg string // an open incident (msg) or a resolved one ("resolved")
	}
	fixtures := []fx{
		{"a", "loan", 1, "RUNNING", "ORD-100", 1 * time.Hour, 0, `{"amount":500,"customer":{"id":"C-7"}}`, "", ""},
		{"b", "loan", 2, "COMPLETED", "ORD-101", 2 * time.Hour, 3 * time.Hour, `{"amount":1500,"customer":{"id":"C-8"},"vip":true}`, "", ""},
		{"c", "loan", 2, "FAILED", "ORD-200", 3 * time.Hour, 0, `{"amount":2500.5,"customer":{"id":"C-7"}}`, "open", "Payout: POST /payouts: 503 Service Unavailable"},
		{"d", "claims", 1, "WAITING", "", 4 * time.Hour, 0, `{"amount":"1000","note":null}`, "", ""},
		{"e", "claims", 1, "CANCELLED", "CLM_1%", 5 * time.Hour, 6 * time.Hour, `{"amount":1000,"vip":false}`, "resolved", "old failure"},
		{"f", "loan", 1, "FAILED", "ORD-1000", 6 * time.Hour, 0, `{"customer":{"id":"C-7"}}`, "open", "script: division by zero"},
	}
	for _, x := range fixtures {
		in := instance(x.id, 1)
		in.DefinitionID, in.DefinitionVersion, in.Status, in.BusinessKey = x.def, x.ver, x.status, x.key
		in.CreatedAt = at(x.created)
		in.UpdatedAt = at(x.created + 30*time.Minute)
		if x.ended != 0 {
			in.EndedAt = at(x.ended)
		}
		in.State = fmt.Appendf(nil, `{"instanceId":%q,"variables":%s}`, x.id, x.vars)
		tr := store.Transition{Instance: in}
		if x.incident != "" {
			tr.NewIncidents = []store.IncidentRow{{ID: "inc-" + x.id, InstanceID: x.id, DefinitionID: x.def, NodeID: "n",
				Kind: "jobFailed", Message: x.msg, State: store.IncidentOpen, CreatedAt: in.CreatedAt}}
		}
		mustCommit(t, s, tr)
		if x.incident == "resolved" {
			in.Version, in.UpdatedAt = 2, in.UpdatedAt.Add(time.Minute)
			in.State = fmt.Appendf(nil, `{"instanceId":%q,"variables":%s}`, x.id, x.vars)
			mustCommit(t, s, store.Transition{Instance: in, ResolveIncidents: []string{"inc-" + x.id}})
		}
	}
	yes, no := true, false
	cond := func(s string) store.VarCond {
		c, err := store.ParseVarCond(s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	q := func(iq store.InstanceQuery) store.InstanceFilter { return store.InstanceFilter{InstanceQuery: iq} }
	cases := []struct {
		name string
		f    store.InstanceFilter
		want string
	}{
		{"definition", store.InstanceFilter{DefinitionID: "loan"}, "[a b c f]"},
		{"definition version", store.InstanceFilter{DefinitionID: "loan", InstanceQuery: store.InstanceQuery{DefinitionVersion: 2}}, "[b c]"},
		{"key prefix", q(store.InstanceQuery{BusinessKeyPrefix: "ORD-10"}), "[a b f]"},
		{"key prefix is not a pattern", q(store.InstanceQuery{BusinessKeyPrefix: "CLM_1%"}), "[e]"},
		{"key prefix wildcard literal", q(store.InstanceQuery{BusinessKeyPrefix: "CLM%"}), "[]"},
		{"key prefix is case sensitive", q(store.InstanceQuery{BusinessKeyPrefix: "ord"}), "[]"},
		{"started from", q(store.InstanceQuery{StartedFrom: at(3 * time.Hour)}), "[c d e f]"},
		{"started range", q(store.InstanceQuery{StartedFrom: at(2 * time.Hour), StartedBefore: at(4 * time.Hour)}), "[b c]"},
		{"ended before", q(store.InstanceQuery{EndedBefore: at(4 * time.Hour)}), "[b]"},
		{"ended from", q(store.InstanceQuery{EndedFrom: at(time.Hour)}), "[b e]"},
		{"has incident", q(store.InstanceQuery{HasIncident: &yes}), "[c f]"},
		{"no incident", q(store.InstanceQuery{HasIncident: &no}), "[a b d e]"},
		{"error text ignores case", q(store.InstanceQuery{ErrorText: "service UNAVAILABLE"}), "[c]"},
		{"error text of resolved incidents", q(store.InstanceQuery{ErrorText: "old failure"}), "[]"},
		{"error text literal percent", q(store.InstanceQuery{ErrorText: "%"}), "[]"},
		{"number greater", q(store.InstanceQuery{Vars: []store.VarCond{cond("amount > 1000")}}), "[b c]"},
		{"number at least", q(store.InstanceQuery{Vars: []store.VarCond{cond("amount >= 1000")}}), "[b c e]"},
		{"number equal skips strings", q(store.InstanceQuery{Vars: []store.VarCond{cond("amount = 1000")}}), "[e]"},
		{"string equal", q(store.InstanceQuery{Vars: []store.VarCond{cond(`amount = "1000"`)}}), "[d]"},
		{"nested string", q(store.InstanceQuery{Vars: []store.VarCond{cond(`customer.id = "C-7"`)}}), "[a c f]"},
		{"not equal includes missing", q(store.InstanceQuery{Vars: []store.VarCond{cond(`customer.id != "C-7"`)}}), "[b d e]"},
		{"bool", q(store.InstanceQuery{Vars: []store.VarCond{cond(`vip = true`)}}), "[b]"},
		{"bool false", q(store.InstanceQuery{Vars: []store.VarCond{cond(`vip == false`)}}), "[e]"},
		{"null", q(store.InstanceQuery{Vars: []store.VarCond{cond(`note = null`)}}), "[d]"},
		{"two conditions", q(store.InstanceQuery{Vars: []store.VarCond{cond(`customer.id = "C-7"`), cond("amount < 1000")}}), "[a]"},
		{"combined", store.InstanceFilter{Status: "FAILED", InstanceQuery: store.InstanceQuery{ErrorText: "division", BusinessKeyPrefix: "ORD"}}, "[f]"},
		{"newest first", q(store.InstanceQuery{Sort: store.SortCreated, Desc: true}), "[f e d c b a]"},
		{"updated", q(store.InstanceQuery{Sort: store.SortUpdated}), "[a b c d e f]"},
		{"ended lists ended only", q(store.InstanceQuery{Sort: store.SortEnded, Desc: true}), "[e b]"},
		{"status", q(store.InstanceQuery{Sort: store.SortStatus}), "[e b c f a d]"},
		{"definition sort desc", q(store.InstanceQuery{Sort: store.SortDefinition, Desc: true}), "[f c b a e d]"},
		{"business key", q(store.InstanceQuery{Sort: store.SortBusinessKey}), "[d e a f b c]"},
		{"id desc", q(store.InstanceQuery{Sort: store.SortID, Desc: true}), "[f e d c b a]"},
	}
	for _, c := range cases {
		got, err := s.Instances(ctxFor(t), c.f)
		if err != nil {
			t.Fatalf("%s: Instances(%+v) = %v", c.name, c.f, err)
		}
		if ids := idsOf(got); ids != c.want {
			t.Errorf("%s: Instances = %v, want %s", c.name, ids, c.want)
		}
		n, err := s.CountInstances(ctxFor(t), c.f)
		if err != nil {
			t.Fatalf("%s: CountInstances = %v", c.name, err)
		}
		if want := len(got); n != want {
			t.Errorf("%s: CountInstances = %d, want %d", c.name, n, want)
		}
	}
	// Every sort, both ways, paged two rows at a time with cursors, gives
	// the unpaged order; the count ignores the page.
	for _, sort := range store.InstanceSorts {
		for _, desc := range []bool{false, true} {
			iq := store.InstanceQuery{Sort: sort, Desc: desc}
			all, err := s.Instances(ctxFor(t), q(iq))
			if err != nil {
				t.Fatal(err)
			}
			var paged []store.InstanceRow
			f := store.InstanceFilter{Limit: 2, InstanceQuery: iq}
			for range 10 {
				page, err := s.Instances(ctxFor(t), f)
				if err != nil {
					t.Fatalf("sort %s desc %v: %v", sort, desc, err)
				}
				paged = append(paged, page...)
				if len(page) < 2 {
					break
				}
				cur, err := f.ParseCursor(f.CursorOf(page[len(page)-1]))
				if err != nil {
					t.Fatalf("sort %s: cursor of %s: %v", sort, page[len(page)-1].ID, err)
				}
				f.Cursor = cur
				if n, err := s.CountInstances(ctxFor(t), f); err != nil || n != len(all) {
					t.Errorf("sort %s: count on a later page = %d, %v; want %d", sort, n, err, len(all))
				}
			}
			if idsOf(paged) != idsOf(all) {
				t.Errorf("sort %s desc %v: paged %s, unpaged %s", sort, desc, idsOf(paged), idsOf(all))
			}
		}
	}
	// Bad queries are refused before any SQL runs.
	bad := []store.InstanceQuery{
		{Sort: "state"},
		{Vars: []store.VarCond{{Path: []string{"a'b"}, Op: "=", Value: "x"}}},
		{Vars: []store.VarCond{{Path: []string{"a"}, Op: "LIKE", Value: "x"}}},
		{Vars: []store.VarCond{{Path: []string{"a"}, Op: ">", Value: true}}},
		{StartedFrom: at(time.Hour), StartedBefore: at(time.Hour)},
	}
	for _, b := range bad {
		if _, err := s.Instances(ctxFor(t), q(b)); err == nil {
			t.Errorf("Instances(%+v) = nil error, want the bad field named", b)
		}
		if _, err := s.CountInstances(ctxFor(t), q(b)); err == nil {
			t.Errorf("CountInstances(%+v) = nil error", b)
		}
	}
}

func idsOf(rows []store.InstanceRow) string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return fmt.Sprint(ids)
}
