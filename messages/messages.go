// Package messages holds what the node's actors send each other: batches of
// decoded entries, published runs, wakes and ticks, subscriptions, cursor
// reports and the admin endpoint's inspect request and answer. The values they
// carry (certificates, updates, frames) are the wire format's, in
// internal/wire.
//
// Values are immutable once sent: a receiver never modifies what it was given.
package messages

import (
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/filter"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
)

// Batch is a run of entries of one log in index order, sent by a fetcher to
// dedup. Release, when set, is called once the batch has been routed (or
// found to hold only duplicates), which lets the fetcher bound how much it
// has in flight in dedup's and the router's inboxes together. Published,
// when set, counts the batch's updates that passed dedup in the log's
// metrics.
type Batch struct {
	Updates   []*wire.Update
	Release   func()
	Published func(n int)
}

// Published is a run of new (deduplicated) certificates sent by dedup to the
// router. Release, when set, is the fetcher's Batch.Release: the router
// calls it once it has routed the updates.
type Published struct {
	Updates []*wire.Update
	Release func()
}

// Wake tells a consumer actor that its ring has items.
type Wake struct{}

// Tick is the router's periodic clock for its consumers: time for
// heartbeats, pings and housekeeping. Now is Unix milliseconds. A consumer
// that subscribed with a TickAfter gets a Tick only once that time has come.
type Tick struct{ Now int64 }

// Subscribe asks the router to spawn a consumer (a connection actor) as its
// child. The router creates the consumer's ring and calls Producer with it;
// it answers the request with the child's *actor.PID.
type Subscribe struct {
	Stream    wire.Stream
	Transport wire.Transport
	Name      string // the child's id, e.g. "ws-12"
	Remote    string // the client's address, for the admin view
	Producer  func(ring *mailbox.Ring[[]byte]) actor.Producer
	// TickAfter, when set, is the Unix ms before which the consumer needs
	// no Tick; the consumer keeps it up to date. The router then skips
	// the consumer on earlier ticks, so idle connections cost a message
	// only when a heartbeat or ping is due. Nil means every tick.
	TickAfter *atomic.Int64
	// Filter, when set, lets only the certificates it matches through to
	// the consumer. Consumers with equal filters share one *filter.Filter
	// (from a filter.Set), which the router evaluates once per certificate.
	Filter *filter.Filter
	// Resume starts the consumer right after sequence number Since, from
	// the router's replay window, instead of live.
	Resume bool
	Since  uint64
	// Seq asks for WebSocket messages that carry their sequence number
	// ("seq"); SSE events always carry it as their id.
	Seq bool
	// Notices asks for gap notices: what a resume could not cover, and
	// what the consumer's ring dropped.
	Notices bool
	// Deflate is set for a WebSocket consumer that negotiated
	// permessage-deflate (server_no_context_takeover): its messages are
	// compressed, once per message for every such consumer.
	Deflate bool
}

// Unsubscribe asks the router to stop a consumer and forget it. Sent by the
// connection actor itself or by the HTTP side when the client is gone.
type Unsubscribe struct {
	PID *actor.PID
}

// Cursor reports the next index a fetcher will hand to dedup: every entry
// before Next has been delivered (or counted as a bad leaf).
type Cursor struct {
	Log  string // the log's state key (its URL)
	Next uint64
}

// SaveCursors asks the state actor to persist now; it answers with the error
// (nil on success).
type SaveCursors struct{}

// SequenceReset tells the router that the certificates' numbers start
// again: the cluster's stream was deleted and created anew, so the next
// run is numbered from Next on, and the numbers handed out so far (up to
// Last at least) belong to the old stream. Sent by the cluster consumer
// before the first run of the new stream.
type SequenceReset struct {
	Next uint64 // the first number of the new stream to come
	Last uint64 // the last number routed from the old stream
}
