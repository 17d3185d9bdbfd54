package model

import (
	"strings"
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30d": 30 * 24 * time.Hour, " 7d ": 7 * 24 * time.Hour, "0.5d": 12 * time.Hour,
		"12h": 12 * time.Hour, "1h30m": 90 * time.Minute, "P30D": 30 * 24 * time.Hour, "PT12H": 12 * time.Hour,
	} {
		if got, err := ParseRetention(in); err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-1h", "0s", "soon", "d", "30 days", "P", "-P1D", "1e9d"} {
		if got, err := ParseRetention(in); err == nil {
			t.Errorf("ParseRetention(%q) = %v, want an error", in, got)
		}
	}
}

func TestDefinitionRetention(t *testing.T) {
	src := `{"id":"keep","retention":"7d","nodes":[{"id":"s","type":"startEvent"},{"id":"e","type":"endEvent"}],
		"edges":[{"id":"f","source":"s","target":"e"}]}`
	d, err := ParseJSON("keep.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.RetentionPeriod(); got != 7*24*time.Hour {
		t.Errorf("RetentionPeriod = %v, want 168h", got)
	}
	bad := strings.Replace(src, `"7d"`, `"a week"`, 1)
	_, err = ParseJSON("keep.json", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "retention") || !strings.Contains(err.Error(), "a week") {
		t.Errorf("ParseJSON(retention a week) = %v, want an error naming retention", err)
	}
}
