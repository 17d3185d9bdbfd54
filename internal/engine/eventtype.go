package engine

// EventType names an event the runner publishes after a transition commits
// (to the live event stream, metrics and notifications). The values are
// shown by the API and named in notification subscriptions, so they never
// change. This is their only home: the engine emits some as effects
// (EffEvent), the runner derives the rest.
type EventType string

// The events. Instance events are not effects: the runner derives them
// from the status change so the hot path carries no effect for them.
const (
	EventInstanceStarted   EventType = "instance.started"
	EventInstanceCompleted EventType = "instance.completed"
	EventInstanceCancelled EventType = "instance.cancelled"
	EventInstanceUpdated   EventType = "instance.updated" // after every committed transition
	EventTaskCreated       EventType = "task.created"
	EventTaskAssigned      EventType = "task.assigned" // an effect of the engine
	EventTaskClaimed       EventType = "task.claimed"
	EventTaskUnclaimed     EventType = "task.unclaimed"
	EventTaskDelegated     EventType = "task.delegated"
	EventTaskOverdue       EventType = "task.overdue"
	EventIncidentOpened    EventType = "incident.opened" // an effect of the engine
	// EventSend is the event of a send task's message (notifications only).
	EventSend EventType = "send"
)

// LifecycleEvents lists the events that notification subscriptions may
// name: the runner renders their notifications in the transition's
// outbox.
var LifecycleEvents = []EventType{
	EventInstanceStarted, EventTaskAssigned, EventTaskOverdue, EventInstanceCompleted, EventInstanceCancelled,
	EventIncidentOpened,
}
