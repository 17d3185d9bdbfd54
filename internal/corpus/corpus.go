// Package corpus reads the manifest of the shared BPMN conformance corpus
// (../shared/corpus beside the module, see its README.md). The BPMN
// importer's corpus test and the conformance suite both read it through
// this one type, so that a field the manifest gains is read once.
package corpus

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Manifest is manifest.json.
type Manifest struct {
	Models []Entry `json:"models"`
}

// Entry is one model of the corpus.
type Entry struct {
	ID   string `json:"id"`
	File string `json:"file"` // relative to the corpus directory
	// Kind is "executable", "import-only" or "invalid".
	Kind       string      `json:"kind"`
	Conditions []Condition `json:"conditions"`
	Scenarios  []Scenario  `json:"scenarios"`
	// Import holds the reference parser's counts of an executable model.
	Import *Import `json:"import"`
	// Expected holds them for an import-only model, and the reason of an
	// invalid one.
	Expected Expected `json:"expected"`
}

// Import is what the reference parser found in an executable model.
type Import struct {
	Processes []Process `json:"processes"`
}

// Expected is what the reference parser found in an import-only model,
// or why an invalid one is refused.
type Expected struct {
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason"`
	Processes []Process `json:"processes"`
}

// Process holds the reference parser's counts of one process.
type Process struct {
	ID            string         `json:"id"`
	IsExecutable  bool           `json:"isExecutable"`
	FlowElements  map[string]int `json:"flowElements"`
	SequenceFlows int            `json:"sequenceFlows"`
}

// Condition is the portable form of a sequence flow's condition.
type Condition struct {
	Flow     string `json:"flow"`
	Portable string `json:"portable"`
}

// Scenario is one run of an executable model and its expected outcome.
type Scenario struct {
	Name          string         `json:"name"`
	Input         map[string]any `json:"input"`
	DeliverEvents bool           `json:"deliverWaitingEvents"`
	PeerSpecific  string         `json:"peerSpecific"`
	Expected      Outcome        `json:"expected"`
}

// Outcome is what a scenario should end with.
type Outcome struct {
	Outcome           string           `json:"outcome"`
	Order             string           `json:"order"` // "sequence": Completed in order; else CompletedMultiset
	Completed         []Element        `json:"completed"`
	CompletedMultiset map[string]Count `json:"completedMultiset"`
	WaitingAt         []Element        `json:"waitingAt"`
	FinalVariables    map[string]any   `json:"finalVariables"`
}

// Element is a flow element by id and BPMN type.
type Element struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Count is how often an element of a type completes.
type Count struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
}

// Processes returns the reference parser's counts, which the manifest
// keeps under "import" (executable) or "expected" (import-only).
func (e *Entry) Processes() []Process {
	if e.Import != nil {
		return e.Import.Processes
	}
	return e.Expected.Processes
}

// Dir is the corpus directory: ../shared/corpus beside the module root.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
}

// Load reads the manifest in Dir. Without a corpus (a fresh clone without
// ../shared) the error wraps os.ErrNotExist, and tests skip.
func Load() (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(Dir(), "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(Dir(), "manifest.json"), err)
	}
	return &m, nil
}

// Path is the file of an entry.
func (e *Entry) Path() string { return filepath.Join(Dir(), e.File) }
