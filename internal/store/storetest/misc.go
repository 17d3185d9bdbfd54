package storetest

import (
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/engine"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

func testInstances(t *testing.T, newStore NewStore) {
	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mk := func(id, def, status, key string) {
			in := instance(id, 1)
			in.DefinitionID, in.Status, in.BusinessKey = def, status, key
			mustCommit(t, s, store.Transition{Instance: in})
		}
		mk("a", "loan", "RUNNING", "k1")
		mk("b", "loan", "COMPLETED", "k2")
		mk("c", "claims", "RUNNING", "k1")
		mk("d", "loan", "WAITING", "")
		mk("e", "claims", "FAILED", "k3")
		cases := []struct {
			f    store.InstanceFilter
			want string
		}{
			{store.InstanceFilter{}, "[a b c d e]"},
			{store.InstanceFilter{Status: "RUNNING"}, "[a c]"},
			{store.InstanceFilter{DefinitionID: "loan"}, "[a b d]"},
			{store.InstanceFilter{BusinessKey: "k1"}, "[a c]"},
			{store.InstanceFilter{DefinitionID: "claims", Status: "RUNNING"}, "[c]"},
			{store.InstanceFilter{Limit: 2}, "[a b]"},
			{store.InstanceFilter{After: "b", Limit: 2}, "[c d]"},
			{store.InstanceFilter{After: "d", Limit: 2}, "[e]"},
			{store.InstanceFilter{DefinitionID: "loan", After: "a", Limit: 1}, "[b]"},
		}
		for _, c := range cases {
			got, err := s.Instances(ctxFor(t), c.f)
			if err != nil {
				t.Fatalf("Instances(%+v) = %v", c.f, err)
			}
			ids := make([]string, len(got))
			for i, in := range got {
				ids[i] = in.ID
			}
			if fmt.Sprint(ids) != c.want {
				t.Errorf("Instances(%+v) = %v, want %s", c.f, ids, c.want)
			}
		}
	})

	t.Run("LimitIsBounded", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range 105 {
			mustCommit(t, s, store.Transition{Instance: instance(fmt.Sprintf("i%03d", i), 1)})
		}
		got, err := s.Instances(ctxFor(t), store.InstanceFilter{})
		if err != nil {
			t.Fatalf("Instances() = %v", err)
		}
		if len(got) != 100 {
			t.Errorf("Instances(no limit) returned %d rows, want the default 100", len(got))
		}
	})
}

func testSubscriptions(t *testing.T, newStore NewStore) {
	t.Run("LookupAndDelete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		sub := func(id, kind, name, key string, created time.Duration) store.SubscriptionRow {
			return store.SubscriptionRow{ID: id, InstanceID: "i1", NodeID: "n-" + id, Kind: kind, Name: name, Key: key, CreatedAt: at(created)}
		}
		s1 := sub("s1", "message", "paid", "o-1", 2*time.Second)
		s1b := sub("s1b", "message", "paid", "o-1", time.Second)
		s2 := sub("s2", "message", "paid", "o-2", 0)
		s3 := sub("s3", "message", "paid", "", 0)
		s4 := sub("s4", "signal", "paid", "", 0)
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), NewSubs: []store.SubscriptionRow{s1, s1b, s2, s3, s4}})
		cases := []struct {
			kind, name, key string
			want            []store.SubscriptionRow
		}{
			{"message", "paid", "o-1", []store.SubscriptionRow{s1b, s1}},
			{"message", "paid", "o-2", []store.SubscriptionRow{s2}},
			{"message", "paid", "", []store.SubscriptionRow{s3}},
			{"signal", "paid", "", []store.SubscriptionRow{s4}},
			{"message", "shipped", "", nil},
		}
		for _, c := range cases {
			got, err := s.Subscriptions(ctxFor(t), c.kind, c.name, c.key)
			if err != nil {
				t.Fatalf("Subscriptions(%s, %s, %q) = %v", c.kind, c.name, c.key, err)
			}
			if d := diff(c.want, got); d != "" {
				t.Errorf("Subscriptions(%s, %s, %q) mismatch (-want +got):\n%s", c.kind, c.name, c.key, d)
			}
		}
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2), DeleteSubs: []string{"s1", "s4", "nope"}})
		got, _ := s.Subscriptions(ctxFor(t), "message", "paid", "o-1")
		if d := diff([]store.SubscriptionRow{s1b}, got); d != "" {
			t.Errorf("Subscriptions after delete mismatch (-want +got):\n%s", d)
		}
		got, _ = s.Subscriptions(ctxFor(t), "signal", "paid", "")
		if len(got) != 0 {
			t.Errorf("Subscriptions(signal) after delete = %+v, want none", got)
		}
	})
}

func testIncidents(t *testing.T, newStore NewStore) {
	incident := func(id, instanceID, def, node string) store.IncidentRow {
		return store.IncidentRow{
			ID: id, InstanceID: instanceID, DefinitionID: def, NodeID: node, JobID: "job-" + id,
			Kind: engine.IncidentJob, Message: "failed " + id, Attempts: 5, State: store.IncidentOpen,
			Advice: []byte(`{"try":"again"}`), CreatedAt: at(time.Minute),
			FirstFailureAt: t0, LastFailureAt: at(time.Minute),
		}
	}
	t.Run("RoundTripAndFilters", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := incident("a", "i1", "loan", "pay")
		b := incident("b", "i1", "loan", "notify")
		c := incident("c", "i2", "claims", "pay")
		d := incident("d", "", "", "")
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), NewIncidents: []store.IncidentRow{a, b}})
		mustCommit(t, s, store.Transition{Instance: instance("i2", 1), NewIncidents: []store.IncidentRow{c}})
		mustCommit(t, s, store.Transition{NewIncidents: []store.IncidentRow{d}})
		got, err := s.Incident(ctxFor(t), "a")
		if err != nil {
			t.Fatalf("Incident(a) = %v", err)
		}
		if diff := diff(a, got); diff != "" {
			t.Errorf("Incident(a) mismatch (-want +got):\n%s", diff)
		}
		_, err = s.Incident(ctxFor(t), "nope")
		wantErr(t, "Incident(nope)", err, store.ErrNotFound)

		resolver := instance("i1", 2)
		mustCommit(t, s, store.Transition{
			Instance:         resolver,
			History:          []store.HistoryRow{{NodeID: "pay", Action: "recovered", Actor: "ops"}},
			ResolveIncidents: []string{"b", "nope"},
		})
		cases := []struct {
			f    store.IncidentFilter
			want string
		}{
			{store.IncidentFilter{}, "[a b c d]"},
			{store.IncidentFilter{State: store.IncidentOpen}, "[a c d]"},
			{store.IncidentFilter{State: store.IncidentResolved}, "[b]"},
			{store.IncidentFilter{InstanceID: "i1"}, "[a b]"},
			{store.IncidentFilter{DefinitionID: "claims"}, "[c]"},
			{store.IncidentFilter{NodeID: "pay"}, "[a c]"},
			{store.IncidentFilter{Limit: 2}, "[a b]"},
			{store.IncidentFilter{After: "b", Limit: 2}, "[c d]"},
		}
		for _, c := range cases {
			got, err := s.Incidents(ctxFor(t), c.f)
			if err != nil {
				t.Fatalf("Incidents(%+v) = %v", c.f, err)
			}
			ids := make([]string, len(got))
			for i, in := range got {
				ids[i] = in.ID
			}
			if fmt.Sprint(ids) != c.want {
				t.Errorf("Incidents(%+v) = %v, want %s", c.f, ids, c.want)
			}
		}
		got, _ = s.Incident(ctxFor(t), "b")
		if got.State != store.IncidentResolved || !got.ResolvedAt.Equal(resolver.UpdatedAt) || got.ResolvedBy != "ops" {
			t.Errorf("resolved incident = %+v, want resolved at %v by ops", got, resolver.UpdatedAt)
		}
		// Resolving again keeps the first resolution.
		mustCommit(t, s, store.Transition{Instance: instance("i1", 3), ResolveIncidents: []string{"b"}})
		if again, _ := s.Incident(ctxFor(t), "b"); !again.ResolvedAt.Equal(resolver.UpdatedAt) {
			t.Errorf("ResolvedAt = %v after resolving twice, want %v", again.ResolvedAt, resolver.UpdatedAt)
		}
	})

	t.Run("SetAdvice", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustCommit(t, s, store.Transition{NewIncidents: []store.IncidentRow{incident("a", "", "", "")}})
		advice := []byte(`{"action":"retry","confidence":0.9}`)
		if err := s.SetIncidentAdvice(ctxFor(t), "a", advice); err != nil {
			t.Fatalf("SetIncidentAdvice() = %v", err)
		}
		got, _ := s.Incident(ctxFor(t), "a")
		if string(got.Advice) != string(advice) {
			t.Errorf("Advice = %s, want %s", got.Advice, advice)
		}
		wantErr(t, "SetIncidentAdvice(missing)", s.SetIncidentAdvice(ctxFor(t), "nope", advice), store.ErrNotFound)
	})
}

func outboxRow(id, channel string, runAt time.Time) store.OutboxRow {
	return store.OutboxRow{
		ID: id, InstanceID: "i1", Event: "task.assigned", Channel: channel, Target: id + "@example.com",
		Payload: []byte(`{"o":"` + id + `"}`), State: store.OutboxPending, RunAt: runAt, CreatedAt: t0,
	}
}

func testOutbox(t *testing.T, newStore NewStore) {
	fetch := func(t *testing.T, s store.Store, p store.FetchParams) []string {
		t.Helper()
		rows, err := s.FetchOutbox(ctxFor(t), p)
		if err != nil {
			t.Fatalf("FetchOutbox(%+v) = %v", p, err)
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
			if r.LeaseOwner != p.Owner || !r.LeaseUntil.Equal(p.Now.Add(p.LeaseFor)) {
				t.Errorf("fetched outbox row = %+v, want leased by %s until %v", r, p.Owner, p.Now.Add(p.LeaseFor))
			}
		}
		return ids
	}
	t.Run("FetchLeaseAndTakeOver", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), Outbox: []store.OutboxRow{
			outboxRow("a", "email", at(time.Second)), outboxRow("b", "webhook", t0),
			outboxRow("c", "sms", at(time.Hour)), outboxRow("d", "email", at(2*time.Second)),
		}})
		now := at(5 * time.Second)
		if got := fetch(t, s, store.FetchParams{Owner: "w1", Now: now, Limit: 2, LeaseFor: 10 * time.Second}); fmt.Sprint(got) != "[b a]" {
			t.Errorf("FetchOutbox() = %v, want [b a]", got)
		}
		if got := fetch(t, s, store.FetchParams{Owner: "w2", Kinds: []string{"email", "sms"}, Now: now, Limit: 10, LeaseFor: time.Minute}); fmt.Sprint(got) != "[d]" {
			t.Errorf("FetchOutbox(email, sms) = %v, want [d]", got)
		}
		if got := fetch(t, s, store.FetchParams{Owner: "w3", Now: at(16 * time.Second), Limit: 10, LeaseFor: time.Minute}); fmt.Sprint(got) != "[b a]" {
			t.Errorf("FetchOutbox(after w1's lease expired) = %v, want [b a]", got)
		}
		rows, err := s.Outbox(ctxFor(t), store.OutboxFilter{})
		if err != nil {
			t.Fatalf("Outbox() = %v", err)
		}
		for _, r := range rows {
			if want := map[string]int{"a": 2, "b": 2, "c": 0, "d": 1}[r.ID]; r.Attempts != want {
				t.Errorf("outbox %s attempts = %d, want %d", r.ID, r.Attempts, want)
			}
		}
		wantErr(t, "MarkOutbox(lost lease)", s.MarkOutbox(ctxFor(t), "a", "w1", store.OutboxSent, time.Time{}, "", now), store.ErrConflict)
		if _, err := s.FetchOutbox(ctxFor(t), store.FetchParams{Owner: "w", Now: t0, Limit: 1}); err == nil {
			t.Error("FetchOutbox(LeaseFor 0) = nil error, want an error")
		}
	})

	t.Run("Mark", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), Outbox: []store.OutboxRow{
			outboxRow("sent", "email", t0), outboxRow("retry", "email", t0), outboxRow("dead", "email", t0),
		}})
		fetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 10, LeaseFor: time.Minute})
		now := at(time.Second)
		if err := s.MarkOutbox(ctxFor(t), "sent", "w", store.OutboxSent, time.Time{}, "", now); err != nil {
			t.Fatalf("MarkOutbox(sent) = %v", err)
		}
		if err := s.MarkOutbox(ctxFor(t), "retry", "w", store.OutboxPending, at(time.Minute), "503", now); err != nil {
			t.Fatalf("MarkOutbox(pending) = %v", err)
		}
		if err := s.MarkOutbox(ctxFor(t), "dead", "w", store.OutboxDead, time.Time{}, "gone", now); err != nil {
			t.Fatalf("MarkOutbox(dead) = %v", err)
		}
		rows, err := s.Outbox(ctxFor(t), store.OutboxFilter{})
		if err != nil {
			t.Fatalf("Outbox() = %v", err)
		}
		byID := map[string]store.OutboxRow{}
		for _, r := range rows {
			byID[r.ID] = r
		}
		want := outboxRow("sent", "email", t0)
		want.State, want.Attempts, want.SentAt = store.OutboxSent, 1, now
		if d := diff(want, byID["sent"]); d != "" {
			t.Errorf("sent row mismatch (-want +got):\n%s", d)
		}
		want = outboxRow("retry", "email", at(time.Minute))
		want.Attempts, want.LastError = 1, "503"
		if d := diff(want, byID["retry"]); d != "" {
			t.Errorf("retried row mismatch (-want +got):\n%s", d)
		}
		want = outboxRow("dead", "email", t0)
		want.State, want.Attempts, want.LastError = store.OutboxDead, 1, "gone"
		if d := diff(want, byID["dead"]); d != "" {
			t.Errorf("dead row mismatch (-want +got):\n%s", d)
		}
		wantErr(t, "MarkOutbox(twice)", s.MarkOutbox(ctxFor(t), "sent", "w", store.OutboxSent, time.Time{}, "", now), store.ErrConflict)
		wantErr(t, "MarkOutbox(missing)", s.MarkOutbox(ctxFor(t), "nope", "w", store.OutboxSent, time.Time{}, "", now), store.ErrNotFound)
		if err := s.MarkOutbox(ctxFor(t), "retry", "w", "bogus", time.Time{}, "", now); err == nil {
			t.Error("MarkOutbox(bogus state) = nil, want an error")
		}
		if got := fetch(t, s, store.FetchParams{Owner: "w", Now: at(time.Minute), Limit: 10, LeaseFor: time.Minute}); fmt.Sprint(got) != "[retry]" {
			t.Errorf("FetchOutbox(after marks) = %v, want [retry]", got)
		}
	})

	t.Run("RequeueAndFilter", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		sms := outboxRow("c", "sms", t0)
		sms.Event = "instance.completed"
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), Outbox: []store.OutboxRow{
			outboxRow("a", "email", t0), outboxRow("b", "webhook", t0), sms,
		}})
		mustCommit(t, s, store.Transition{Outbox: []store.OutboxRow{{ID: "d", Channel: "email", Event: "incident.opened", RunAt: t0}}})
		fetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute})
		if err := s.MarkOutbox(ctxFor(t), "a", "w", store.OutboxDead, time.Time{}, "bounced", t0); err != nil {
			t.Fatalf("MarkOutbox() = %v", err)
		}
		wantErr(t, "RequeueOutbox(pending)", s.RequeueOutbox(ctxFor(t), "b", at(time.Hour)), store.ErrConflict)
		wantErr(t, "RequeueOutbox(missing)", s.RequeueOutbox(ctxFor(t), "nope", at(time.Hour)), store.ErrNotFound)
		if err := s.RequeueOutbox(ctxFor(t), "a", at(time.Hour)); err != nil {
			t.Fatalf("RequeueOutbox(dead) = %v", err)
		}
		rows, _ := s.Outbox(ctxFor(t), store.OutboxFilter{State: store.OutboxPending, Channel: "email"})
		if len(rows) != 2 || rows[0].ID != "a" || rows[0].Attempts != 0 || !rows[0].RunAt.Equal(at(time.Hour)) || rows[0].LastError != "bounced" {
			t.Errorf("Outbox(pending email) = %+v, want a requeued (attempts 0, due +1h, error kept) and d", rows)
		}
		cases := []struct {
			f    store.OutboxFilter
			want string
		}{
			{store.OutboxFilter{}, "[a b c d]"},
			{store.OutboxFilter{InstanceID: "i1"}, "[a b c]"},
			{store.OutboxFilter{Channel: "webhook"}, "[b]"},
			{store.OutboxFilter{Event: "instance.completed"}, "[c]"},
			{store.OutboxFilter{After: "a", Limit: 2}, "[b c]"},
		}
		for _, c := range cases {
			rows, err := s.Outbox(ctxFor(t), c.f)
			if err != nil {
				t.Fatalf("Outbox(%+v) = %v", c.f, err)
			}
			ids := make([]string, len(rows))
			for i, r := range rows {
				ids[i] = r.ID
			}
			if fmt.Sprint(ids) != c.want {
				t.Errorf("Outbox(%+v) = %v, want %s", c.f, ids, c.want)
			}
		}
	})
}

func testDecisions(t *testing.T, newStore NewStore) {
	t.Run("RecordAndList", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		dec := func(id, instanceID string, created time.Duration) store.DecisionRow {
			return store.DecisionRow{
				ID: id, InstanceID: instanceID, NodeID: "route", JobID: "job-" + id, Provider: "anthropic",
				Model: "claude", Request: []byte(`{"prompt":"p"}`), Response: []byte("raw text, not JSON"),
				Decision: []byte(`{"flow":"f1"}`), InputTokens: 120, OutputTokens: 30, LatencyMS: 850,
				CostMicros: 1234, CreatedAt: at(created),
			}
		}
		a, b, c := dec("a", "i1", 2*time.Second), dec("b", "i1", time.Second), dec("c", "i2", 0)
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), Decisions: []store.DecisionRow{a}})
		for _, d := range []store.DecisionRow{b, c} {
			if err := s.InsertDecision(ctxFor(t), d); err != nil {
				t.Fatalf("InsertDecision(%s) = %v", d.ID, err)
			}
		}
		wantErr(t, "InsertDecision(duplicate)", s.InsertDecision(ctxFor(t), a), store.ErrConflict)
		got, err := s.Decisions(ctxFor(t), "i1")
		if err != nil {
			t.Fatalf("Decisions(i1) = %v", err)
		}
		if d := diff([]store.DecisionRow{b, a}, got); d != "" {
			t.Errorf("Decisions(i1) mismatch (-want +got):\n%s", d)
		}
		byNode, err := s.DecisionsByNode(ctxFor(t), "route", "", 2)
		if err != nil {
			t.Fatalf("DecisionsByNode = %v", err)
		}
		if d := diff([]store.DecisionRow{a, b}, byNode); d != "" {
			t.Errorf("DecisionsByNode(route) page 1 mismatch (-want +got):\n%s", d)
		}
		next, err := s.DecisionsByNode(ctxFor(t), "route", "b", 2)
		if err != nil || len(next) != 1 || next[0].ID != "c" {
			t.Errorf("DecisionsByNode(route, after b) = %v, %v", next, err)
		}
		if none, err := s.DecisionsByNode(ctxFor(t), "elsewhere", "", 0); err != nil || len(none) != 0 {
			t.Errorf("DecisionsByNode(elsewhere) = %v, %v", none, err)
		}
	})
	t.Run("TokensByDefinition", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		other := instance("i2", 1)
		other.DefinitionID = "claims"
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1)})
		mustCommit(t, s, store.Transition{Instance: other})
		for i, d := range []store.DecisionRow{
			{ID: "old", InstanceID: "i1", InputTokens: 1000, OutputTokens: 1, CreatedAt: at(-48 * time.Hour)},
			{ID: "a", InstanceID: "i1", InputTokens: 100, OutputTokens: 20, CreatedAt: at(time.Hour)},
			{ID: "b", InstanceID: "i1", InputTokens: 5, OutputTokens: 5, CreatedAt: at(2 * time.Hour)},
			{ID: "c", InstanceID: "i2", InputTokens: 7000, CreatedAt: at(time.Hour)},
		} {
			if err := s.InsertDecision(ctxFor(t), d); err != nil {
				t.Fatalf("InsertDecision %d = %v", i, err)
			}
		}
		for _, tc := range []struct {
			def   string
			since time.Time
			want  int64
		}{{"loan", at(0), 130}, {"loan", at(-72 * time.Hour), 1131}, {"claims", at(0), 7000}, {"none", at(0), 0}, {"loan", at(3 * time.Hour), 0}} {
			got, err := s.DecisionTokens(ctxFor(t), tc.def, tc.since)
			if err != nil || got != tc.want {
				t.Errorf("DecisionTokens(%s, %s) = %d, %v; want %d", tc.def, tc.since, got, err, tc.want)
			}
		}
	})
}

func testMessages(t *testing.T, newStore NewStore) {
	msg := func(id, key string, created, expires time.Duration) store.MessageRow {
		m := store.MessageRow{ID: id, Name: "paid", Key: key, Variables: []byte(`{"m":"` + id + `"}`), CreatedAt: at(created)}
		if expires != 0 {
			m.ExpiresAt = at(expires)
		}
		return m
	}
	buffer := func(t *testing.T, s store.Store, m store.MessageRow) bool {
		t.Helper()
		created, err := s.BufferMessage(ctxFor(t), m)
		if err != nil {
			t.Fatalf("BufferMessage(%s) = %v", m.ID, err)
		}
		return created
	}
	buffered := func(t *testing.T, s store.Store, key string, now time.Time) []store.MessageRow {
		t.Helper()
		got, err := s.BufferedMessages(ctxFor(t), "paid", key, now)
		if err != nil {
			t.Fatalf("BufferedMessages() = %v", err)
		}
		return got
	}

	t.Run("BufferAndExpire", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		m1, m2, m3, m4 := msg("m1", "o-1", time.Second, 0), msg("m2", "o-1", 0, time.Hour), msg("m3", "o-1", 2*time.Second, 3*time.Second), msg("m4", "o-2", 0, 0)
		for _, m := range []store.MessageRow{m1, m2, m3, m4} {
			if !buffer(t, s, m) {
				t.Errorf("BufferMessage(%s) created = false, want true", m.ID)
			}
		}
		dup := m1
		dup.Variables = []byte(`{"other":true}`)
		if buffer(t, s, dup) {
			t.Error("BufferMessage(same id) created = true, want false")
		}
		if d := diff([]store.MessageRow{m2, m1, m3}, buffered(t, s, "o-1", at(2*time.Second))); d != "" {
			t.Errorf("BufferedMessages(before expiry) mismatch (-want +got):\n%s", d)
		}
		if d := diff([]store.MessageRow{m2, m1}, buffered(t, s, "o-1", at(3*time.Second))); d != "" {
			t.Errorf("BufferedMessages(at m3's expiry) mismatch (-want +got):\n%s", d)
		}
		n, err := s.DeleteExpiredMessages(ctxFor(t), at(3*time.Second))
		if err != nil || n != 1 {
			t.Errorf("DeleteExpiredMessages() = %d, %v; want 1, nil", n, err)
		}
		n, err = s.DeleteExpiredMessages(ctxFor(t), at(3*time.Second))
		if err != nil || n != 0 {
			t.Errorf("DeleteExpiredMessages(again) = %d, %v; want 0, nil", n, err)
		}
		if d := diff([]store.MessageRow{m2, m1}, buffered(t, s, "o-1", t0)); d != "" {
			t.Errorf("BufferedMessages(after delete) mismatch (-want +got):\n%s", d)
		}
	})

	t.Run("ConsumeExactlyOnce", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		buffer(t, s, msg("m1", "o-1", 0, 0))
		buffer(t, s, msg("m2", "o-1", time.Second, 0))
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), ConsumeMessage: "m1"})
		if got := buffered(t, s, "o-1", t0); len(got) != 1 || got[0].ID != "m2" {
			t.Errorf("BufferedMessages() after consuming m1 = %+v, want [m2]", got)
		}
		err := s.Commit(ctxFor(t), store.Transition{Instance: instance("i2", 1), ConsumeMessage: "m1"})
		wantErr(t, "Commit(consume m1 again)", err, store.ErrConflict)
		if _, err := s.Instance(ctxFor(t), "i2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Instance(i2) = %v after its commit lost, want ErrNotFound", err)
		}
		if buffer(t, s, msg("m1", "o-1", 0, 0)) {
			t.Error("BufferMessage(consumed id) created = true, want false")
		}
		if got := buffered(t, s, "o-1", t0); len(got) != 1 {
			t.Errorf("BufferedMessages() = %+v, want only m2 (a consumed id stays consumed)", got)
		}

		// An id consumed before it was ever buffered is recorded too.
		mustCommit(t, s, store.Transition{Instance: instance("i3", 1), ConsumeMessage: "m9"})
		if buffer(t, s, msg("m9", "o-1", 0, 0)) {
			t.Error("BufferMessage(id consumed directly) created = true, want false")
		}
		err = s.Commit(ctxFor(t), store.Transition{Instance: instance("i3", 2), ConsumeMessage: "m9"})
		wantErr(t, "Commit(consume m9 again)", err, store.ErrConflict)
		// Consumed messages are not expired away.
		if n, err := s.DeleteExpiredMessages(ctxFor(t), at(1000*time.Hour)); err != nil || n != 0 {
			t.Errorf("DeleteExpiredMessages() = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("ConcurrentConsumersOneWins", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, id := range []string{"buffered", "direct"} {
			if id == "buffered" {
				buffer(t, s, msg(id, "o-1", 0, 0))
			}
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					errs[i] = s.Commit(ctxFor(t), store.Transition{Instance: instance(fmt.Sprintf("%s-%d", id, i), 1), ConsumeMessage: id})
				})
			}
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("consumer %d of %s: Commit() = %v, want nil or ErrConflict", i, id, err)
				}
			}
			if wins != 1 {
				t.Errorf("%d consumers of %s won, want exactly 1", wins, id)
			}
		}
	})
}
