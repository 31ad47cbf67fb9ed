package fakelog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"
)

// DefaultPageSize is the get-entries page cap of a log whose PageSize is 0.
const DefaultPageSize = 256

// Faults are the misbehaviours of one log. Every "Every N" knob is off at 0
// and counts this log's requests since the faults were last set
// (Tile404Every counts tile requests only): with N = 3 the 3rd, 6th...
// requests misbehave.
type Faults struct {
	// PageSize caps the entries of one get-entries response (0: DefaultPageSize).
	PageSize int
	// AlignPages ends every page at a multiple of PageSize, as some logs do,
	// so a request starting mid-page gets a short page.
	AlignPages bool
	// RateLimitEvery answers every Nth request 429 Too Many Requests.
	RateLimitEvery int
	// RetryAfter is the Retry-After header value in seconds (0: 1).
	RetryAfter int
	// OmitRetryAfter sends 429 responses without a Retry-After header.
	OmitRetryAfter bool
	// ServerErrorEvery answers every Nth request 500 Internal Server Error.
	ServerErrorEvery int
	// Delay is slept before answering each request.
	Delay time.Duration
	// TruncateEvery cuts every Nth successful body in half (Content-Length
	// matches the cut body, so the client sees invalid JSON or a short tile;
	// gzip tiles are cut before compression).
	TruncateEvery int
	// GarbageLeafEvery makes entry i (i%N == N-1) carry a leaf certificate that
	// is not valid DER. It applies to entries appended while it is set.
	GarbageLeafEvery int
	// Tile404Every answers every Nth tile request 404 Not Found.
	Tile404Every int
	// GzipTiles serves data (and names) tiles with Content-Encoding: gzip,
	// whatever the request's Accept-Encoding.
	GzipTiles bool
	// Down answers every request 503 Service Unavailable.
	Down bool
	// Cosignature appends an extra witness cosignature line, from a key no
	// node knows, to static-ct checkpoints.
	Cosignature bool
	// HoldFrom, when positive, holds back the entries at index HoldFrom and
	// above: a get-entries or data tile request that would return one of them
	// waits until the faults change (or the request ends). The head still
	// counts every entry. Static-ct fixture directories ignore it.
	HoldFrom int64
	// ShrinkBy makes get-sth and the checkpoint report a tree this many
	// entries smaller than the one served (signed like any other head), as
	// a log that lost entries would.
	ShrinkBy int
	// RedirectTo answers every request 302 Found to this URL prefix followed
	// by the request's path and query.
	RedirectTo string
	// Reject answers every request with this HTTP error status (400-599)
	// and RejectBody.
	Reject     int
	RejectBody string
	// PadBody appends this many spaces to every successful get-entries body
	// (the JSON stays valid), making it larger than what it holds.
	PadBody int
}

// validate reports knobs out of range.
func (f Faults) validate() error {
	var errs []error
	for _, knob := range []struct {
		name  string
		value int
	}{
		{"PageSize", f.PageSize}, {"RetryAfter", f.RetryAfter}, {"RateLimitEvery", f.RateLimitEvery},
		{"ServerErrorEvery", f.ServerErrorEvery}, {"TruncateEvery", f.TruncateEvery},
		{"GarbageLeafEvery", f.GarbageLeafEvery}, {"Tile404Every", f.Tile404Every}, {"HoldFrom", int(f.HoldFrom)},
		{"ShrinkBy", f.ShrinkBy}, {"PadBody", f.PadBody},
	} {
		if knob.value < 0 {
			errs = append(errs, fmt.Errorf("fakelog: faults: %s is negative (%d)", knob.name, knob.value))
		}
	}
	if f.Delay < 0 {
		errs = append(errs, fmt.Errorf("fakelog: faults: Delay is negative (%v)", f.Delay))
	}
	if f.Reject != 0 && (f.Reject < 400 || f.Reject > 599) {
		errs = append(errs, fmt.Errorf("fakelog: faults: Reject %d is not an error status (400-599)", f.Reject))
	}
	return errors.Join(errs...)
}

// pageSize returns the effective get-entries page cap.
func (f Faults) pageSize() int64 {
	if f.PageSize == 0 {
		return DefaultPageSize
	}
	return int64(f.PageSize)
}

// retryAfter returns the effective Retry-After seconds.
func (f Faults) retryAfter() int {
	if f.RetryAfter == 0 {
		return 1
	}
	return f.RetryAfter
}

// Endpoint names a kind of request, for request counting.
type Endpoint string

// Endpoints counted per log.
const (
	EndpointGetSTH     Endpoint = "get-sth"
	EndpointGetEntries Endpoint = "get-entries"
	EndpointCheckpoint Endpoint = "checkpoint"
	EndpointDataTile   Endpoint = "tile/data"
	EndpointHashTile   Endpoint = "tile/hash"
	EndpointNamesTile  Endpoint = "tile/names"
	EndpointIssuer     Endpoint = "issuer"
	EndpointOther      Endpoint = "other"
)

// isTile reports whether e is a tile endpoint.
func (e Endpoint) isTile() bool {
	return e == EndpointDataTile || e == EndpointHashTile || e == EndpointNamesTile
}

// Fault names an injected misbehaviour, for fault counting.
type Fault string

// Faults counted per log.
const (
	FaultDelay       Fault = "delay"
	FaultDown        Fault = "down"
	FaultRateLimit   Fault = "rate-limit"
	FaultServerError Fault = "server-error"
	FaultTruncate    Fault = "truncate"
	FaultTile404     Fault = "tile-404"
	FaultHold        Fault = "hold"
	FaultRedirect    Fault = "redirect"
	FaultReject      Fault = "reject"
	FaultPadBody     Fault = "pad-body"
)

// Stats counts the requests a log served and the faults it injected.
type Stats struct {
	Requests map[Endpoint]int64
	Faults   map[Fault]int64
}

// TotalRequests sums Requests over all endpoints.
func (s Stats) TotalRequests() int64 {
	var n int64
	for _, v := range s.Requests {
		n += v
	}
	return n
}

// Knobs holds a log's fault settings and its request and fault counters.
// It is safe for concurrent use; settings may change while serving.
type Knobs struct {
	mu       sync.Mutex
	faults   Faults
	requests int64 // all requests, drives the Every N knobs
	tiles    int64 // tile requests, drives Tile404Every
	stats    Stats
	changed  chan struct{} // closed (and replaced) when the settings change
}

// newKnobs validates f and returns knobs holding it.
func newKnobs(f Faults) (*Knobs, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &Knobs{faults: f, stats: Stats{Requests: map[Endpoint]int64{}, Faults: map[Fault]int64{}},
		changed: make(chan struct{})}, nil
}

// Faults returns the current fault settings.
func (k *Knobs) Faults() Faults {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.faults
}

// SetFaults replaces the fault settings and restarts the Every N counts.
func (k *Knobs) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.set(f)
	return nil
}

// set stores f and restarts the Every N counts; k.mu must be held.
func (k *Knobs) set(f Faults) {
	k.faults = f
	k.requests, k.tiles = 0, 0
	close(k.changed)
	k.changed = make(chan struct{})
}

// hold waits while the entry at index last is held back (Faults.HoldFrom),
// re-reading the settings each time they change. It returns false if ctx
// ends first.
func (k *Knobs) hold(ctx context.Context, last int64) bool {
	counted := false
	for {
		k.mu.Lock()
		from, changed := k.faults.HoldFrom, k.changed
		if from > 0 && last >= from && !counted {
			k.stats.Faults[FaultHold]++
			counted = true
		}
		k.mu.Unlock()
		if from <= 0 || last < from {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// UpdateFaults applies change to a copy of the settings and stores it like
// SetFaults.
func (k *Knobs) UpdateFaults(change func(*Faults)) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.faults
	change(&f)
	if err := f.validate(); err != nil {
		return err
	}
	k.set(f)
	return nil
}

// Stats returns a copy of the counters.
func (k *Knobs) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return Stats{Requests: maps.Clone(k.stats.Requests), Faults: maps.Clone(k.stats.Faults)}
}

// decision is what the knobs decided for one request.
type decision struct {
	faults   Faults // settings at admission
	fault    Fault  // fault answering the request instead of the handler ("" for none)
	truncate bool   // cut the body if the handler succeeds
}

// every reports whether count hits an Every-n knob.
func every(n int, count int64) bool { return n > 0 && count%int64(n) == 0 }

// admit counts a request to ep and decides its faults. The fault it returns
// is counted; truncation is counted by countFault when it is applied.
func (k *Knobs) admit(ep Endpoint) decision {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests++
	k.stats.Requests[ep]++
	f := k.faults
	d := decision{faults: f, truncate: every(f.TruncateEvery, k.requests)}
	if ep.isTile() {
		k.tiles++
	}
	switch {
	case f.Down:
		d.fault = FaultDown
	case f.RedirectTo != "":
		d.fault = FaultRedirect
	case f.Reject != 0:
		d.fault = FaultReject
	case every(f.RateLimitEvery, k.requests):
		d.fault = FaultRateLimit
	case every(f.ServerErrorEvery, k.requests):
		d.fault = FaultServerError
	case ep.isTile() && every(f.Tile404Every, k.tiles):
		d.fault = FaultTile404
	}
	if d.fault != "" {
		k.stats.Faults[d.fault]++
	}
	if f.Delay > 0 {
		k.stats.Faults[FaultDelay]++
	}
	return d
}

// countFault counts one injected fault.
func (k *Knobs) countFault(f Fault) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stats.Faults[f]++
}
