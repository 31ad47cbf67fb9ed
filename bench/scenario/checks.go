package scenario

import (
	"fmt"

	"github.com/certstream/certstream/bench/client"
)

// Targets of the filters and compression scenarios.
const (
	targetFilterCPU        = 1.0 // µs of server CPU per certificate per distinct filter
	targetCompressionRatio = 2.0 // uncompressed over compressed wire bytes per message, lite and full
)

// filterChecks wants every filtered client to receive exactly the window's
// certificates its filter matches (by the reference client's names), and
// reports the server's CPU per certificate per distinct filter and its
// filter evaluations per certificate.
func filterChecks(r *Result) []Check {
	out := lossless(r)
	var unmatched, excess int64
	filters := 0
	for _, g := range r.Groups {
		unmatched += g.Unmatched
		excess += g.Excess
		if g.Name != "reference" {
			filters += g.Clients
		}
	}
	out = append(out, check("filtered clients get exactly the matching certificates", "0 missing, 0 extra, 0 unmatched",
		excess == 0 && unmatched == 0 && !lostAny(r) && r.Published > 0,
		"%d extra, %d not matching their filter", excess, unmatched))
	if s := r.Server; s != nil && r.Published > 0 && filters > 0 {
		perFilter := s.CPUSecs / float64(r.Published) / float64(filters) * 1e6
		out = append(out, check("server CPU per certificate per distinct filter", fmt.Sprintf("<= %.1f µs", targetFilterCPU),
			perFilter <= targetFilterCPU, "%.3f µs (%.1f µs per certificate, %d distinct filters)",
			perFilter, s.CPUSecs/float64(r.Published)*1e6, filters))
		if s.FilterEvaluations >= 0 {
			per := float64(s.FilterEvaluations) / float64(r.Published)
			out = append(out, check("filter evaluations per certificate", fmt.Sprintf("<= %d (distinct filters)", filters),
				per <= float64(filters), "%.1f", per))
		}
	}
	return out
}

// lostAny reports whether a client got fewer messages than it expected.
func lostAny(r *Result) bool {
	for _, g := range r.Groups {
		if g.Lost > 0 {
			return true
		}
	}
	return false
}

// compressionGroup names a group of the compression scenario.
func compressionGroup(s client.Stream, deflate bool) string {
	if deflate {
		return string(s) + " deflate"
	}
	return string(s) + " plain"
}

// compressionChecks compares the wire bytes per delivered message of each
// stream with and without permessage-deflate, and reports the server's CPU
// per delivered message over both.
func compressionChecks(r *Result) []Check {
	out := lossless(r)
	perMsg := map[string]float64{}
	for _, g := range r.Groups {
		if n := g.Expected*int64(g.Clients) - g.Lost + g.Excess; n > 0 { // delivered
			perMsg[g.Name] = float64(g.Wire) / float64(n)
		}
	}
	for _, st := range []client.Stream{client.Lite, client.Full, client.Domains} {
		plain, deflate := perMsg[compressionGroup(st, false)], perMsg[compressionGroup(st, true)]
		ratio := 0.0
		if deflate > 0 {
			ratio = plain / deflate
		}
		want, pass := "reported", ratio > 0
		if st != client.Domains {
			want, pass = fmt.Sprintf(">= %.0f× fewer", targetCompressionRatio), ratio >= targetCompressionRatio
		}
		out = append(out, check(string(st)+" wire bytes per message, plain / deflate", want, pass,
			"%.0f / %.0f B = %.2f×", plain, deflate, ratio))
	}
	if s := r.Server; s != nil && r.Delivered > 0 {
		out = append(out, check("server CPU per delivered message (all groups)", "reported", true,
			"%.2f µs", s.CPUSecs/float64(r.Delivered)*1e6))
	}
	return out
}

// resumeChecks wants the reconnecting clients to have reconnected and to
// have received every certificate of the window exactly once.
func resumeChecks(r *Result) []Check {
	out := lossless(r)
	var sessions, repeated, skipped, excess int64
	clients := 0
	for _, g := range r.Groups {
		sessions, repeated, skipped, excess = sessions+g.Sessions, repeated+g.Repeated, skipped+g.Skipped, excess+g.Excess
		clients += g.Connected
	}
	return append(out,
		check("clients reconnected during the window", "more sessions than clients", sessions > int64(clients),
			"%d sessions by %d clients", sessions, clients),
		check("resumed clients lose and repeat nothing", "0 skipped, 0 repeated, 0 extra",
			repeated == 0 && skipped == 0 && excess == 0, "%d skipped, %d repeated, %d extra", skipped, repeated, excess))
}
