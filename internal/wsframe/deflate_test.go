package wsframe

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"testing"
)

// TestDeflaterFrames: a compressed frame has FIN and RSV1 set, and its
// payload, with the RFC 7692 tail added back, inflates to the message;
// each message stands alone (no context carried over).
func TestDeflaterFrames(t *testing.T) {
	d, err := NewDeflater(flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"message_type":"dns_entries","data":["` + strings.Repeat("www.example.com", 40) + `"]}`)
	for range 2 {
		f := d.AppendText(nil, msg)
		if f[0] != 0x80|rsv1|OpText {
			t.Fatalf("first byte %#x", f[0])
		}
		hdr := 2
		if f[1] == 126 {
			hdr = 4
		}
		if len(f)-hdr >= len(msg)/2 {
			t.Fatalf("%d bytes compressed to %d", len(msg), len(f)-hdr)
		}
		r := flate.NewReader(io.MultiReader(bytes.NewReader(f[hdr:]), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})))
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("inflated %q %v", got, err)
		}
	}
}
