// Package ctclient fetches from Certificate Transparency logs over HTTP: the
// signed tree head and entries of RFC 6962 logs, and the checkpoint, data
// tiles and issuers of static-ct (tiled) logs, with checkpoint and tree head
// signature verification, capped and gzip-aware body reading, typed errors
// for back-off decisions, and a shared single-flight issuer cache.
//
// Callers pass the *http.Client (one per operator, so that an operator's logs
// share a connection pool) and the User-Agent. Whatever the client's own
// redirect policy, a redirect is followed only on the request's origin. An
// Error's message never quotes what the log answered; Error.Detail does.
package ctclient
