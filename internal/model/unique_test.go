package model

import (
	"strings"
	"testing"
)

func TestParseJSONUniqueBusinessKey(t *testing.T) {
	const wf = `{"id": "order", %s "nodes": [{"id": "s", "type": "startEvent"}, {"id": "e", "type": "endEvent"}],
		"edges": [{"id": "f", "source": "s", "target": "e"}]}`
	for _, c := range []struct {
		field string
		want  bool
	}{{"", false}, {`"uniqueBusinessKey": true,`, true}, {`"uniqueBusinessKey": false,`, false}} {
		d, err := ParseJSON("order.json", []byte(strings.Replace(wf, "%s", c.field, 1)))
		if err != nil {
			t.Fatalf("ParseJSON(%s) = %v", c.field, err)
		}
		if d.UniqueBusinessKey != c.want || d.Unbuilt().UniqueBusinessKey != c.want {
			t.Errorf("ParseJSON(%s).UniqueBusinessKey = %v (copy %v), want %v", c.field, d.UniqueBusinessKey, d.Unbuilt().UniqueBusinessKey, c.want)
		}
	}
	_, err := ParseJSON("order.json", []byte(strings.Replace(wf, "%s", `"uniqueBusinessKey": "yes",`, 1)))
	if err == nil || !strings.Contains(err.Error(), "uniqueBusinessKey") {
		t.Errorf("ParseJSON(uniqueBusinessKey: \"yes\") = %v, want an error naming the field", err)
	}
}
