package bpmn

import (
	"strings"
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	src := strings.Replace(doc(straight), `isExecutable="true"`, `isExecutable="true" baton:retention="7d"`, 1)
	defs, err := Parse("p.bpmn", []byte(src))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if got := defs[0].RetentionPeriod(); got != 7*24*time.Hour {
		t.Errorf("RetentionPeriod = %v, want 168h", got)
	}
	out, err := Export(defs[0])
	if err != nil {
		t.Fatalf("Export() = %v", err)
	}
	again, err := Parse("again.bpmn", out)
	if err != nil || again[0].Retention != "7d" {
		t.Errorf("after export: Retention = %q, %v; want 7d\n%s", again[0].Retention, err, out)
	}
	bad := strings.Replace(src, `"7d"`, `"forever"`, 1)
	if _, err := Parse("p.bpmn", []byte(bad)); err == nil || !strings.Contains(err.Error(), `retention "forever"`) {
		t.Errorf("Parse(retention=forever) = %v, want an error naming the retention", err)
	}
}
