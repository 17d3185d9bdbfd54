package model

import (
	"errors"
	"testing"
)

func TestWebhookValidate(t *testing.T) {
	auth := `"auth": {"kind": "hmac", "secret": "gh"}`
	catch := func(hook string) string {
		return wfTask(`{"id": "t", "type": "intermediateCatchEvent", "event": {"kind": "message", "name": "paid", "webhook": ` + hook + `}}`)
	}
	start := func(hook string) string {
		return wfDoc(`{"id": "s", "type": "startEvent", "event": {"kind": "message", "name": "m", "webhook": `+hook+`}}, {"id": "e", "type": "endEvent"}`, wfFlowSE)
	}
	good := map[string]string{
		"catch":        catch(`{"path": "orders/paid", ` + auth + `, "correlationKey": "=body.orderId", "variables": "=body", "messageId": "=get value(headers, \"x-id\")", "timeToLive": "PT10M"}`),
		"literal key":  catch(`{"path": "p", ` + auth + `, "correlationKey": "A-1"}`),
		"receive task": wfTask(`{"id": "t", "type": "receiveTask", "event": {"webhook": {"path": "r", "auth": {"kind": "token", "secret": "t", "prefix": "Bearer "}}}}`),
		"start":        start(`{"path": "s", "auth": {"kind": "hmac", "secret": "gh", "algorithm": "sha1", "encoding": "base64", "timestampHeader": "X-Ts", "tolerance": "PT30S"}, "businessKey": "=body.id"}`),
	}
	for name, doc := range good {
		d, err := ParseJSON(name+".json", []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "catch" {
			eps := d.Webhooks()
			if len(eps) != 1 || eps[0].Node.ID != "t" || eps[0].Node.Expr("webhook:messageId") == nil || eps[0].Node.IsWebhookStart() {
				t.Errorf("Webhooks() = %+v, want catch node t with a compiled messageId", eps)
			}
			if h := eps[0].Webhook.Auth.HeaderName(); h != "X-Signature-256" {
				t.Errorf("default hmac header = %q", h)
			}
		}
		if name == "start" && !d.Node("s").IsWebhookStart() {
			t.Errorf("start: the start event's webhook does not start instances")
		}
	}
	bad := []struct {
		name, doc string
		w         want
	}{
		{"on a throw", wfTask(`{"id": "t", "type": "intermediateThrowEvent", "event": {"kind": "message", "name": "m", "webhook": {"path": "p", ` + auth + `}}}`), want{node: "t", field: "event.webhook", msg: "only a message catch"}},
		{"no path", catch(`{` + auth + `}`), want{node: "t", field: "event.webhook.path", msg: "no path"}},
		{"bad path", catch(`{"path": "/a//b", ` + auth + `}`), want{node: "t", field: "event.webhook.path", msg: "not a webhook path"}},
		{"no auth", catch(`{"path": "p"}`), want{node: "t", field: "event.webhook.auth.kind", msg: "no kind"}},
		{"open kind", catch(`{"path": "p", "auth": {"kind": "none", "secret": "x"}}`), want{node: "t", field: "event.webhook.auth.kind", msg: "not a webhook auth kind"}},
		{"no secret", catch(`{"path": "p", "auth": {"kind": "token"}}`), want{node: "t", field: "event.webhook.auth.secret", msg: "no secret named"}},
		{"bad algorithm", catch(`{"path": "p", "auth": {"kind": "hmac", "secret": "s", "algorithm": "md5"}}`), want{node: "t", field: "event.webhook.auth.algorithm", msg: "md5"}},
		{"tolerance alone", catch(`{"path": "p", "auth": {"kind": "hmac", "secret": "s", "tolerance": "PT1M"}}`), want{node: "t", field: "event.webhook.auth.tolerance", msg: "needs a timestampHeader"}},
		{"token with algorithm", catch(`{"path": "p", "auth": {"kind": "token", "secret": "s", "algorithm": "sha1"}}`), want{node: "t", field: "event.webhook.auth", msg: "for kind"}},
		{"bad header", catch(`{"path": "p", "auth": {"kind": "token", "secret": "s", "header": "a b"}}`), want{node: "t", field: "event.webhook.auth.header", msg: "not an HTTP header"}},
		{"literal messageId", catch(`{"path": "p", ` + auth + `, "messageId": "x"}`), want{node: "t", field: "event.webhook.messageId", msg: "not an expression"}},
		{"bad variables", catch(`{"path": "p", ` + auth + `, "variables": "=body.("}`), want{node: "t", field: "event.webhook.variables"}},
		{"key on a start", start(`{"path": "p", ` + auth + `, "correlationKey": "=body.k"}`), want{node: "s", field: "event.webhook.correlationKey", msg: "no correlation key"}},
		{"ttl on a start", start(`{"path": "p", ` + auth + `, "timeToLive": "PT1H"}`), want{node: "s", field: "event.webhook.timeToLive", msg: "nothing is kept"}},
		{"bad ttl", catch(`{"path": "p", ` + auth + `, "timeToLive": "1h"}`), want{node: "t", field: "event.webhook.timeToLive", msg: "not a positive ISO 8601 duration"}},
		{"business key on a catch", catch(`{"path": "p", ` + auth + `, "businessKey": "=body.k"}`), want{node: "t", field: "event.webhook.businessKey", msg: "only a start event"}},
		{"same path twice", wfDoc(`{"id": "s", "type": "startEvent", "event": {"kind": "message", "name": "m", "webhook": {"path": "p", `+auth+`}}}, {"id": "t", "type": "receiveTask", "event": {"webhook": {"path": "p", `+auth+`}}}, {"id": "e", "type": "endEvent"}`, seq("s", "t", "e")),
			want{node: "t", field: "event.webhook.path", msg: `already the webhook of node "s"`}},
	}
	for _, tc := range bad {
		_, err := ParseJSON("bad.json", []byte(tc.doc))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: err = %v, want a problem %v", tc.name, err, tc.w)
			continue
		}
		found := false
		for _, p := range ve.Problems {
			found = found || tc.w.matches(p)
		}
		if !found {
			t.Errorf("%s: problems %+v, want %v", tc.name, ve.Problems, tc.w)
		}
	}
}
