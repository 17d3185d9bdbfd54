package rest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

const waitWorkflow = `{"id": "search-me", "name": "Search me", "version": 1,
  "nodes": [{"id": "s", "type": "startEvent"}, {"id": "t", "type": "userTask", "name": "Look"}, {"id": "e", "type": "endEvent"}],
  "edges": [{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}]}`

// TestInstanceSearch: the query parameters reach the store, the total
// counts every page, next resumes the same order, and a bad parameter is
// a 422 naming it.
func TestInstanceSearch(t *testing.T) {
	srv := batontest.MustStartServer(t)
	path := filepath.Join(t.TempDir(), "search-me.json")
	if err := os.WriteFile(path, []byte(waitWorkflow), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Deploy(t, path)
	for i := range 5 {
		var inst baton.Instance
		srv.MustDo(t, http.MethodPost, "/api/runtime/start", map[string]any{"definitionId": "search-me",
			"businessKey": fmt.Sprintf("ORD-%d", i), "variables": map[string]any{"amount": i * 1000, "customer": map[string]any{"id": fmt.Sprintf("C-%d", i%2)}}},
			&inst, http.StatusCreated)
	}
	list := func(query string) baton.InstanceList {
		t.Helper()
		var l baton.InstanceList
		srv.MustDo(t, http.MethodGet, "/api/runtime/instances?"+query, nil, &l, http.StatusOK)
		return l
	}
	got := func(l baton.InstanceList) string {
		var keys []string
		for _, in := range l.Instances {
			keys = append(keys, in.BusinessKey)
		}
		return strings.Join(keys, " ")
	}
	q := url.Values{"var": {"amount > 1000", `customer.id = "C-0"`}}
	if l := list(q.Encode()); got(l) != "ORD-4 ORD-2" || l.Total != 2 {
		t.Errorf("amount > 1000 and C-0 = %q (total %d), want ORD-4 ORD-2 newest first, total 2", got(l), l.Total)
	}
	if l := list("businessKeyPrefix=ORD-&order=asc&sort=businessKey&definitionId=search-me&definitionVersion=1"); got(l) != "ORD-0 ORD-1 ORD-2 ORD-3 ORD-4" {
		t.Errorf("by business key ascending = %q", got(l))
	}
	if l := list("incident=true"); l.Total != 0 {
		t.Errorf("incident=true: total %d, want 0", l.Total)
	}
	// Pages of two, newest first, resumed with next.
	var seen []string
	after := ""
	for range 4 {
		l := list("limit=2&after=" + url.QueryEscape(after))
		if l.Total != 5 {
			t.Errorf("total on a page = %d, want 5", l.Total)
		}
		seen = append(seen, strings.Fields(got(l))...)
		if after = l.Next; after == "" {
			break
		}
	}
	if strings.Join(seen, " ") != "ORD-4 ORD-3 ORD-2 ORD-1 ORD-0" {
		t.Errorf("pages = %v, want every instance newest first once", seen)
	}
	// Bad parameters are named.
	for query, loc := range map[string]string{
		"var=" + url.QueryEscape("amount >> 5"):       "query.var[0]",
		"var=" + url.QueryEscape(`customer.id = C-7`): "query.var[0]",
		"after=nonsense":      "query.after",
		"definitionVersion=2": "query.definitionVersion",
		"startedFrom=2026-01-02T00:00:00Z&startedBefore=2026-01-01T00:00:00Z": "query.startedBefore",
		"sort=state": "query.sort",
		"sort=status&after=" + url.QueryEscape(list("limit=1").Next): "query.after",
	} {
		resp, body := srv.Do(t, http.MethodGet, "/api/runtime/instances?"+query, nil)
		var p struct {
			Errors []struct{ Location string } `json:"errors"`
		}
		_ = json.Unmarshal(body, &p)
		if resp.StatusCode != http.StatusUnprocessableEntity || len(p.Errors) == 0 || p.Errors[0].Location != loc {
			t.Errorf("GET ?%s = %d %s, want 422 naming %s", query, resp.StatusCode, body, loc)
		}
	}
}
