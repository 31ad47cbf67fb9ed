package router

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// TestColdEntriesKeepNoFrames: once older than frameLife, the window's
// entries let their frames go, so the window holds fewer bytes for the
// same certificates; a client resuming from them still gets exactly the
// bytes live clients got, built for it, and the window keeps none of them.
func TestColdEntriesKeepNoFrames(t *testing.T) {
	clock := fixtures.NewClock(time.UnixMilli(1_767_225_600_000))
	e, r := startRouter(Config{Sequence: func([]*wire.Update) {}, Now: clock.Now})
	liveSSE, _ := subscribeWith(t, e, r, messages.Subscribe{Stream: wire.StreamFull, Transport: wire.SSE, Name: "sse"})
	liveWS, _ := subscribe(t, e, r, wire.StreamLite, wire.WebSocket, "ws")
	windowBytes := func() int64 { return inspect(t, e, r).Details["window"].(map[string]any)["bytes"].(int64) }

	old := numbered(t, 1, 5)
	e.Send(r, messages.Published{Updates: old})
	warm := windowBytes()
	clock.Advance(frameLife*time.Millisecond + time.Second)
	fresh := numbered(t, 6, 1)
	e.Send(r, messages.Published{Updates: fresh})
	afterChill := windowBytes()
	var frames int64
	for _, u := range old {
		frames += int64(len(serializeFor(wire.StreamFull, wire.SSE, u)) + len(serializeFor(wire.StreamLite, wire.WebSocket, u)))
	}
	if afterChill >= warm {
		t.Fatalf("window holds %d bytes after the first five went cold, %d before", afterChill, warm)
	}
	if afterChill > warm-frames+int64(len(serializeFor(wire.StreamFull, wire.SSE, fresh[0]))+len(serializeFor(wire.StreamLite, wire.WebSocket, fresh[0])))+4096 {
		t.Errorf("window holds %d bytes, %d before: the cold entries' %d bytes of frames are still counted", afterChill, warm, frames)
	}

	resumed, _ := subscribeWith(t, e, r, messages.Subscribe{Stream: wire.StreamFull, Transport: wire.SSE, Name: "again", Resume: true, Since: 0})
	inspect(t, e, r)
	live := liveSSE.ring.Drain(nil, 100)
	if got := resumed.ring.Drain(nil, 100); len(got) != 6 || !slices.EqualFunc(got, live, bytes.Equal) {
		t.Errorf("a resuming client got %d messages, not the %d bytes-for-bytes the live client got", len(got), len(live))
	}
	if n := len(liveWS.ring.Drain(nil, 100)); n != 6 {
		t.Errorf("live WebSocket client got %d messages, want 6", n)
	}
	if b := windowBytes(); b != afterChill {
		t.Errorf("window holds %d bytes after the replay, %d before: it kept frames built for a replay", b, afterChill)
	}
}
