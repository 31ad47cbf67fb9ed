package router

import (
	"sort"

	"github.com/certstream/certstream/internal/wire"
)

// format is how a subscriber's messages are framed: the transport, and
// for WebSocket whether each message carries its sequence number and
// whether it is compressed (permessage-deflate).
type format uint8

const (
	fmtWS           format = iota // a WebSocket text frame: today's bytes
	fmtWSSeq                      // a WebSocket text frame whose message ends with "seq"
	fmtSSE                        // a server-sent event with its id
	fmtWSDeflate                  // fmtWS compressed
	fmtWSSeqDeflate               // fmtWSSeq compressed
	numFormats
)

// formatOf is the format of a subscriber of transport t.
func formatOf(t wire.Transport, seq, deflate bool) format {
	switch {
	case t == wire.SSE:
		return fmtSSE
	case seq && deflate:
		return fmtWSSeqDeflate
	case seq:
		return fmtWSSeq
	case deflate:
		return fmtWSDeflate
	default:
		return fmtWS
	}
}

// entry is one published certificate and the frames built for it so far,
// shared by every subscriber (and every replay) that needs them. Once it is
// cold (older than frameLife) it keeps the certificate only: a replay
// builds its frames again for each client that needs them, and keeps none.
type entry struct {
	u      *wire.Update
	at     int64 // when it was published, Unix ms
	frames [wire.NumStreams][numFormats][]byte
	bytes  int  // what it holds, roughly: the frames and the certificate
	cold   bool // its frames are let go
}

// frameLife is how long (ms) an entry keeps its frames: long enough for
// every live client, and for clients that reconnect at once, to share
// them. Past it the window holds certificates only, about a third of the
// bytes when every stream is subscribed, so the same bound covers about
// three times the span.
const frameLife = 2_000

// WindowLimits bound the replay window: the most recent published
// certificates, kept so that a reconnecting client resumes where it left
// off. The window drops its oldest entry once any bound is passed.
type WindowLimits struct {
	Messages int   // default 300,000; negative: no window
	Bytes    int64 // frames and certificates held; default 128 MiB
	MaxAge   int64 // in ms; default 300,000 (five minutes)
}

func (l WindowLimits) withDefaults() WindowLimits {
	if l.Messages == 0 {
		l.Messages = 300_000
	}
	if l.Bytes <= 0 {
		l.Bytes = 128 << 20
	}
	if l.MaxAge <= 0 {
		l.MaxAge = 300_000
	}
	return l
}

// window holds the entries of the replay window in sequence order.
type window struct {
	lim     WindowLimits
	entries []*entry // entries[head:] are held
	head    int
	cold    int // entries[head:head+cold] are cold
	bytes   int64
}

// add appends an entry for u published at now and returns it.
func (w *window) add(u *wire.Update, now int64) *entry {
	e := &entry{u: u, at: now, bytes: 512}
	if u.Leaf != nil {
		e.bytes += 2 * len(u.Leaf.DER) // the DER and the fields parsed from it
	}
	for _, c := range u.Chain {
		e.bytes += len(c.DER) // often shared with other entries: an upper bound
	}
	w.bytes += int64(e.bytes)
	w.entries = append(w.entries, e)
	return e
}

// grew accounts n more bytes held by an entry of the window.
func (w *window) grew(n int) { w.bytes += int64(n) }

// evict lets the frames of entries older than frameLife go, then drops
// the oldest entries beyond the limits at now.
func (w *window) evict(now int64) {
	for w.cold < w.len() {
		e := w.entries[w.head+w.cold]
		if now-e.at <= frameLife {
			break
		}
		w.chill(e)
		w.cold++
	}
	keep := max(w.lim.Messages, 0)
	for w.len() > 0 {
		e := w.entries[w.head]
		if w.len() <= keep && w.bytes <= w.lim.Bytes && now-e.at <= w.lim.MaxAge {
			break
		}
		w.bytes -= int64(e.bytes)
		w.entries[w.head] = nil
		w.head++
		w.cold = max(w.cold-1, 0)
	}
	if w.head > 1024 && w.head*2 > len(w.entries) {
		n := copy(w.entries, w.entries[w.head:])
		clear(w.entries[n:])
		w.entries = w.entries[:n]
		w.head = 0
	}
}

// reset lets every entry go.
func (w *window) reset() {
	clear(w.entries)
	w.entries, w.head, w.cold, w.bytes = w.entries[:0], 0, 0, 0
}

// chill lets e's frames go: e keeps its certificate only.
func (w *window) chill(e *entry) {
	for st := range e.frames {
		for f, b := range e.frames[st] {
			e.bytes -= len(b)
			w.bytes -= int64(len(b))
			e.frames[st][f] = nil
		}
	}
	e.cold = true
}

func (w *window) len() int { return len(w.entries) - w.head }

// oldest and newest are the sequence numbers held (0, 0 when empty).
func (w *window) oldest() uint64 {
	if w.len() == 0 {
		return 0
	}
	return w.entries[w.head].u.Seq
}

func (w *window) newest() uint64 {
	if w.len() == 0 {
		return 0
	}
	return w.entries[len(w.entries)-1].u.Seq
}

// from returns the position of the first entry whose sequence number is at
// least seq (w.len() when none is).
func (w *window) from(seq uint64) int {
	held := w.entries[w.head:]
	return sort.Search(len(held), func(i int) bool { return held[i].u.Seq >= seq })
}

// at returns the entry at position i (0 is the oldest).
func (w *window) at(i int) *entry { return w.entries[w.head+i] }

// Sequencer numbers published certificates: the first one it numbers gets
// first, each next one the number after. It leaves an update that already
// has a number (assigned upstream) as it is.
func Sequencer(first uint64) func(updates []*wire.Update) {
	next := first
	return func(updates []*wire.Update) {
		for _, u := range updates {
			if u.Seq == 0 {
				u.Seq = next
				next++
			}
		}
	}
}
