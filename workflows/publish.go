package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/events"
)

// emit appends a domain event with the next sequence number to the outbox.
// The publisher coroutine sends the outbox in order, batching whatever has
// accumulated, so one step's events cost one activity.
func (r *run) emit(ctx workflow.Context, kind events.Kind, step string, fill func(*events.ProcedureEvent)) int64 {
	r.Seq++
	e := &events.ProcedureEvent{
		Reference: r.in.Reference,
		Seq:       r.Seq,
		Tenant:    r.in.Tenant,
		Kind:      kind,
		Time:      workflow.Now(ctx).UTC(),
		Step:      step,
		Actor:     "system",
	}
	if fill != nil {
		fill(e)
	}
	r.outbox = append(r.outbox, e)
	return e.Seq
}

// publisher is the one coroutine that publishes events, so that they reach
// Kafka in sequence order even when parallel branches emit concurrently.
func (r *run) publisher(ctx workflow.Context) {
	defer func() { r.publisherDone = true }()
	lao := publishOptions(ctx)
	for {
		if err := workflow.Await(ctx, func() bool { return len(r.outbox) > 0 || r.closing }); err != nil {
			return
		}
		if len(r.outbox) == 0 {
			return
		}
		batch := r.outbox
		r.outbox = nil
		if err := workflow.ExecuteLocalActivity(lao, activities.PublishEventsName, batch).Get(ctx, nil); err != nil {
			// Only cancellation ends the retries; put the batch back so drain
			// (on a disconnected context) can still publish it.
			r.outbox = append(batch, r.outbox...)
			return
		}
		r.flushed = batch[len(batch)-1].Seq
	}
}

// awaitPublished blocks until every event up to seq is published.
func (r *run) awaitPublished(ctx workflow.Context, seq int64) error {
	return workflow.Await(ctx, func() bool { return r.flushed >= seq })
}

// drain publishes whatever is left before the workflow ends or continues as
// new. Normally the publisher coroutine does it; after cancellation (direct)
// the coroutine has stopped, and drain publishes the rest itself on the
// disconnected context it is given, once the coroutine has exited so that
// order is kept.
func (r *run) drain(ctx workflow.Context, direct bool) error {
	r.closing = true
	if !direct {
		return workflow.Await(ctx, func() bool { return r.flushed >= r.Seq })
	}
	if err := workflow.Await(ctx, func() bool { return r.publisherDone }); err != nil {
		return err
	}
	if len(r.outbox) == 0 {
		return nil
	}
	batch := r.outbox
	r.outbox = nil
	if err := workflow.ExecuteLocalActivity(publishOptions(ctx), activities.PublishEventsName, batch).Get(ctx, nil); err != nil {
		return err
	}
	r.flushed = batch[len(batch)-1].Seq
	return nil
}

func publishOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		// Publishing retries until Kafka is back; nothing may be lost.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: 30 * time.Second},
	})
}
