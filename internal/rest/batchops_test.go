package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
)

// TestBatchModifyOverHTTP: a modify batch chosen by the instance search's
// filters (prefix and a variable condition) moves review to work for
// the chosen instances; the stored request shows the filter and the
// instructions; bad filters and instructions are 422s that name them.
func TestBatchModifyOverHTTP(t *testing.T) {
	srv := opsServer(t)
	var ids []string
	for i, key := range []string{"m-1", "m-2", "x-1"} {
		var inst baton.Instance
		srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "ops", BusinessKey: key,
			Variables: map[string]any{"amount": 10 * (i + 1)}}, &inst, http.StatusCreated)
		ids = append(ids, inst.InstanceID)
	}
	var b baton.Batch
	srv.MustDo(t, http.MethodPost, "/api/runtime/batches", baton.BatchRequest{Kind: "modify",
		Filter:       &baton.InstanceSelector{BusinessKeyPrefix: "m-", Vars: []string{"amount >= 20"}},
		Instructions: []baton.ModifyInstruction{{Op: "cancel", Node: "review"}, {Op: "activate", Node: "work"}}}, &b, http.StatusAccepted)
	if b.Total != 1 || b.Request.Filter == nil || b.Request.Filter.BusinessKeyPrefix != "m-" || len(b.Request.Instructions) != 2 {
		t.Fatalf("batch = %+v", b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.State != baton.BatchDone && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		srv.MustDo(t, http.MethodGet, "/api/runtime/batches/"+b.ID, nil, &b, http.StatusOK)
	}
	if b.State != baton.BatchDone || b.Done != 1 || len(b.Items) != 1 || b.Items[0].InstanceID != ids[1] {
		t.Fatalf("batch = %+v", b)
	}
	for deadline := time.Now().Add(10 * time.Second); srv.Instance(t, ids[1]).Status != baton.StatusCompleted && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if st := srv.Instance(t, ids[1]).Status; st != baton.StatusCompleted {
		t.Errorf("moved instance is %s, want COMPLETED", st)
	}
	for _, id := range []string{ids[0], ids[2]} {
		if inst := srv.Instance(t, id); inst.Status != baton.StatusWaiting {
			t.Errorf("instance %s not chosen is %s", id, inst.Status)
		}
	}
	for _, c := range []struct {
		req  baton.BatchRequest
		want string
	}{
		{baton.BatchRequest{Kind: "cancel", Filter: &baton.InstanceSelector{Vars: []string{"amount >"}}}, "filter.vars[0]"},
		{baton.BatchRequest{Kind: "modify", InstanceIDs: ids}, "needs instructions"},
		{baton.BatchRequest{Kind: "modify", InstanceIDs: ids, Instructions: []baton.ModifyInstruction{{Op: "cancel", Token: 3}}}, "instructions[0]"},
	} {
		resp, data := srv.Do(t, http.MethodPost, "/api/runtime/batches", c.req)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(data), c.want) {
			t.Errorf("batch %+v: %d %s, want 422 naming %s", c.req, resp.StatusCode, data, c.want)
		}
	}
}
