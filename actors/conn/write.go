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

// maxWriteBytes bounds one write of several frames: a batch of large
// frames (the full stream's) goes out in several writes of at most this
// much, so that no write copies megabytes or blocks on a client for long.
const maxWriteBytes = 512 << 10

// writeBatch writes wb.frames (at least one) under a deadline of timeout
// for each write: with a single write when they fit in maxWriteBytes,
// copied together into wb.b when there are several, and returns how many
// frames (and bytes) reached the socket completely and how many writes it
// made; on error the rest are lost.
func (s *Socket) writeBatch(wb *writeBuf, timeout time.Duration) (frames, bytes, writes int, err error) {
	for i := 0; i < len(wb.frames); {
		p, j := wb.frames[i], i+1
		if j < len(wb.frames) && len(p)+len(wb.frames[j]) <= maxWriteBytes {
			wb.b = append(wb.b[:0], p...)
			for ; j < len(wb.frames) && len(wb.b)+len(wb.frames[j]) <= maxWriteBytes; j++ {
				wb.b = append(wb.b, wb.frames[j]...)
			}
			p = wb.b
		}
		n, err := s.write(p, timeout)
		writes++
		if err != nil {
			for _, f := range wb.frames[i:j] {
				if len(f) > n {
					break
				}
				n -= len(f)
				bytes += len(f)
				frames++
			}
			return frames, bytes, writes, err
		}
		frames, bytes, i = frames+j-i, bytes+n, j
	}
	return frames, bytes, writes, nil
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
