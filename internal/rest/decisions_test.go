package rest_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/batonhq/baton/internal/batontest"
)

func TestDecisionDeployAndEvaluate(t *testing.T) {
	srv := batontest.MustStartServer(t)
	src, err := os.ReadFile("../dmn/testdata/dinner.dmn")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := srv.Do(t, http.MethodPost, "/api/definitions", src, "Content-Type", "application/xml")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploy DMN = %d %s", resp.StatusCode, body)
	}
	var out struct {
		Matched []int          `json:"matchedRules"`
		Result  map[string]any `json:"result"`
	}
	srv.MustDo(t, http.MethodPost, "/api/decisions/dish/evaluate",
		map[string]any{"variables": map[string]any{"season": "Autumn", "guestCount": 4}}, &out, http.StatusOK)
	if out.Result["dish"] != "Pumpkin risotto" || len(out.Matched) != 1 {
		b, _ := json.Marshal(out)
		t.Fatalf("evaluate = %s", b)
	}
	resp, body = srv.Do(t, http.MethodPost, "/api/decisions/nope/evaluate", map[string]any{"variables": map[string]any{}})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown decision = %d %s", resp.StatusCode, body)
	}
	resp, body = srv.Do(t, http.MethodPost, "/api/decisions/dish/evaluate", map[string]any{"variables": map[string]any{"season": "Autumn"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("missing input = %d %s", resp.StatusCode, body)
	}
}
