package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// exampleFiles lists every workflow in examples/ (JSON and BPMN; the
// variables in examples/vars/ are not workflows).
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.json", "*.bpmn"} {
		m, err := filepath.Glob(filepath.Join(examples, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 4 {
		t.Fatalf("found only %d examples: %v", len(files), files)
	}
	return files
}

// exampleVars returns the --vars argument for an example: the file
// examples/vars/NAME.json, when there is one.
func exampleVars(file string) []string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	vars := filepath.Join(examples, "vars", base+".json")
	if _, err := os.Stat(vars); err != nil {
		return nil
	}
	return []string{"--vars", vars}
}

// TestExamples validates every example and simulates it to completion.
func TestExamples(t *testing.T) {
	for _, file := range exampleFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			r := runBaton(t, "", "validate", file).mustCode(t, ExitOK)
			if !strings.Contains(r.stdout, ": ok (") {
				t.Errorf("validate: %s", r.stdout)
			}
			if strings.Contains(r.stdout, "warning") {
				t.Errorf("example has warnings:\n%s", r.stdout)
			}
			args := append([]string{"run", file, "--simulate", "--json"}, exampleVars(file)...)
			o := runBaton(t, "", args...).mustCode(t, ExitOK).json(t)
			if o.Outcome != "completed" {
				t.Errorf("simulation outcome %q, want completed (error %+v, waiting at %v)", o.Outcome, o.Error, o.WaitingAt)
			}
			// And the README mentions it.
			readme, err := os.ReadFile(filepath.Join(examples, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(readme), filepath.Base(file)) {
				t.Errorf("examples/README.md does not list %s", filepath.Base(file))
			}
		})
	}
}

// TestLoanApprovalTwins checks that the BPMN file and the workflow JSON
// describe the same workflow (BPMN has no version attribute).
func TestLoanApprovalTwins(t *testing.T) {
	m := &Main{Stdin: strings.NewReader("")}
	fromJSON, err := m.loadDefinition(examples+"/loan-approval.json", "")
	if err != nil {
		t.Fatal(err)
	}
	fromXML, err := m.loadDefinition(examples+"/loan-approval.bpmn", "")
	if err != nil {
		t.Fatal(err)
	}
	fromJSON.Version = 0
	// Distinct ids and names, so that deploying both gives two definitions.
	if fromXML.ID != "loan-approval-bpmn" || fromJSON.ID != "loan-approval" {
		t.Errorf("ids %q (JSON) and %q (BPMN), want loan-approval and loan-approval-bpmn", fromJSON.ID, fromXML.ID)
	}
	fromXML.ID, fromXML.Name = fromJSON.ID, fromJSON.Name
	var a, b any
	for _, x := range []struct {
		v   any
		out *any
	}{{fromJSON, &a}, {fromXML, &b}} {
		data, err := json.Marshal(x.v)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, x.out); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(a, b) {
		ja, _ := json.MarshalIndent(a, "", "  ")
		jb, _ := json.MarshalIndent(b, "", "  ")
		t.Errorf("loan-approval.bpmn differs from loan-approval.json\nJSON:\n%s\nBPMN:\n%s", ja, jb)
	}
}
