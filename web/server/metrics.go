package server

import (
	"fmt"

	"github.com/VictoriaMetrics/metrics"

	"github.com/certstream/certstream/actors/conn"
	"github.com/certstream/certstream/internal/wire"
)

// Client metrics (certstream_*, labelled by transport and stream or close
// reason, never by connection):
//
//	certstream_client_connections{transport,stream}        live connections (gauge)
//	certstream_client_connections_total{transport,stream}  connections accepted
//	certstream_client_disconnects_total{transport,reason}  connections ended, by reason
//	certstream_client_frames_written_total{transport}      queued messages written
//	certstream_client_writes_total{transport}              socket writes carrying them
//	certstream_client_bytes_written_total{transport}       bytes of those messages
//	certstream_messages_sent                               queued messages written, all transports
//	certstream_ws_connections_total                        WebSocket connections accepted
var (
	liveGauges    [wire.NumTransports][wire.NumStreams]*metrics.Gauge
	acceptedTotal [wire.NumTransports][wire.NumStreams]*metrics.Counter
	framesWritten [wire.NumTransports]*metrics.Counter
	writes        [wire.NumTransports]*metrics.Counter
	bytesWritten  [wire.NumTransports]*metrics.Counter
	messagesSent  = metrics.NewCounter("certstream_messages_sent")
	wsAccepted    = metrics.NewCounter("certstream_ws_connections_total")
)

func init() {
	for t := range wire.NumTransports {
		tr := wire.Transport(t)
		for st := range wire.NumStreams {
			labels := fmt.Sprintf(`{transport=%q,stream=%q}`, tr, wire.Stream(st))
			liveGauges[t][st] = metrics.GetOrCreateGauge("certstream_client_connections"+labels, nil)
			acceptedTotal[t][st] = metrics.GetOrCreateCounter("certstream_client_connections_total" + labels)
		}
		framesWritten[t] = metrics.GetOrCreateCounter(fmt.Sprintf(`certstream_client_frames_written_total{transport=%q}`, tr))
		bytesWritten[t] = metrics.GetOrCreateCounter(fmt.Sprintf(`certstream_client_bytes_written_total{transport=%q}`, tr))
		writes[t] = metrics.GetOrCreateCounter(fmt.Sprintf(`certstream_client_writes_total{transport=%q}`, tr))
	}
}

// Sent returns the messages (and their bytes) this server has written to
// its clients, all transports.
func (s *Server) Sent() (msgs, bytes uint64) {
	return s.sentMsgs.Load(), s.sentBytes.Load()
}

func connected(t wire.Transport, s wire.Stream) {
	liveGauges[t][s].Inc()
	acceptedTotal[t][s].Inc()
	if t == wire.WebSocket {
		wsAccepted.Inc()
	}
}

func disconnected(t wire.Transport, s wire.Stream) { liveGauges[t][s].Dec() }

// hooksFor returns the connection actor hooks feeding the metrics of t and
// the server's own counts.
func (s *Server) hooksFor(t wire.Transport) conn.Hooks {
	frames, bytes, calls := framesWritten[t], bytesWritten[t], writes[t]
	return conn.Hooks{
		OnWrite: func(w, n, b int) {
			calls.Add(w)
			frames.Add(n)
			bytes.Add(b)
			messagesSent.Add(n)
			s.sentMsgs.Add(uint64(n))
			s.sentBytes.Add(uint64(b))
		},
		OnClose: func(reason string) {
			metrics.GetOrCreateCounter(fmt.Sprintf(`certstream_client_disconnects_total{transport=%q,reason=%q}`, t, reason)).Inc()
		},
	}
}
