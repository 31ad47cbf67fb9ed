package conn

import (
	"sync"
	"time"

	"github.com/certstream/certstream/internal/wire"
)

// writeBuf is the scratch space of one write: the batch drained from the
// ring, a byte buffer the batch is copied into, and small frames. It comes
// from a pool and goes back after the write, so idle connections hold none.
type writeBuf struct {
	frames [][]byte
	b      []byte
	tmp    []byte
}

// maxPooledBytes keeps one huge batch from pinning its buffer in the pool.
const maxPooledBytes = 1 << 20

var bufPool = sync.Pool{New: func() any { return new(writeBuf) }}

func getBuf() *writeBuf { return bufPool.Get().(*writeBuf) }

func putBuf(wb *writeBuf) {
	clear(wb.frames) // do not keep shared message bytes alive
	wb.frames = wb.frames[:0]
	if cap(wb.b) > maxPooledBytes {
		wb.b = nil
	}
	bufPool.Put(wb)
}

// writeBatch writes wb.frames (at least one) with a single Write under a
// deadline of timeout, copying them into wb.b when there are several, and
// returns how many frames (and bytes) reached the socket completely; on
// error the rest are lost.
func (s *Socket) writeBatch(wb *writeBuf, timeout time.Duration) (frames, bytes int, err error) {
	p := wb.frames[0]
	if len(wb.frames) > 1 {
		wb.b = wb.b[:0]
		for _, f := range wb.frames {
			wb.b = append(wb.b, f...)
		}
		p = wb.b
	}
	n, err := s.write(p, timeout)
	if err == nil {
		return len(wb.frames), n, nil
	}
	for _, f := range wb.frames {
		if bytes+len(f) > n {
			break
		}
		bytes += len(f)
		frames++
	}
	return frames, bytes, err
}

// write writes p with one Write call under a deadline of timeout, after the
// socket's preamble if that is still pending. It returns the bytes of p
// written.
func (s *Socket) write(p []byte, timeout time.Duration) (int, error) {
	if err := s.conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return 0, err
	}
	if len(s.preamble) > 0 {
		if _, err := s.conn.Write(s.preamble); err != nil {
			return 0, err
		}
		s.preamble = nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	return s.conn.Write(p)
}

// sseHeartbeat is the SSE comment written to an idle stream.
const sseHeartbeat = ": heartbeat\n\n"

// heartbeat builds in wb.b the heartbeat for transport t at time now (Unix
// ms): the heartbeat message as a data frame, or for SSE a comment unless
// dataSSE asks for a data event.
func (wb *writeBuf) heartbeat(t wire.Transport, dataSSE bool, now int64) []byte {
	if t == wire.SSE && !dataSSE {
		wb.b = append(wb.b[:0], sseHeartbeat...)
		return wb.b
	}
	wb.tmp = wire.AppendHeartbeat(wb.tmp[:0], now)
	wb.b = wire.AppendFrame(wb.b[:0], t, wb.tmp)
	return wb.b
}
