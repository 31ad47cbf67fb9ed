package messages

import (
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/mailbox"
	"github.com/certstream/certstream/internal/wsframe"
)

// Stream is a certstream stream type.
type Stream uint8

// The three certstream streams.
const (
	StreamLite    Stream = iota // certificate_update without as_der and chain
	StreamFull                  // certificate_update with as_der and chain
	StreamDomains               // dns_entries
	NumStreams    = 3
)

// String returns the stream's name as used in metrics and the SSE query.
func (s Stream) String() string {
	switch s {
	case StreamFull:
		return "full"
	case StreamDomains:
		return "domains"
	default:
		return "lite"
	}
}

// Transport is how a client is connected.
type Transport uint8

// The two client transports.
const (
	WebSocket Transport = iota
	SSE
	NumTransports = 2
)

// String returns the transport's name as used in metrics.
func (t Transport) String() string {
	if t == SSE {
		return "sse"
	}
	return "ws"
}

// Frames holds one message serialized for one stream, ready to write: WS is
// a complete unmasked WebSocket text frame, SSE a complete "data: ...\n\n"
// event. Either is nil when no subscriber of that transport existed.
type Frames struct {
	WS, SSE []byte
}

// For returns the bytes for transport t.
func (f *Frames) For(t Transport) []byte {
	if t == SSE {
		return f.SSE
	}
	return f.WS
}

// Batch is a run of entries of one log in index order, sent by a fetcher to
// dedup. Release, when set, is called once the batch has been routed (or
// found to hold only duplicates), which lets the fetcher bound how much it
// has in flight in dedup's and the router's inboxes together.
type Batch struct {
	Updates []*Update
	Release func()
}

// Published is a run of new (deduplicated) certificates sent by dedup to the
// router. Release, when set, is the fetcher's Batch.Release: the router
// calls it once it has routed the updates.
type Published struct {
	Updates []*Update
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
	Stream    Stream
	Transport Transport
	Name      string // the child's id, e.g. "ws-12"
	Remote    string // the client's address, for the admin view
	Producer  func(ring *mailbox.Ring[[]byte]) actor.Producer
	// TickAfter, when set, is the Unix ms before which the consumer needs
	// no Tick; the consumer keeps it up to date. The router then skips
	// the consumer on earlier ticks, so idle connections cost a message
	// only when a heartbeat or ping is due. Nil means every tick.
	TickAfter *atomic.Int64
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

// AppendFrame appends payload framed for transport t: a complete unmasked
// WebSocket text frame, or a server-sent event "data: <payload>\n\n".
func AppendFrame(dst []byte, t Transport, payload []byte) []byte {
	if t == SSE {
		dst = append(dst, "data: "...)
		dst = append(dst, payload...)
		return append(dst, '\n', '\n')
	}
	return wsframe.AppendText(dst, payload)
}
