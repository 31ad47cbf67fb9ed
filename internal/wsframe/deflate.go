package wsframe

import (
	"bytes"
	"compress/flate"
)

// rsv1 marks a frame of a compressed message (RFC 7692 section 6).
const rsv1 = 0x40

// Deflater builds compressed text frames for connections that negotiated
// permessage-deflate with server_no_context_takeover (RFC 7692): each
// message is compressed on its own, so one compressed frame can be written
// to every such connection. A Deflater is not safe for concurrent use.
type Deflater struct {
	w   *flate.Writer
	buf bytes.Buffer
}

// NewDeflater returns a Deflater compressing at flate level (see
// compress/flate; flate.BestSpeed trades ratio for CPU).
func NewDeflater(level int) (*Deflater, error) {
	d := &Deflater{}
	w, err := flate.NewWriter(&d.buf, level)
	if err != nil {
		return nil, err
	}
	d.w = w
	return d, nil
}

// AppendText appends a complete compressed text frame carrying payload:
// RSV1 set, the payload deflated and flushed, without the final
// 0x00 0x00 0xff 0xff the receiver adds back.
func (d *Deflater) AppendText(dst, payload []byte) []byte {
	d.buf.Reset()
	d.w.Reset(&d.buf)
	_, _ = d.w.Write(payload) // writes to a bytes.Buffer do not fail
	_ = d.w.Flush()
	body := bytes.TrimSuffix(d.buf.Bytes(), []byte{0, 0, 0xff, 0xff})
	n := len(dst)
	dst = AppendHeader(dst, OpText, len(body))
	dst[n] |= rsv1
	return append(dst, body...)
}
