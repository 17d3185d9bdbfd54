package form

import (
	"encoding/json"
	"testing"
)

func TestJSONSchema(t *testing.T) {
	f, err := Parse([]byte(`{"type":"default","components":[
	 {"type":"checkbox","key":"approved","label":"Approved","validate":{"required":true}},
	 {"type":"number","key":"amount","validate":{"min":0,"max":500}},
	 {"type":"select","key":"reason","values":[{"label":"Damaged","value":"damaged"},{"label":"Late","value":"late"}]},
	 {"type":"textfield","key":"customer.email","validate":{"validationType":"email","maxLength":80}},
	 {"type":"textfield","key":"locked","readonly":true},
	 {"type":"text","text":"# Heading"},
	 {"type":"group","path":"address","components":[{"type":"textfield","key":"city","validate":{"required":true}}]},
	 {"type":"dynamiclist","path":"items","components":[{"type":"textfield","key":"sku"}]},
	 {"type":"checklist","key":"tags","values":[{"label":"A","value":"a"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(f.JSONSchema())
	want := `{"properties":{"address":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"},` +
		`"amount":{"maximum":500,"minimum":0,"type":"number"},"approved":{"title":"Approved","type":"boolean"},` +
		`"customer":{"properties":{"email":{"format":"email","maxLength":80,"type":"string"}},"type":"object"},` +
		`"items":{"items":{"properties":{"sku":{"type":"string"}},"type":"object"},"type":"array"},` +
		`"reason":{"enum":["damaged","late"]},"tags":{"items":{"enum":["a"]},"type":"array"}},"required":["approved"],"type":"object"}`
	if string(b) != want {
		t.Errorf("JSONSchema() =\n%s\nwant\n%s", b, want)
	}
}
