package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// Correlate hands a message to the instance whose subscription matches
// name and key; with none it reports store.ErrNotFound. messageID makes
// correlation exactly-once ("" disables the check).
func (r *Runner) Correlate(ctx context.Context, name, key, messageID string, vars map[string]any, actor string) (*engine.State, error) {
	subs, err := r.st.Subscriptions(ctx, string(engine.SubMessage), name, key)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 && key != "" {
		// Subscriptions without a key accept any key.
		subs, err = r.st.Subscriptions(ctx, string(engine.SubMessage), name, "")
		if err != nil {
			return nil, err
		}
	}
	if len(subs) == 0 {
		return r.startByMessage(ctx, name, key, messageID, vars, actor)
	}
	sub := subs[0]
	return r.Apply(ctx, sub.InstanceID, engine.Command{Kind: engine.CmdMessage, Ref: sub.ID, Variables: vars, Actor: actor},
		func(t *store.Transition) {
			if messageID != "" {
				t.ConsumeMessage = messageID
			}
		})
}

// Message is a message to publish.
type Message struct {
	Name, Key string
	// ID makes correlation exactly-once ("" disables the check; a
	// buffered message without an id gets a random one).
	ID        string
	Variables map[string]any
	// TTL > 0 keeps a message no instance waits for yet, for a catch event
	// that opens within TTL.
	TTL   time.Duration
	Actor string
}

// PublishMessage correlates m, or buffers it when nothing waits and
// m.TTL > 0 (then it returns the buffered row and a nil state), as
// Zeebe's "publish message" does.
func (r *Runner) PublishMessage(ctx context.Context, m Message) (*engine.State, *store.MessageRow, error) {
	st, err := r.Correlate(ctx, m.Name, m.Key, m.ID, m.Variables, m.Actor)
	if err == nil || m.TTL <= 0 || !errors.Is(err, store.ErrNotFound) {
		return st, nil, err
	}
	row := store.MessageRow{ID: m.ID, Name: m.Name, Key: m.Key, CreatedAt: r.clk.Now(), ExpiresAt: r.clk.Now().Add(m.TTL)}
	if row.ID == "" {
		row.ID = NewID()
	}
	if len(m.Variables) > 0 {
		row.Variables, _ = json.Marshal(m.Variables)
	}
	created, berr := r.st.BufferMessage(ctx, row)
	if berr != nil {
		return nil, nil, berr
	}
	if !created {
		return nil, nil, fmt.Errorf("%w: message %s was already received", ErrDuplicateMessage, row.ID)
	}
	// A catch event may have opened while we buffered: try once more.
	r.takeBuffered(ctx, nil, m.Name, m.Key)
	return nil, &row, nil
}

// takeBuffered correlates buffered messages with subscriptions that just
// opened (subs), or with whatever waits for name/key.
func (r *Runner) takeBuffered(ctx context.Context, subs []store.SubscriptionRow, name, key string) {
	if subs == nil {
		found, err := r.st.Subscriptions(ctx, string(engine.SubMessage), name, key)
		if err != nil {
			return
		}
		subs = found
	}
	for _, sb := range subs {
		if sb.Kind != string(engine.SubMessage) {
			continue
		}
		msgs, err := r.st.BufferedMessages(ctx, sb.Name, sb.Key, r.clk.Now())
		if err != nil || len(msgs) == 0 {
			continue
		}
		m := msgs[0]
		var vars map[string]any
		if len(m.Variables) > 0 {
			_ = json.Unmarshal(m.Variables, &vars)
		}
		_, err = r.Apply(ctx, sb.InstanceID, engine.Command{Kind: engine.CmdMessage, Ref: sb.ID, Variables: vars, Actor: "message-buffer"},
			func(t *store.Transition) { t.ConsumeMessage = m.ID })
		if err != nil {
			r.log.Info("buffered message not correlated", "message", m.ID, "subscription", sb.ID, "err", err)
		}
	}
}
