package runner

import (
	"errors"
	"fmt"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// Outcomes a handler steers with a typed error, as river's handlers do
// with JobSnoozeError and JobCancelError.

// BPMNError ends a job with a BPMN error code.
type BPMNError struct {
	Code    string
	Message string
}

func (e *BPMNError) Error() string { return fmt.Sprintf("BPMN error %s: %s", e.Code, e.Message) }

// PermanentError marks a failure that retrying cannot fix: the job is
// dead-lettered at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// TakeFlow ends a gateway decision job (kind engine.JobLLMDecision) with
// the decision: it is an outcome, not a failure. Any other job that
// returns it fails permanently.
type TakeFlow struct {
	// Flow is the chosen outgoing flow; "" lets the gateway fall back to
	// its conditions, then its default flow, then a person.
	Flow string
	// Review asks a person to confirm the choice before the token moves
	// (the model was not confident enough).
	Review bool
	// Details (reason, confidence, why it fell back) are recorded with
	// the decision in the history, not merged into the variables.
	Details map[string]any
}

func (e *TakeFlow) Error() string {
	if e.Review {
		return fmt.Sprintf("take flow %q after review", e.Flow)
	}
	return fmt.Sprintf("take flow %q", e.Flow)
}

// outcome is what a handler's return means for its job: a command to
// apply to the instance, or a failure to retry or dead-letter, or
// neither (a job nothing waits for is just closed).
type outcome struct {
	cmd    *engine.Command
	failed error
	// note is kept as the closed job's last error.
	note string
}

// outcomeOf decides a job's outcome from its handler's return. It writes
// nothing, so the job loop and the inline run of pure handlers share it.
func outcomeOf(j store.JobRow, out map[string]any, err error, actor string) outcome {
	var be *BPMNError
	var tf *TakeFlow
	switch {
	case errors.As(err, &be):
		return outcome{cmd: &engine.Command{Kind: engine.CmdThrowError, Ref: j.ID, ErrorCode: be.Code, ErrorMessage: be.Message, Actor: actor},
			note: be.Error()}
	case errors.As(err, &tf):
		if j.Kind != engine.JobLLMDecision {
			return outcome{failed: Permanent(fmt.Errorf("the handler of job kind %q chose a flow; only gateway decisions (%q) can", j.Kind, engine.JobLLMDecision))}
		}
		cmd := &engine.Command{Kind: engine.CmdCompleteJob, Ref: j.ID, Target: tf.Flow, Variables: tf.Details, Actor: actor}
		if tf.Review {
			cmd.Name = engine.DecisionReview
		}
		return outcome{cmd: cmd}
	case err != nil:
		return outcome{failed: err}
	case j.Kind == engine.JobLLMShadow:
		// Nothing waits for a shadow decision: the handler recorded it.
		return outcome{}
	}
	return outcome{cmd: &engine.Command{Kind: engine.CmdCompleteJob, Ref: j.ID, Variables: out, Actor: actor}}
}
