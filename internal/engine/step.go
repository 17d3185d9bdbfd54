package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/model"
)

// Errors returned by Step for commands that cannot apply. A rejected
// command leaves the state unchanged.
var (
	// ErrInvalidCommand: the command is malformed or unknown.
	ErrInvalidCommand = errors.New("invalid command")
	// ErrStale: the job, task, subscription or incident the command names
	// is not (or no longer) waited on by this instance.
	ErrStale = errors.New("nothing waits for this")
	// ErrEnded: the instance has completed or been cancelled.
	ErrEnded = errors.New("instance has ended")
	// ErrNoSubscription: no subscription matches a message or signal.
	ErrNoSubscription = errors.New("no matching subscription")
)

// maxEntries bounds the node entries of one Step, so that a loop without a
// wait state becomes an incident instead of hanging the engine.
const maxEntries = 10_000

// Step applies cmd to st and returns the new state, the effects to carry
// out, or an error for a command that cannot apply (then st is unchanged).
//
// Step takes ownership of st and may modify it in place; the returned state
// is st itself for every command but CmdStart (where st may be nil). Step is
// deterministic: the same definition, state and command always give the
// same result. Failures while running (an expression that cannot be
// evaluated, a script error, a gateway with no flow to take) are not errors
// of Step: they open incidents in the returned state.
func Step(def *model.Definition, st *State, cmd Command) (*State, []Effect, error) {
	if def == nil || !def.Built() {
		return st, nil, fmt.Errorf("%w: definition is not built", ErrInvalidCommand)
	}
	var sp stepper
	s := &sp
	s.def, s.cmd, s.now = def, cmd, cmd.Time
	if cmd.Kind == CmdStart {
		// One allocation holds the state and the first tokens, history
		// entries and effects of a typical instance.
		a := new(startAlloc)
		st = &a.st
		st.Tokens = a.tokens[:0]
		st.History = a.hist[:0]
		s.effects = a.eff[:0]
		s.queue = a.queue[:0]
		s.st = st
		if err := s.applyStart(); err != nil {
			return nil, nil, err
		}
	} else {
		if st == nil {
			return st, nil, fmt.Errorf("%w: no state", ErrInvalidCommand)
		}
		if st.Status.Ended() {
			return st, nil, ErrEnded
		}
		s.st = st
		s.queue = st.queue[:0]
		if err := s.apply(); err != nil {
			return st, nil, err
		}
	}
	s.run()
	s.finish()
	st.queue = s.queue[:0]
	return st, s.effects, nil
}

type startAlloc struct {
	st     State
	tokens [2]Token
	hist   [8]HistoryEntry
	eff    [2]Effect
	queue  [8]int64
}

// noVars is the empty variable set expressions see when an instance has
// none. Expressions never write to it.
var noVars = map[string]any{}

type stepper struct {
	def     *model.Definition
	st      *State
	cmd     Command
	now     time.Time
	effects []Effect
	queue   []int64
	entries int
}

// apply dispatches a command other than CmdStart to its method.
func (s *stepper) apply() error {
	switch s.cmd.Kind {
	case CmdCompleteJob:
		return s.applyCompleteJob()
	case CmdFailJob:
		return s.applyFailJob()
	case CmdThrowError:
		return s.applyThrowError()
	case CmdCompleteTask:
		return s.applyCompleteTask()
	case CmdFireTimer:
		return s.applyFireTimer()
	case CmdMessage:
		return s.applyMessage()
	case CmdSignal:
		return s.applySignal()
	case CmdCancel:
		return s.applyCancel()
	case CmdRetry:
		return s.applyRetry()
	case CmdSkip:
		return s.applySkip()
	case CmdMove:
		return s.applyMove()
	case CmdNote:
		return s.applyNote()
	case CmdSetVariables:
		return s.applySetVariables()
	case CmdModify:
		return s.applyModify()
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidCommand, s.cmd.Kind)
	}
}
