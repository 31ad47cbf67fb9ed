package clusterlink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoStream is State's error when the stream does not exist (yet).
var ErrNoStream = errors.New("no such stream")

// Message is one certificate read from the stream.
type Message struct {
	Seq     uint64    // stream sequence: the certificate's global number
	Data    []byte    // its clusterwire encoding
	Pending uint64    // messages after it in the stream, at delivery
	Stored  time.Time // when the stream stored it
}

// Reader reads the stream in sequence order.
type Reader struct {
	it jetstream.MessagesContext
}

// Read starts reading at sequence from (at least 1), or at the oldest
// message still retained if from has been discarded. The reader survives
// connection outages: the client resumes after the last message it
// delivered.
func (l *Link) Read(ctx context.Context, from uint64) (*Reader, error) {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq: max(from, 1), InactiveThreshold: time.Minute}
	c, err := l.js.OrderedConsumer(ctx, l.cfg.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream %s: consumer: %w", l.cfg.Stream, err)
	}
	it, err := c.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", l.cfg.Stream, err)
	}
	return &Reader{it: it}, nil
}

// Next waits for the next message; after Stop it returns an error.
func (r *Reader) Next() (Message, error) {
	m, err := r.it.Next()
	if err != nil {
		return Message{}, err
	}
	meta, err := m.Metadata()
	if err != nil {
		return Message{}, err
	}
	return Message{Seq: meta.Sequence.Stream, Data: m.Data(), Pending: meta.NumPending, Stored: meta.Timestamp}, nil
}

// Stop ends the reading; a waiting Next returns.
func (r *Reader) Stop() { r.it.Stop() }

// StreamState is the stream as the server has it now.
type StreamState struct {
	// Created is when the stream was created: it tells one incarnation of
	// the stream from the next. A stream deleted and created again (by an
	// operator, or by an ingest whose server lost its store) numbers its
	// messages from 1 anew under a new Created; an update of its limits
	// keeps it.
	Created time.Time
	// First is the oldest retained sequence, Last the newest stored
	// (First is Last+1 when none is retained; both 0 before the first).
	First, Last uint64
}

// State returns the stream's state.
func (l *Link) State(ctx context.Context) (StreamState, error) {
	s, err := l.js.Stream(ctx, l.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return StreamState{}, fmt.Errorf("%w: %s", ErrNoStream, l.cfg.Stream)
	}
	if err != nil {
		return StreamState{}, fmt.Errorf("stream %s: %w", l.cfg.Stream, err)
	}
	info := s.CachedInfo() // as the lookup just fetched it: one request
	return StreamState{Created: info.Created, First: info.State.FirstSeq, Last: info.State.LastSeq}, nil
}

// FirstSeq returns the stream's oldest retained sequence and its last.
func (l *Link) FirstSeq(ctx context.Context) (first, last uint64, err error) {
	st, err := l.State(ctx)
	return st.First, st.Last, err
}
