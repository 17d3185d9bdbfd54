package runner

import (
	"strings"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
)

// Job kinds the runner itself knows.
const (
	KindTimer = "timer"
	// KindSLA watches a user task's due date.
	KindSLA = "sla"
	// KindExternal prefixes the kind of jobs no in-process handler serves
	// ("external:TYPE", TYPE being the task type): external workers fetch
	// and complete them over the API, by type.
	KindExternal = "external"
	// KindBroker publishes the message of a send task or message throw
	// event with a broker sink (model.BrokerSink).
	KindBroker = "broker"
)

// jobKind decides who runs a job: an in-process handler registered for
// its kind or task type, or an external worker.
func (r *Runner) jobKind(e engine.Effect, n *model.Node) string {
	kind := e.Type
	if n != nil && n.Event != nil && n.Event.Sink != nil {
		return KindBroker
	}
	if kind == engine.JobCall {
		return KindCall // the runner starts the called process itself (calls.go)
	}
	if n != nil && (n.HTTP != nil || n.Notify != nil) {
		return kind
	}
	if n != nil && n.Type == model.BusinessRuleTask && n.DecisionRef == "" && n.TaskType != "" && r.handlerFor(kind, n.TaskType) == nil {
		return ExternalKind(n.TaskType)
	}
	if n != nil && n.Type == model.SendTask {
		// A send task without a notify block is work for whoever handles
		// its task type.
		if e.TaskType != "" && r.registered(kind+":"+e.TaskType) {
			return kind
		}
		return ExternalKind(e.TaskType)
	}
	// A service task without an http block runs in-process only when a
	// handler is registered for its task type ("service:TYPE"); the
	// generic "service" handler calls HTTP endpoints.
	if kind == engine.JobService {
		if e.TaskType != "" && r.handlerFor(kind+":"+e.TaskType, "") != nil {
			return kind
		}
		return ExternalKind(e.TaskType)
	}
	if r.handlerFor(kind, e.TaskType) != nil {
		return kind
	}
	return ExternalKind(e.TaskType)
}

// ExternalKind is the job kind of external work of a task type.
func ExternalKind(taskType string) string { return KindExternal + ":" + taskType }

// IsExternal reports whether a job kind is served by external workers.
func IsExternal(kind string) bool {
	return kind == KindExternal || strings.HasPrefix(kind, KindExternal+":")
}
