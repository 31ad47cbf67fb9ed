// Package wsframe builds server-side RFC 6455 WebSocket frames: unmasked,
// unfragmented, appended to a caller's buffer so that a frame can be built
// once and written to many connections.
package wsframe

import (
	"encoding/binary"
	"unicode/utf8"
)

// Opcodes of the frames this package builds (RFC 6455 section 5.2).
const (
	OpText  byte = 0x1
	OpClose byte = 0x8
	OpPing  byte = 0x9
	OpPong  byte = 0xA
)

// Close status codes (RFC 6455 section 7.4.1) the server sends.
const (
	CloseNormal          uint16 = 1000 // normal closure
	CloseGoingAway       uint16 = 1001 // server shutting down, client unresponsive
	ClosePolicyViolation uint16 = 1008 // e.g. a client too slow to keep up
	CloseTooBig          uint16 = 1009 // a client message over the read limit
)

// MaxControlPayload is the largest payload of a control frame (close, ping,
// pong); a close frame's reason gets what is left after the 2-byte code.
const MaxControlPayload = 125

// MaxHeaderLen is the longest header a server frame can have: 2 bytes plus a
// 64-bit extended length.
const MaxHeaderLen = 10

const finBit = 0x80

// AppendHeader appends the header of a final (unfragmented), unmasked frame
// with the given opcode and payload length, using the shortest of the 7, 16
// and 64-bit length encodings. A negative length is treated as 0.
func AppendHeader(dst []byte, opcode byte, length int) []byte {
	n := uint64(max(length, 0))
	b0 := finBit | opcode&0x0f
	switch {
	case n <= 125:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		dst = append(dst, b0, 126)
		return binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, n)
	}
}

// AppendText appends a complete text frame carrying payload.
func AppendText(dst, payload []byte) []byte {
	dst = AppendHeader(dst, OpText, len(payload))
	return append(dst, payload...)
}

// AppendClose appends a close frame with the given status code and reason.
// The reason is cut, on a UTF-8 boundary, to fit the 125-byte control frame
// payload.
func AppendClose(dst []byte, code uint16, reason string) []byte {
	reason = truncateUTF8(reason, MaxControlPayload-2)
	dst = AppendHeader(dst, OpClose, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, code)
	return append(dst, reason...)
}

// AppendPing appends a ping frame; payload beyond 125 bytes is cut off.
func AppendPing(dst, payload []byte) []byte {
	return appendControl(dst, OpPing, payload)
}

// AppendPong appends a pong frame; payload beyond 125 bytes is cut off.
func AppendPong(dst, payload []byte) []byte {
	return appendControl(dst, OpPong, payload)
}

func appendControl(dst []byte, opcode byte, payload []byte) []byte {
	payload = payload[:min(len(payload), MaxControlPayload)]
	dst = AppendHeader(dst, opcode, len(payload))
	return append(dst, payload...)
}

// truncateUTF8 returns the longest prefix of s of at most n bytes that does
// not split a multi-byte character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
