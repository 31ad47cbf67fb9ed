package node

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/clusterlink/clustertest"
)

// numberedMessage is what a client with seq=1 and notices=1 is sent, as far
// as these tests look: a certificate's number, or a notice.
type numberedMessage struct {
	Type   string `json:"message_type"`
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
	After  uint64 `json:"after"`
	Next   uint64 `json:"next"`
}

// numbers describes c's messages: "1 2 3 restart(3,1) 1 …".
func numbers(t *testing.T, c *client) []string {
	t.Helper()
	var out []string
	for _, m := range c.snapshot() {
		var n numberedMessage
		if err := json.Unmarshal([]byte(m), &n); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n.Type == "gap" {
			out = append(out, fmt.Sprintf("%s(%d,%d)", n.Reason, n.After, n.Next))
		} else {
			out = append(out, fmt.Sprint(n.Seq))
		}
	}
	return out
}

// seqRange describes the numbers from..to as numbers does.
func seqRange(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}

// The stream deleted and created again (by an operator; or an embedded
// server that lost its store) numbers its certificates from 1 anew. The
// edge, and the ingest (which serves its clients from the stream too),
// notice within seconds, count the reset and serve the new stream: a
// connected client is told "restart" and gets the new numbers, and a
// client resuming after an old number is told "restart" too.
func TestEdgeFollowsARecreatedStream(t *testing.T) {
	f := newFakeLogs(t)
	f.holdNavigli(t)
	ingestCfg, edgeCfg := clusterConfigs(t, f)
	in := startNode(t, ingestCfg, Options{})
	defer shutdown(t, in)
	edge := startNode(t, edgeCfg(in, t.TempDir()), Options{})
	defer shutdown(t, edge)
	awaitReading(t, edge)
	live := dialWS(t, edge.Addr(), "/?seq=1&notices=1")
	atIngest := dialWS(t, in.Addr(), "/?seq=1&notices=1")
	await.True(t, 10*time.Second, "the clients to be subscribed", func() bool {
		return edge.Clients.Totals().ConnectionCount() == 1 && in.Clients.Totals().ConnectionCount() == 1
	})

	appendAll(t, f, 10) // 30 certificates
	await.True(t, 30*time.Second, "the clients to get the old stream's 30", func() bool { return live.count() == 30 && atIngest.count() == 30 })

	clustertest.DeleteStream(t, in.NATS.ClientURL(), ingestCfg.Cluster.Stream)
	if err := in.Link.EnsureStream(t.Context()); err != nil {
		t.Fatal(err)
	}
	appendAll(t, f, 5) // the new stream's 1..15
	want := append(append(seqRange(1, 30), "restart(30,1)"), seqRange(1, 15)...)
	for _, c := range []*client{live, atIngest} {
		await.True(t, 30*time.Second, "the clients to get the new stream's 15", func() bool { return c.count() >= len(want) },
			func() { t.Logf("client got %v", numbers(t, c)) })
	}
	time.Sleep(300 * time.Millisecond) // anything extra would arrive now
	for _, c := range []*client{live, atIngest} {
		if got := numbers(t, c); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("client connected across the reset got\n%v\nwant\n%v", got, want)
		}
	}

	resumed := dialWS(t, edge.Addr(), "/?seq=1&notices=1&since=25")
	want = append([]string{"restart(25,1)"}, seqRange(1, 15)...)
	await.True(t, 10*time.Second, "the resumed client to get the new stream", func() bool { return resumed.count() >= len(want) })
	if got := numbers(t, resumed); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("client resuming after 25 of the old stream got %v, want %v", got, want)
	}
	for _, n := range []*Node{edge, in} {
		st, _ := n.clusterStatus()
		ec, _ := statsCluster(t, n)["consumer"].(map[string]any)
		if st.Resets != 1 || st.Gap != 0 || st.LastSeq != 15 || ec["stream_resets"] != 1.0 {
			t.Errorf("%s status %+v, /api/stats consumer %v; want 1 reset, no gap, last 15", n.role, st, ec)
		}
	}
}
