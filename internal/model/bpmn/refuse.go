package bpmn

import (
	"strconv"
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// notExecuted says why a flow node, as written, is not something Baton
// executes, or "". The element itself is fine; one of its attributes asks
// for behaviour the engine does not have.
func notExecuted(e *element, t model.NodeType) string {
	switch {
	case quantity(e.attr("startQuantity")) > 1:
		return "startQuantity above 1 is not supported (Baton starts an activity on every token)"
	case quantity(e.attr("completionQuantity")) > 1:
		return "completionQuantity above 1 is not supported (Baton leaves an activity with one token)"
	case (t == model.ReceiveTask || t == model.EventBasedGateway) && xmlBool(e.attr("instantiate"), false):
		return `instantiate="true" is not supported (start the process with a message start event)`
	case t == model.EventBasedGateway && strings.EqualFold(strings.TrimSpace(e.attr("eventGatewayType")), "Parallel"):
		return `parallel event-based gateways (eventGatewayType="Parallel") are not supported`
	}
	return ""
}

// quantity reads startQuantity or completionQuantity (default 1).
func quantity(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 1
	}
	return n
}
