package model

import (
	"errors"
	"strings"
	"testing"
)

func TestBrokerEndsValidate(t *testing.T) {
	src := `{"broker": "rmq", "destination": "orders.paid"}`
	catch := func(event string) string {
		return wfTask(`{"id": "t", "type": "intermediateCatchEvent", "event": ` + event + `}`)
	}
	throw := func(event string) string {
		return wfTask(`{"id": "t", "type": "intermediateThrowEvent", "event": ` + event + `}`)
	}
	good := map[string]string{
		"catch":        catch(`{"kind": "message", "name": "paid", "source": {"broker": "rmq", "destination": "orders.paid", "correlationKey": "=body.orderId", "variables": "=body", "messageId": "=headers.id"}}`),
		"receive task": wfTask(`{"id": "t", "type": "receiveTask", "event": {"source": ` + src + `}}`),
		"send task":    wfTask(`{"id": "t", "type": "sendTask", "event": {"kind": "message", "name": "shipped", "sink": {"broker": "rmq", "destination": "x/orders.shipped", "body": "={id: orderId}"}}}`),
		"throw":        throw(`{"kind": "message", "name": "m", "sink": ` + src + `}`),
		"start":        wfDoc(`{"id": "s", "type": "startEvent", "event": {"kind": "message", "name": "m", "source": `+src+`}}, {"id": "e", "type": "endEvent"}`, wfFlowSE),
	}
	for name, doc := range good {
		d, err := ParseJSON(name+".json", []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "catch" {
			eps := d.BrokerSources()
			if len(eps) != 1 || eps[0].Node.ID != "t" || eps[0].Node.Expr("source:messageId") == nil {
				t.Errorf("BrokerSources() = %+v, want node t with a compiled messageId", eps)
			}
		}
	}
	bad := []struct {
		name, doc string
		w         want
	}{
		{"source on a throw", throw(`{"kind": "message", "name": "m", "source": ` + src + `}`), want{node: "t", field: "event.source", msg: "only a message catch"}},
		{"sink on a catch", catch(`{"kind": "message", "name": "m", "sink": ` + src + `}`), want{node: "t", field: "event.sink", msg: "only a message throw event"}},
		{"source on a signal catch", catch(`{"kind": "signal", "name": "m", "source": ` + src + `}`), want{node: "t", field: "event.source", msg: "signal intermediateCatchEvent"}},
		{"no broker", catch(`{"kind": "message", "name": "m", "source": {"destination": "q"}}`), want{node: "t", field: "event.source.broker", msg: "no broker named"}},
		{"bad broker name", catch(`{"kind": "message", "name": "m", "source": {"broker": "a b", "destination": "q"}}`), want{node: "t", field: "event.source.broker", msg: "not a broker name"}},
		{"no destination", catch(`{"kind": "message", "name": "m", "source": {"broker": "rmq", "destination": " "}}`), want{node: "t", field: "event.source.destination", msg: "no destination"}},
		{"space in destination", throw(`{"kind": "message", "name": "m", "sink": {"broker": "rmq", "destination": "a b"}}`), want{node: "t", field: "event.sink.destination", msg: "space or control"}},
		{"literal messageId", catch(`{"kind": "message", "name": "m", "source": {"broker": "rmq", "destination": "q", "messageId": "id"}}`), want{node: "t", field: "event.source.messageId", msg: "not an expression"}},
		{"bad variables", catch(`{"kind": "message", "name": "m", "source": {"broker": "rmq", "destination": "q", "variables": "=body.("}}`), want{node: "t", field: "event.source.variables"}},
		{"sink and taskType", wfTask(`{"id": "t", "type": "sendTask", "taskType": "mail", "event": {"sink": ` + src + `}}`), want{node: "t", field: "event.sink", msg: "not both"}},
		{"sink and notify", wfTask(`{"id": "t", "type": "sendTask", "notify": {"channel": "email", "to": "a@b"}, "event": {"sink": ` + src + `}}`), want{node: "t", field: "event.sink", msg: "not both"}},
		{"literal body", throw(`{"kind": "message", "name": "m", "sink": {"broker": "rmq", "destination": "q", "body": "x"}}`), want{node: "t", field: "event.sink.body", msg: "not an expression"}},
		{"unknown field", catch(`{"kind": "message", "name": "m", "source": {"broker": "rmq", "destination": "q", "queue": "q"}}`), want{msg: "queue"}},
	}
	for _, tc := range bad {
		_, err := ParseJSON("bad.json", []byte(tc.doc))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			if err == nil || !strings.Contains(err.Error(), tc.w.msg) {
				t.Errorf("%s: err = %v, want a problem %v", tc.name, err, tc.w)
			}
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
