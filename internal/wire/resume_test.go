package wire

import "testing"

func TestResumeEncoders(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{string(AppendEvent(nil, 42, []byte(`{"a":1}`))), "id: 42\ndata: {\"a\":1}\n\n"},
		{string(AppendWithSeq(nil, []byte(`{"message_type":"dns_entries","data":["a"]}`), 7)),
			`{"message_type":"dns_entries","data":["a"],"seq":7}`},
		{string(AppendGap(nil, Gap{Reason: "resume", Missed: 3, After: 10, Next: 14})),
			`{"message_type":"gap","reason":"resume","missed":3,"after":10,"next":14}`},
		{string(AppendGap(nil, Gap{Reason: "restart", After: 10, Next: 99})),
			`{"message_type":"gap","reason":"restart","after":10,"next":99}`},
		{string(AppendGap(nil, Gap{Reason: "dropped", Missed: 2, DroppedTotal: 5})),
			`{"message_type":"gap","reason":"dropped","missed":2,"dropped_total":5}`},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
