package model

import "testing"

func TestDetectFormat(t *testing.T) {
	for _, c := range []struct {
		src  string
		want Format
	}{
		{`{"id": "w", "nodes": []}`, FormatJSON},
		{"\xef\xbb\xbf  <definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\"/>", FormatBPMN},
		{`<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"/>`, FormatDMN},
		{`{"id": "routing", "rules": []}`, FormatDMN},
		{`{"id": "w", "nodes": [], "rules": []}`, FormatJSON}, // a workflow may carry anything else
		{`{"id": "t", "rules": null}`, FormatJSON},
		{`{"type": "default", "id": "f", "components": []}`, FormatForm},
		{`{"type": "default", "components": {}}`, FormatJSON},
		{``, FormatJSON},
		{`not json`, FormatJSON},
	} {
		if got := DetectFormat([]byte(c.src)); got != c.want {
			t.Errorf("DetectFormat(%q) = %s, want %s", c.src, got, c.want)
		}
	}
	if !FormatBPMN.Workflow() || FormatForm.Workflow() || FormatDMN.Noun() != "decision table" {
		t.Errorf("Workflow/Noun disagree with the formats")
	}
}
