package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/web/server"
)

// Stats is the /api/stats answer.
type Stats struct {
	UptimeSecs  float64 `json:"uptime_secs"`
	Connections struct {
		Total int `json:"total"`
		// ByStream counts clients per stream ("lite", "full", "domains")
		// and transport ("ws", "sse").
		ByStream map[string]map[string]int `json:"by_stream"`
	} `json:"connections"`
	MessagesSent          uint64 `json:"messages_sent"` // messages written to clients
	BytesSent             uint64 `json:"bytes_sent"`
	CertificatesProcessed uint64 `json:"certificates_processed"` // published after dedup
	MessagesDropped       uint64 `json:"messages_dropped"`       // dropped for slow or departed clients
	ClientQueueDepth      int    `json:"client_queue_depth"`     // messages queued for all clients now
	// Cluster is an ingest or edge node's link; absent on a standalone one.
	Cluster *ClusterStats `json:"cluster,omitempty"`
}

// ClusterStats is a clustered node's part of /api/stats.
type ClusterStats struct {
	Role      string          `json:"role"`             // "ingest" or "edge"
	Link      string          `json:"link"`             // "up" or "down"
	Server    string          `json:"server,omitempty"` // the NATS server connected to
	Publisher *PublisherStats `json:"publisher,omitempty"`
	Consumer  *ConsumerStats  `json:"consumer,omitempty"`
}

// PublisherStats is an ingest node's publishing to the stream.
type PublisherStats struct {
	Published    uint64 `json:"published"`    // certificates handed to the link
	Acknowledged uint64 `json:"acknowledged"` // acknowledged by the stream, duplicates included
	Duplicates   uint64 `json:"duplicates"`   // already stored (another ingest node)
	Pending      int    `json:"pending"`      // awaiting an ack
	Errors       uint64 `json:"errors"`       // failed attempts
	Retried      uint64 `json:"retried"`      // failed attempts published again
	Abandoned    uint64 `json:"abandoned"`    // given up: edges miss them
}

// ConsumerStats is an edge node's reading of the stream.
type ConsumerStats struct {
	Consumed     uint64  `json:"consumed"`      // certificates routed
	LastSeq      uint64  `json:"last_seq"`      // the last sequence routed
	LagMessages  uint64  `json:"lag_messages"`  // stored after the last one read
	LagSecs      float64 `json:"lag_seconds"`   // age of the last one read, while behind
	GapMessages  uint64  `json:"gap_messages"`  // sequences the stream no longer had
	StreamResets uint64  `json:"stream_resets"` // times the stream was found created anew
	BadMessages  uint64  `json:"bad_messages"`  // did not decode
}

func (src *Sources) stats(ctx *fasthttp.RequestCtx) {
	t := src.Clients.Totals()
	var s Stats
	s.UptimeSecs = src.uptime()
	s.Connections.Total = t.ConnectionCount()
	s.Connections.ByStream = map[string]map[string]int{}
	for st := range wire.Stream(wire.NumStreams) {
		by := map[string]int{}
		for tr := range wire.Transport(wire.NumTransports) {
			by[tr.String()] = t.Connections[st][tr]
		}
		s.Connections.ByStream[st.String()] = by
	}
	s.MessagesSent, s.BytesSent = src.Sent()
	s.CertificatesProcessed = t.Certificates
	s.MessagesDropped = t.Dropped
	s.ClientQueueDepth = t.QueuedSum
	if src.Cluster != nil {
		s.Cluster = src.Cluster()
	}
	writeJSON(ctx, fasthttp.StatusOK, s)
}

// LogStatus is one log in /api/logs. What is not known yet (before the
// first head, or before a cursor) is null.
type LogStatus struct {
	Name        string     `json:"name"`
	URL         string     `json:"url"`
	Operator    string     `json:"operator"`
	Kind        string     `json:"kind"`
	Status      string     `json:"status"`
	Cursor      *uint64    `json:"cursor"`    // the next index to deliver
	TreeSize    *uint64    `json:"tree_size"` // at the last head fetched
	LagEntries  *uint64    `json:"lag_entries"`
	LagSecs     *float64   `json:"lag_seconds"`
	Errors      uint64     `json:"errors"`
	LastError   string     `json:"last_error,omitempty"`
	LastSuccess *time.Time `json:"last_success"` // null before the first
	Restarts    int        `json:"restarts"`
}

// logStatus is l's entry in /api/logs given its follower's status.
func logStatus(l follow.Log, st follow.Status) LogStatus {
	ls := LogStatus{Name: l.Name, URL: l.URL, Operator: l.Operator, Kind: l.Kind, Status: st.Health,
		Errors: st.Errors, LastError: st.LastError}
	if st.CursorKnown {
		ls.Cursor = &st.Next
	}
	if st.HeadKnown {
		ls.TreeSize = &st.TreeSize
	}
	if st.CursorKnown && st.HeadKnown {
		ls.LagEntries, ls.LagSecs = &st.LagEntries, &st.LagSeconds
	}
	if !st.LastSuccess.IsZero() {
		ls.LastSuccess = &st.LastSuccess
	}
	return ls
}

func (src *Sources) logs(ctx *fasthttp.RequestCtx) {
	out := []LogStatus{}
	for _, f := range src.Fetchers.Fetchers() {
		ls := logStatus(f.Handle.Log(), f.Handle.Status())
		ls.Restarts = f.Budget.Restarts()
		if f.Budget.GaveUp() {
			ls.Status = "failed"
		}
		out = append(out, ls)
	}
	writeJSON(ctx, fasthttp.StatusOK, struct {
		Logs []LogStatus `json:"logs"`
	}{out})
}

// cert answers /api/cert/{hash} with the full-stream message of a recent
// certificate.
func (src *Sources) cert(ctx *fasthttp.RequestCtx) {
	hash := strings.TrimPrefix(string(ctx.Path()), PathCertPrefix)
	u, err := src.Recent.Lookup(hash)
	switch {
	case err != nil:
		server.Error(ctx, fasthttp.StatusBadRequest, err.Error())
	case u == nil:
		server.Error(ctx, fasthttp.StatusNotFound,
			fmt.Sprintf("no certificate with that hash among the %d most recent", src.Recent.Len()))
	default:
		ctx.SetContentType("application/json")
		ctx.SetBody(wire.AppendFull(nil, u))
	}
}

// example answers /example.json[?stream=lite|full|domains] with the latest
// certificate as that stream sends it, or Sample before the first one.
func (src *Sources) example(ctx *fasthttp.RequestCtx) {
	encode, ok := encoders[string(ctx.QueryArgs().Peek("stream"))]
	if !ok {
		server.Error(ctx, fasthttp.StatusBadRequest, `stream must be "lite", "full" or "domains"`)
		return
	}
	u := src.Recent.Latest()
	if u == nil {
		u = Sample
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(encode(nil, u))
}

// encoders are the stream encoders by /example.json's stream value.
var encoders = map[string]func([]byte, *wire.Update) []byte{
	"": wire.AppendLite, "lite": wire.AppendLite, "full": wire.AppendFull,
	"domains": wire.AppendDomainsOnly, "domains-only": wire.AppendDomainsOnly,
}
