package fakelog

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// RFC 6962 paths under the log URL.
const (
	pathGetSTH     = "ct/v1/get-sth"
	pathGetEntries = "ct/v1/get-entries"
)

// sthJSON is the get-sth response body.
type sthJSON struct {
	TreeSize          int64  `json:"tree_size"`
	Timestamp         int64  `json:"timestamp"`
	SHA256RootHash    []byte `json:"sha256_root_hash"`
	TreeHeadSignature []byte `json:"tree_head_signature"`
}

// entriesJSON is the get-entries response body.
type entriesJSON struct {
	Entries []leafJSON `json:"entries"`
}

// leafJSON is one get-entries entry.
type leafJSON struct {
	LeafInput []byte `json:"leaf_input"`
	ExtraData []byte `json:"extra_data"`
}

// classifyRFC6962 names the endpoint of an RFC 6962 request path.
func classifyRFC6962(rest string) Endpoint {
	switch rest {
	case pathGetSTH:
		return EndpointGetSTH
	case pathGetEntries:
		return EndpointGetEntries
	}
	return EndpointOther
}

// serveRFC6962 answers get-sth and get-entries.
func (l *Log) serveRFC6962(rest string, query url.Values, f Faults) response {
	switch rest {
	case pathGetSTH:
		h, _, err := l.servedHead(l.snapshot(), f)
		if err != nil {
			return serverError(err)
		}
		return jsonResponse(sthJSON{TreeSize: h.Size, Timestamp: h.Timestamp, SHA256RootHash: h.RootHash[:], TreeHeadSignature: h.Signature})
	case pathGetEntries:
		return l.getEntries(query, f)
	}
	return notFound()
}

// getEntries answers get-entries: start and end are 0-based and end is
// inclusive; the page is capped (and optionally aligned) to the page size.
func (l *Log) getEntries(query url.Values, f Faults) response {
	start, err := queryIndex(query, "start")
	if err != nil {
		return badRequest(err.Error())
	}
	end, err := queryIndex(query, "end")
	if err != nil {
		return badRequest(err.Error())
	}
	if end < start {
		return badRequest(fmt.Sprintf("end %d before start %d", end, start))
	}
	s := l.snapshot()
	size := s.size()
	if start >= size {
		return badRequest(fmt.Sprintf("start %d beyond tree size %d", start, size))
	}
	if start < s.floor {
		return notRetained(http.StatusBadRequest, s.floor)
	}
	page := f.pageSize()
	last := min(end, size-1, start+page-1)
	if f.AlignPages {
		last = min(last, (start/page+1)*page-1)
	}
	out := entriesJSON{Entries: make([]leafJSON, 0, last-start+1)}
	for i := start; i <= last; i++ {
		e := s.entry(i)
		out.Entries = append(out.Entries, leafJSON{
			LeafInput: merkleTreeLeaf(e, &l.ca.IssuerKeyHash, l.leafExtensions(i)),
			ExtraData: extraDataOf(e, l.ca),
		})
	}
	return jsonResponse(out)
}

// queryIndex parses a non-negative decimal query parameter.
func queryIndex(query url.Values, name string) (int64, error) {
	v := query.Get(name)
	if v == "" {
		return 0, fmt.Errorf("missing parameter %q", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("parameter %q = %q is not a non-negative integer", name, v)
	}
	return n, nil
}

// serverError is a plain 500 naming err.
func serverError(err error) response {
	return response{status: http.StatusInternalServerError, contentType: textPlain, body: []byte(err.Error() + "\n")}
}

// jsonResponse encodes v as a 200 JSON response.
func jsonResponse(v any) response {
	body, err := json.Marshal(v)
	if err != nil {
		return serverError(err)
	}
	return response{status: http.StatusOK, contentType: "application/json", body: body}
}
