package clustersub

import (
	"context"
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/clusterlink"
	"github.com/certstream/certstream/messages"
)

// wasReset reports whether st is another stream than the one read so far:
// created at another time, or ending before the last message read (next-1,
// loaded before st was asked for).
func (c *Consumer) wasReset(st clusterlink.StreamState, next uint64) bool {
	if was, now := c.created.Load(), nanos(st.Created); was != 0 && now != 0 && was != now {
		return true
	}
	return next > 1 && st.Last < next-1
}

// watch checks every checkEvery, until ctx ends, that the stream is still
// the one r reads, whether r delivers or waits: a reader of a stream
// created again waits for numbers the new one may reach only much later,
// or goes on with the new one's as if they were the old one's. When it is
// not, watch stops r and reports true.
func (c *Consumer) watch(ctx context.Context, r *clusterlink.Reader) bool {
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		next := c.next.Load()
		if st, err := c.cfg.Link.State(ctx); err == nil && c.wasReset(st, next) {
			r.Stop()
			return true
		}
	}
}

// reset moves the consumer to the stream's new incarnation st, at its
// oldest message. Once the router has routed every run of the old stream,
// it tells the router that the numbers start again. The old stream's
// messages this consumer had not read are unknowable: they are not counted
// as a gap. It reports false when ctx ended first.
func (c *Consumer) reset(ctx context.Context, e *actor.Engine, st clusterlink.StreamState, credits chan struct{}) bool {
	for held := range inFlight { // every credit back: every run routed
		select {
		case credits <- struct{}{}:
		case <-ctx.Done():
			for range held {
				<-credits
			}
			return false
		}
	}
	from, old := max(st.First, 1), c.routed.Load()
	slog.Error("cluster: the stream was deleted and created again and numbers its messages anew; "+
		"reading it from its oldest message (what the old stream held beyond old_last_seq is lost, and how much is unknown)",
		"stream", c.cfg.Stream, "old_last_seq", old, "new_first_seq", st.First, "new_last_seq", st.Last, "created", st.Created)
	c.resets.Add(1)
	resetsN.Inc()
	e.Send(c.cfg.Router, messages.SequenceReset{Next: from, Last: old})
	c.routed.Store(from - 1)
	c.setNext(from)
	c.created.Store(nanos(st.Created))
	for range inFlight {
		<-credits
	}
	return true
}
