package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/batonhq/baton"
)

// TestServeDeployEveryFormat: serve --deploy DIR deploys a workflow, a DMN
// file, a JSON decision table and a form from one directory, each under
// its format, and a restart deploys none of them again.
func TestServeDeployEveryFormat(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(from, to string) {
		src, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), src, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("../../examples/loan-approval.json", "loan-approval.json")
	copyFile("../../internal/dmn/testdata/dinner.dmn", "dinner.dmn")
	copyFile("../../internal/dmn/testdata/routing.json", "routing.json")
	form := `{"type": "default", "id": "review-form", "components": [{"type": "checkbox", "key": "ok", "label": "OK?"}]}`
	if err := os.WriteFile(filepath.Join(dir, "review.form"), []byte(form), 0o600); err != nil {
		t.Fatal(err)
	}

	db := filepath.Join(t.TempDir(), "baton.db")
	want := map[string]string{"loan-approval": "json", "dish": "dmn", "routing": "dmn", "review-form": "form"}
	for range 2 {
		srv := startServe(t, "--db", db, "--deploy", dir)
		resp, err := srv.get("/api/definitions", "dev-clerk")
		if err != nil {
			t.Fatal(err)
		}
		var list baton.DefinitionList
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, d := range list.Definitions {
			if d.Version != 1 {
				t.Errorf("%s has version %d after a restart, want 1", d.ID, d.Version)
			}
			got[d.ID] = d.Format
		}
		for id, format := range want {
			if got[id] != format {
				t.Errorf("definition %s: format %q, want %q (deployed: %v)", id, got[id], format, got)
			}
		}
		srv.stop(t)
	}
}
