package ctclient

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies a failed request; its String is a metric label.
type Kind int

// The kinds of failure. The zero Kind is not used by this package.
const (
	// RateLimited is an HTTP 429 answer; Error.RetryAfter holds the server's hint.
	RateLimited Kind = iota + 1
	// ServerError is an HTTP 5xx (or otherwise unexpected non-4xx) answer.
	ServerError
	// Timeout is a deadline, timeout or connection failure (other than a
	// name that did not resolve, DNS): no usable answer came.
	Timeout
	// NotFound is an HTTP 404 answer.
	NotFound
	// BadRequest is an HTTP 4xx answer other than 404 and 429, or a request the
	// client refuses to send.
	BadRequest
	// Decode is a body that could not be used: truncated, garbage, bad JSON or
	// base64, oversized, or inconsistent with the request.
	Decode
	// BadSignature is a missing or invalid signature on a tree head.
	BadSignature
	// Redirect is an HTTP 3xx answer that was not followed: to another
	// origin (scheme, host and port) than the request's, or too many.
	Redirect
	// TooLarge is a body larger than what the request can need.
	TooLarge
	// Inconsistent is an answer that contradicts what the log showed
	// before, such as a smaller tree. This package does not detect it; its
	// callers, which remember the log's past answers, do.
	Inconsistent
	// DNS is a host name that did not resolve: no request was sent.
	DNS
)

// String returns the metric label of k: "429", "5xx", "timeout", "not_found",
// "4xx", "decode_error", "bad_signature", "redirect", "too_large",
// "inconsistent" or "dns".
func (k Kind) String() string {
	switch k {
	case RateLimited:
		return "429"
	case ServerError:
		return "5xx"
	case Timeout:
		return "timeout"
	case NotFound:
		return "not_found"
	case BadRequest:
		return "4xx"
	case Decode:
		return "decode_error"
	case BadSignature:
		return "bad_signature"
	case Redirect:
		return "redirect"
	case TooLarge:
		return "too_large"
	case Inconsistent:
		return "inconsistent"
	case DNS:
		return "dns"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is the error returned by every request of this package.
type Error struct {
	Op         string        // what was asked: "get-sth", "get-entries", "checkpoint", "data-tile", "issuer"
	URL        string        // the full request URL (which includes the range or tile)
	Kind       Kind          // the class of failure
	Status     int           // the HTTP status, 0 when no response was read
	RetryAfter time.Duration // the server's Retry-After hint, 0 when absent
	Err        error         // the underlying cause, may be nil
	// Detail is what the log answered beyond the status: the start of the
	// body of an error answer, or the Location of a redirect not followed.
	// It is the log's own content, so it is not part of Error (which the
	// node publishes); log it at debug level at most.
	Detail string
}

// Error describes what failed and where.
func (e *Error) Error() string {
	msg := "ctclient: " + e.Op + " " + e.URL + ": " + e.Kind.String()
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, and false when
// there is none.
func KindOf(err error) (Kind, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return 0, false
}
