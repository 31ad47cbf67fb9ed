package wire

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain.example.test", `"plain.example.test"`},
		{`q"b\`, `"q\"b\\"`},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"\x00\x01\x1a\x1f", `"\u0000\u0001\u001a\u001f"`},
		{"<>&\x7f", "\"<>&\x7f\""},
		{"\u2028\u2029é日本😀", "\"\u2028\u2029é日本😀\""},
		{"a\xffb", "\"a\uFFFDb\""},
		{"\xe2\x82", "\"\uFFFD\""},                  // truncated sequence: one U+FFFD per invalid run
		{"\xed\xa0\x80é", "\"\uFFFDé\""},            // surrogate half
		{"x\xc0\xaf\n\xff", "\"x\uFFFD\\n\uFFFD\""}, // overlong, and a run at the end
	} {
		got := string(appendString([]byte("prefix"), tc.in))
		if got != "prefix"+tc.want {
			t.Errorf("appendString(%q) = %s, want %s", tc.in, strings.TrimPrefix(got, "prefix"), tc.want)
			continue
		}
		var back string
		if err := json.Unmarshal([]byte(tc.want), &back); err != nil {
			t.Errorf("appendString(%q) = %s: not valid JSON: %v", tc.in, tc.want, err)
		}
	}
}

// TestAppendStringDecodes checks, for random byte strings, that the output is
// valid JSON decoding to strings.ToValidUTF8 of the input.
func TestAppendStringDecodes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("a\"\\\x00\x1f\n<\x7f\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\xff\xed\xa0")
	var buf []byte
	for range 20000 {
		in := make([]byte, r.IntN(12))
		for i := range in {
			in[i] = alphabet[r.IntN(len(alphabet))]
		}
		buf = appendString(buf[:0], string(in))
		var back string
		if err := json.Unmarshal(buf, &back); err != nil {
			t.Fatalf("appendString(%q) = %s: %v", in, buf, err)
		}
		if want := strings.ToValidUTF8(string(in), "\uFFFD"); back != want {
			t.Fatalf("appendString(%q) = %s decodes to %q, want %q", in, buf, back, want)
		}
	}
}

func TestAppendSeconds(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want string
	}{
		{0, "0.0"},
		{1, "0.001"},
		{10, "0.01"},
		{999, "0.999"},
		{1000, "1.0"},
		{1700000000000, "1700000000.0"},
		{1779299687576, "1779299687.576"},
		{1779299687570, "1779299687.57"},
		{1779299687500, "1779299687.5"},
		{1700000000001, "1700000000.001"},
		{-1500, "-1.5"},
		{-9223372036854775808, "-9223372036854775.808"},
	} {
		if got := string(appendSeconds(nil, tc.ms)); got != tc.want {
			t.Errorf("appendSeconds(%d) = %s, want %s", tc.ms, got, tc.want)
		}
	}
	if got, want := string(appendUnsignedSeconds(nil, 18446744073709551615)), "18446744073709551.615"; got != want {
		t.Errorf("appendUnsignedSeconds(MaxUint64) = %s, want %s", got, want)
	}
}

// TestAppendSecondsIsShortestFloat checks that the integer formatting equals
// the shortest round-trip form of the float64 ms/1000 (with ".0" kept) for
// millisecond timestamps of the next few centuries.
func TestAppendSecondsIsShortestFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		ms := r.Int64N(10_000_000_000_000) // up to year 2286
		want := strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
		if !strings.Contains(want, ".") {
			want += ".0"
		}
		if got := string(appendSeconds(nil, ms)); got != want {
			t.Fatalf("appendSeconds(%d) = %s, shortest float form is %s", ms, got, want)
		}
	}
}

func TestAppendHexPairs(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{nil, `""`},
		{[]byte{0x0a}, `"0A"`},
		{[]byte{0x00, 0xff, 0x9c}, `"00:FF:9C"`},
	} {
		if got := string(appendHexPairs(nil, tc.in)); got != tc.want {
			t.Errorf("appendHexPairs(%x) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
