package router

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// drainer is a consumer that empties its ring on every wake, as a
// connection actor does, without writing anywhere.
type drainer struct {
	ring  *mailbox.Ring[[]byte]
	batch [][]byte
}

func (d *drainer) Receive(c *actor.Context) {
	if _, ok := c.Message().(messages.Wake); !ok {
		return
	}
	for {
		d.batch = d.ring.Drain(d.batch[:0], 64)
		if len(d.batch) == 0 {
			return
		}
		d.ring.Done(len(d.batch), 0)
	}
}

// BenchmarkFanout1000 publishes certificates to 1,000 lite WebSocket
// subscribers whose actors drain their rings, one certificate per
// Published message or 100 (as fetchers deliver pages). Each op publishes
// certsPerOp certificates and waits until the router has pushed them all;
// ns/cert is the cost of one certificate serialized once and pushed (with
// the wake-ups it needs) to every subscriber, ns/push that per subscriber.
func BenchmarkFanout1000(b *testing.B) {
	for _, perMsg := range []int{1, 100} {
		b.Run(fmt.Sprintf("%d-per-message", perMsg), func(b *testing.B) { benchmarkFanout(b, 1000, perMsg) })
	}
}

func benchmarkFanout(b *testing.B, subscribers, perMsg int) {
	const certsPerOp = 100
	u := benchUpdate(b)
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		b.Fatal(err)
	}
	r := e.Spawn(New(Config{MailboxCapacity: 1024, TickInterval: time.Hour}), "router")
	for i := range subscribers {
		sub := messages.Subscribe{Stream: wire.StreamLite, Transport: wire.WebSocket, Name: fmt.Sprintf("d%d", i),
			Producer: func(ring *mailbox.Ring[[]byte]) actor.Producer {
				return func() actor.Receiver { return &drainer{ring: ring} }
			}}
		if _, err := e.Request(r, sub, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
	}
	updates := make([]*wire.Update, perMsg)
	for i := range updates {
		updates[i] = u
	}
	msg := messages.Published{Updates: updates}
	for b.Loop() {
		for range certsPerOp / perMsg {
			e.Send(r, msg)
		}
		// The router handles its inbox in order: its answer means every
		// certificate has been pushed.
		if _, err := e.Request(r, messages.Inspect{}, time.Minute).Result(); err != nil {
			b.Fatal(err)
		}
	}
	perCert := float64(b.Elapsed().Nanoseconds()) / float64(b.N*certsPerOp)
	b.ReportMetric(perCert, "ns/cert")
	b.ReportMetric(perCert/float64(subscribers), "ns/push")
	<-e.Poison(r).Done()
}

// benchUpdate is an update for the first synthetic snapshot certificate.
func benchUpdate(b *testing.B) *wire.Update {
	data, err := os.ReadFile(fixtures.Path(b, "parser-snapshots", "synthetic.json"))
	if err != nil {
		b.Fatal(err)
	}
	var snaps []struct {
		DER string `json:"der_b64"`
	}
	if err := json.Unmarshal(data, &snaps); err != nil || len(snaps) == 0 {
		b.Fatalf("synthetic snapshots: %v", err)
	}
	der, err := base64.StdEncoding.DecodeString(snaps[0].DER)
	if err != nil {
		b.Fatal(err)
	}
	c, err := certfields.Parse(der)
	if err != nil {
		b.Fatal(err)
	}
	return &wire.Update{Entry: wire.Entry{Index: 1, Leaf: c}, Source: &wire.Source{Name: "L", URL: "https://l/"},
		CertLink: "https://l/ct/v1/get-entries?start=1&end=1", Seen: 1}
}
