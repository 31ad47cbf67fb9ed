package conn

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wsframe"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(tb testing.TB) (server *net.TCPConn, client *net.TCPConn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		tb.Fatal("accept failed")
	}
	tb.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

func benchFrames(n, size int) [][]byte {
	frames := make([][]byte, n)
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	for i := range frames {
		frames[i] = wsframe.AppendText(nil, payload)
	}
	return frames
}

// BenchmarkDrainWrite64 measures the write path for 64 queued frames on a
// loopback TCP connection (a goroutine reads the other end): drain them from
// the ring, write them, report them. "copy" is what the actor does (copy
// into one pooled buffer, one Write); "writev" is the alternative measured
// against it (net.Buffers, one writev, no copy).
func BenchmarkDrainWrite64(b *testing.B) {
	for _, size := range []int{600, 4000} {
		frames := benchFrames(64, size)
		total := 0
		for _, f := range frames {
			total += len(f)
		}
		for _, mode := range []string{"copy", "writev"} {
			b.Run(fmt.Sprintf("%s/%dB", mode, size), func(b *testing.B) {
				srv, cli := tcpPair(b)
				go io.Copy(io.Discard, cli)
				s := NewSocket(srv, nil)
				ring := mailbox.New[[]byte](128)
				var vec net.Buffers
				b.SetBytes(int64(total))
				b.ReportAllocs()
				for b.Loop() {
					for _, f := range frames {
						ring.Push(f)
					}
					wb := getBuf()
					wb.frames = ring.Drain(wb.frames[:0], 64)
					var err error
					if mode == "copy" {
						_, _, _, err = s.writeBatch(wb, timeoutForBench)
					} else {
						_ = srv.SetWriteDeadline(time.Now().Add(timeoutForBench))
						_, err = writeVec(srv, wb.frames, &vec)
					}
					if err != nil {
						b.Fatal(err)
					}
					ring.Done(len(wb.frames), 0)
					putBuf(wb)
				}
			})
		}
	}
}

const timeoutForBench = 10 * time.Second

// writeVec is the alternative measured against writeBatch: writev through
// net.Buffers on a TCP connection, without copying.
func writeVec(c *net.TCPConn, frames [][]byte, vec *net.Buffers) (int64, error) {
	*vec = append((*vec)[:0], frames...)
	return vec.WriteTo(c)
}
