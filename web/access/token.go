package access

import (
	"crypto/sha256"
	"crypto/subtle"
)

// tokenMatches reports whether got is one of want, in time that depends on
// neither got nor where it differs: both sides are hashed to equal length,
// and every token is compared. An empty got never matches.
func tokenMatches(got string, want []string) bool {
	g := sha256.Sum256([]byte(got))
	ok := 0
	for _, w := range want {
		h := sha256.Sum256([]byte(w))
		ok |= subtle.ConstantTimeCompare(g[:], h[:]) & nonEmpty(w)
	}
	return ok == 1 && got != ""
}

// nonEmpty is 1 for a non-empty token and 0 for "" (never a valid token).
func nonEmpty(s string) int {
	return subtle.ConstantTimeLessOrEq(1, len(s))
}
