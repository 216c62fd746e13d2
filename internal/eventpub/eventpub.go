package eventpub

import (
	"cmp"
	"context"
	"crypto/cipher"
	"strconv"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/datakeys"
)

// Publisher publishes domain events; its writer names no topic (each
// message names its own).
type Publisher struct {
	Writer *kafka.Writer
	Keys   *datakeys.Keyring
	// EventsTopic and StatusTopic default to events.TopicProcedureEvents
	// and events.TopicStatus (tests use topics of their own).
	EventsTopic, StatusTopic string
}

// Publish writes evs in one write to both topics: a retry after a partial
// failure repeats messages, which consumers drop by their (reference, seq)
// id. It fails for an erased application (its key is destroyed).
func (p *Publisher) Publish(ctx context.Context, evs []*events.ProcedureEvent) error {
	eventsTopic := cmp.Or(p.EventsTopic, events.TopicProcedureEvents)
	statusTopic := cmp.Or(p.StatusTopic, events.TopicStatus)
	msgs := make([]kafka.Message, 0, len(evs)+len(evs)/2)
	keys := map[string]cipher.AEAD{}
	for _, e := range evs {
		key, ok := keys[e.Reference]
		if !ok {
			var err error
			if key, err = p.Keys.ForPublish(ctx, e.Reference, e.Tenant); err != nil {
				return err
			}
			keys[e.Reference] = key
		}
		v, err := events.EncodeSealedProcedureEvent(e, key)
		if err != nil {
			return err
		}
		// Keyed by the application's reference: all events of an
		// application go to one partition and keep their order across
		// replicas and rebalances (docs/cluster.md, "Partition key").
		msgs = append(msgs, kafka.Message{Topic: eventsTopic, Key: []byte(e.Reference), Value: v})
		if pub := events.PublicStatus(e); pub != nil {
			id := e.Reference + "/" + strconv.FormatInt(e.Seq, 10)
			v, err := events.Encode(id, events.Source, events.TypeStatusChanged, e.Reference, e.Time, pub)
			if err != nil {
				return err
			}
			msgs = append(msgs, kafka.Message{Topic: statusTopic, Key: []byte(e.Reference), Value: v})
		}
	}
	return p.Writer.WriteMessages(ctx, msgs...)
}
