package wire

import "strconv"

// AppendEvent appends payload as a server-sent event carrying id:
// "id: <id>\ndata: <payload>\n\n". A client that reconnects sends the last
// id it saw as Last-Event-ID.
func AppendEvent(dst []byte, id uint64, payload []byte) []byte {
	dst = append(dst, "id: "...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, payload...)
	return append(dst, '\n', '\n')
}

// AppendWithSeq appends msg, a JSON object, with a last key "seq" holding
// seq: {"message_type":...,"seq":<seq>}. It is the message as clients that
// asked for sequence numbers get it.
func AppendWithSeq(dst, msg []byte, seq uint64) []byte {
	if len(msg) == 0 || msg[len(msg)-1] != '}' {
		return append(dst, msg...)
	}
	dst = append(dst, msg[:len(msg)-1]...)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, '}')
}

// Gap is what a notice tells a client it missed.
type Gap struct {
	// Reason is "resume" (the resume point is older than the replay
	// window), "restart" (it is from before the node's restart, or from
	// the cluster's stream before it was created anew: how many were
	// missed is unknown) or "dropped" (the client's queue overflowed).
	Reason string
	// Missed is how many messages were missed (not written for "restart").
	Missed uint64
	// After is the sequence number the client resumed after, Next the
	// first one it gets ("resume" and "restart").
	After, Next uint64
	// DroppedTotal is every message dropped for the client so far
	// ("dropped").
	DroppedTotal uint64
}

// AppendGap appends the gap notice for g:
//
//	{"message_type":"gap","reason":"resume","missed":N,"after":S,"next":M}
//	{"message_type":"gap","reason":"restart","after":S,"next":M}
//	{"message_type":"gap","reason":"dropped","missed":N,"dropped_total":D}
func AppendGap(dst []byte, g Gap) []byte {
	dst = append(dst, `{"message_type":"gap","reason":`...)
	dst = appendString(dst, g.Reason)
	if g.Reason != "restart" {
		dst = append(dst, `,"missed":`...)
		dst = strconv.AppendUint(dst, g.Missed, 10)
	}
	if g.Reason == "dropped" {
		dst = append(dst, `,"dropped_total":`...)
		dst = strconv.AppendUint(dst, g.DroppedTotal, 10)
	} else {
		dst = append(dst, `,"after":`...)
		dst = strconv.AppendUint(dst, g.After, 10)
		dst = append(dst, `,"next":`...)
		dst = strconv.AppendUint(dst, g.Next, 10)
	}
	return append(dst, '}')
}
