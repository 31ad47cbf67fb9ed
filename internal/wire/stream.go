package wire

import "github.com/certstream/certstream/internal/wsframe"

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
