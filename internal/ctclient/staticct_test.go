package ctclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestDataTilePath(t *testing.T) {
	for _, tc := range []struct {
		n     uint64
		width int
		want  string
	}{
		{0, 0, "tile/data/000"},
		{3, 10, "tile/data/003.p/10"},
		{3, 256, "tile/data/003"},
		{999, 255, "tile/data/999.p/255"},
		{1000, 0, "tile/data/x001/000"},
		{1234, 1, "tile/data/x001/234.p/1"},
		{1234067, 0, "tile/data/x001/x234/067"},
		{18446744073709551615, 0, "tile/data/x018/x446/x744/x073/x709/x551/615"},
	} {
		if got := DataTilePath(tc.n, tc.width); got != tc.want {
			t.Errorf("DataTilePath(%d, %d) = %q, want %q", tc.n, tc.width, got, tc.want)
		}
	}
}

// serveCheckpoint serves note as the checkpoint of a log under /log/.
func serveCheckpoint(t *testing.T, note []byte) string {
	t.Helper()
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/log/checkpoint" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(note)
	}) + "/log"
}

func TestCheckpointVerifies(t *testing.T) {
	for _, tc := range []struct {
		file string
		size uint64
		root string
		ts   uint64
	}{
		{"checkpoint", 1024, "EMfGG85uIddeOXt5/wdQGP3IQd0COCqoLg9Q6CsPLJA=", 1746292699102},
		{"checkpoint.778", 778, "+WnHOMRZl/LG1669oeskbdK9bcO4nkrY1cfVyknC52U=", 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			note := navigliFile(t, tc.file)
			// The timestamp is the u64 after the 4-byte key ID of the signature.
			sig := note[bytes.LastIndexByte(note[:len(note)-1], ' ')+1:]
			blob, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
			if err != nil {
				t.Fatal(err)
			}
			wantTS := binary.BigEndian.Uint64(blob[4:12])
			for _, origin := range []string{navigliOrigin, ""} {
				c := &StaticCT{MonitoringURL: serveCheckpoint(t, note), HTTP: testClient(), PublicKey: testLogKey(t), Origin: origin}
				cp, err := c.GetCheckpoint(context.Background())
				if err != nil {
					t.Fatalf("origin %q: %v", origin, err)
				}
				root, _ := base64.StdEncoding.DecodeString(tc.root)
				if cp.Origin != navigliOrigin || cp.TreeSize != tc.size || !bytes.Equal(cp.RootHash[:], root) || cp.Timestamp != wantTS {
					t.Errorf("origin %q: checkpoint %+v", origin, cp)
				}
				if tc.ts != 0 && cp.Timestamp != tc.ts {
					t.Errorf("timestamp %d, want %d", cp.Timestamp, tc.ts)
				}
			}
		})
	}
}

// editNote returns the navigli checkpoint with old replaced by new once.
func editNote(t *testing.T, old, new string) []byte {
	t.Helper()
	note := string(navigliFile(t, "checkpoint"))
	if !strings.Contains(note, old) {
		t.Fatalf("checkpoint does not contain %q", old)
	}
	return []byte(strings.Replace(note, old, new, 1))
}

func TestCheckpointSignatureLines(t *testing.T) {
	note := string(navigliFile(t, "checkpoint"))
	text, logSig, _ := strings.Cut(note, "\n\n")
	text += "\n\n"
	witness := "\u2014 witness.example/w1 " + base64.StdEncoding.EncodeToString([]byte("\x01\x02\x03\x04cosignature-bytes")) + "\n"
	// Same name and key ID as the log's line, but a broken signature.
	blob, _ := base64.StdEncoding.DecodeString(strings.Fields(logSig)[2])
	broken := append(append([]byte{}, blob[:12]...), 4, 3, 0, 2, 0, 0)
	decoy := "\u2014 " + navigliOrigin + " " + base64.StdEncoding.EncodeToString(broken) + "\n"
	for name, tc := range map[string]struct {
		note string
		ok   bool
	}{
		"witness after":      {text + logSig + witness, true},
		"witness before":     {text + witness + logSig, true},
		"malformed lines":    {text + "garbage line\n\u2014 nospace\n\u2014 x !!!\n" + logSig, true},
		"decoy first":        {text + decoy + logSig, true},
		"decoy only":         {text + decoy, false},
		"witness only":       {text + witness, false},
		"no signature lines": {text, false},
		"renamed":            {text + strings.Replace(logSig, navigliOrigin, "other.example", 1), false},
	} {
		t.Run(name, func(t *testing.T) {
			c := &StaticCT{MonitoringURL: serveCheckpoint(t, []byte(tc.note)), HTTP: testClient(), PublicKey: testLogKey(t), Origin: navigliOrigin}
			cp, err := c.GetCheckpoint(context.Background())
			if tc.ok {
				if err != nil || cp.TreeSize != 1024 {
					t.Fatalf("checkpoint %+v, %v", cp, err)
				}
				return
			}
			wantKind(t, err, BadSignature)
		})
	}
}

func TestCheckpointBadSignature(t *testing.T) {
	for name, tc := range map[string]struct {
		note   []byte
		key    bool
		origin string
	}{
		"tampered size":   {editNote(t, "\n1024\n", "\n1025\n"), true, navigliOrigin},
		"tampered root":   {editNote(t, "\nEMfGG85u", "\nEMfGG85v"), true, navigliOrigin},
		"tampered ts":     {editNote(t, "kYlcJwAAAZaXJ+/e", "kYlcJwAAAZaXJ+/f"), true, navigliOrigin},
		"wrong key":       {navigliFile(t, "checkpoint"), false, navigliOrigin},
		"other origin":    {navigliFile(t, "checkpoint"), true, "mon.example/log"},
		"tampered origin": {editNote(t, navigliOrigin+"\n1024", "navigli2025h2.resigned.tesT\n1024"), true, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c := &StaticCT{MonitoringURL: serveCheckpoint(t, tc.note), HTTP: testClient(), PublicKey: testLogKey(t), Origin: tc.origin}
			if !tc.key {
				c.PublicKey = newECDSAKey(t).Public()
			}
			_, err := c.GetCheckpoint(context.Background())
			e := wantKind(t, err, BadSignature)
			if !strings.Contains(e.Error(), "/log/checkpoint") {
				t.Errorf("message %q does not say where", e.Error())
			}
		})
	}
	// Without a key the same tampered note parses: the signature is what
	// catches it.
	c := &StaticCT{MonitoringURL: serveCheckpoint(t, editNote(t, "\n1024\n", "\n1025\n")), HTTP: testClient()}
	if cp, err := c.GetCheckpoint(context.Background()); err != nil || cp.TreeSize != 1025 || cp.Timestamp != 1746292699102 {
		t.Errorf("unverified checkpoint %+v, %v", cp, err)
	}
}

func TestCheckpointDecodeErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		note   []byte
		origin string
	}{
		"no blank line":  {[]byte(navigliOrigin + "\n1024\nEMfGG85uIddeOXt5/wdQGP3IQd0COCqoLg9Q6CsPLJA=\n"), ""},
		"size not a num": {editNote(t, "\n1024\n", "\n1O24\n"), ""},
		"size signed":    {editNote(t, "\n1024\n", "\n+1024\n"), ""},
		"size zero pad":  {editNote(t, "\n1024\n", "\n01024\n"), ""},
		"short root":     {editNote(t, "EMfGG85uIddeOXt5/wdQGP3IQd0COCqoLg9Q6CsPLJA=", "EMfGG85u"), ""},
		"two lines":      {[]byte(navigliOrigin + "\n1024\n\n\u2014 x AAAA\n"), ""},
		"empty origin":   {editNote(t, navigliOrigin+"\n1024", "\n1024"), ""},
		"other origin":   {navigliFile(t, "checkpoint"), "mon.example/log"},
		"empty":          {nil, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c := &StaticCT{MonitoringURL: serveCheckpoint(t, tc.note), HTTP: testClient(), Origin: tc.origin}
			_, err := c.GetCheckpoint(context.Background())
			wantKind(t, err, Decode)
		})
	}
}

func TestCheckpointExtensionLines(t *testing.T) {
	// Extension lines are not part of the signed RFC 6962 tree head, so the
	// log's signature still verifies with one present.
	note := editNote(t, "PLJA=\n\n", "PLJA=\nsome extension\n\n")
	c := &StaticCT{MonitoringURL: serveCheckpoint(t, note), HTTP: testClient(), PublicKey: testLogKey(t)}
	if cp, err := c.GetCheckpoint(context.Background()); err != nil || cp.TreeSize != 1024 {
		t.Errorf("checkpoint with an extension line: %+v, %v", cp, err)
	}
}

func TestGetDataTile(t *testing.T) {
	gzipped := func(w http.ResponseWriter, path string, body []byte) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gzipBytes(body))
	}
	sniffed := func(w http.ResponseWriter, path string, body []byte) {
		_, _ = w.Write(gzipBytes(body))
	}
	for name, encode := range map[string]func(http.ResponseWriter, string, []byte){
		"identity": nil, "gzip": gzipped, "gzip without header": sniffed,
	} {
		t.Run(name, func(t *testing.T) {
			c := &StaticCT{MonitoringURL: serveNavigli(t, encode), HTTP: testClient()}
			for _, tc := range []struct {
				n     uint64
				width int
				file  string
			}{
				{0, 0, "000"}, {1, 256, "001"}, {3, 0, "003"}, {3, 10, "003.p/10"},
			} {
				got, err := c.GetDataTile(context.Background(), tc.n, tc.width)
				if err != nil {
					t.Fatalf("tile %d/%d: %v", tc.n, tc.width, err)
				}
				if want := navigliFile(t, "tile", "data", tc.file); !bytes.Equal(got, want) {
					t.Errorf("tile %d/%d: %d bytes differ from the %d of %s", tc.n, tc.width, len(got), len(want), tc.file)
				}
			}
			for _, missing := range [][2]int{{4, 0}, {3, 5}, {1000, 0}} {
				_, err := c.GetDataTile(context.Background(), uint64(missing[0]), missing[1])
				e := wantKind(t, err, NotFound)
				if !strings.Contains(e.URL, DataTilePath(uint64(missing[0]), missing[1])) {
					t.Errorf("NotFound URL %q", e.URL)
				}
			}
		})
	}
}

func TestGetDataTileBadWidth(t *testing.T) {
	c := &StaticCT{MonitoringURL: "http://127.0.0.1:1/", HTTP: testClient()}
	for _, w := range []int{-1, 257} {
		_, err := c.GetDataTile(context.Background(), 0, w)
		wantKind(t, err, BadRequest)
	}
}

func TestGetDataTileGzipBomb(t *testing.T) {
	for _, width := range []int{0, 3} {
		leaves := int64(width)
		if width == 0 {
			leaves = TileWidth
		}
		limit := leaves * maxTileLeafBody
		// Concatenated gzip members of 64 KiB of zeros each: a small body
		// that decompresses one byte past the tile's cap.
		bomb := bytes.Repeat(gzipBytes(make([]byte, maxTileLeafBody)), int(leaves))
		bomb = append(bomb, gzipBytes([]byte{0})...)
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb)
		})
		c := &StaticCT{MonitoringURL: url, HTTP: testClient()}
		_, err := c.GetDataTile(context.Background(), 0, width)
		e := wantKind(t, err, TooLarge)
		if want := strconv.FormatInt(limit, 10) + "-byte cap"; !strings.Contains(e.Error(), want) {
			t.Errorf("width %d: message %q does not mention the %s", width, e.Error(), want)
		}
	}
}

func TestGunzipCapIsExact(t *testing.T) {
	payload := []byte("0123456789")
	if got, err := gunzip(gzipBytes(payload), 10); err != nil || !bytes.Equal(got, payload) {
		t.Errorf("gunzip at the cap: %q, %v", got, err)
	}
	if _, err := gunzip(gzipBytes(payload), 9); err == nil {
		t.Error("gunzip past the cap succeeded")
	}
}

func TestGetIssuer(t *testing.T) {
	der := navigliFile(t, "tile", "data", "003.p", "10")[:700] // any bytes serve
	fp := sha256.Sum256(der)
	other := [32]byte{9}
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/issuer/" + hex.EncodeToString(fp[:]):
			_, _ = w.Write(der)
		case "/issuer/" + hex.EncodeToString(other[:]):
			_, _ = w.Write(der) // the wrong certificate
		default:
			http.NotFound(w, r)
		}
	})
	c := &StaticCT{MonitoringURL: url, HTTP: testClient()}
	got, err := c.GetIssuer(context.Background(), fp)
	if err != nil || !bytes.Equal(got, der) {
		t.Fatalf("GetIssuer: %d bytes, %v", len(got), err)
	}
	_, err = c.GetIssuer(context.Background(), other)
	if e := wantKind(t, err, Decode); !strings.Contains(e.URL, hex.EncodeToString(other[:])) {
		t.Errorf("Decode error URL %q", e.URL)
	}
	_, err = c.GetIssuer(context.Background(), [32]byte{7})
	wantKind(t, err, NotFound)
}

// BenchmarkCheckpointVerify parses and verifies the navigli checkpoint.
func BenchmarkCheckpointVerify(b *testing.B) {
	note := navigliFile(b, "checkpoint")
	pub := testLogKey(b)
	for b.Loop() {
		if _, err := decodeCheckpoint(note, navigliOrigin, pub); err != nil {
			b.Fatal(err)
		}
	}
}
