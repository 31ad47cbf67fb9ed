// Package fakelog is a fake Certificate Transparency log server for tests
// and load tests: a real HTTP server on 127.0.0.1 hosting several logs, each
// speaking RFC 6962 (get-sth, get-entries) or C2SP static-ct-api
// (checkpoint, tiles, issuers) with real certificates issued by a small
// ECDSA CA, a real RFC 6962 Merkle tree and real signatures. Logs grow on
// demand (Log.Append) or at a rate (Server.Run), may forget the bodies of
// old entries so that long load tests hold bounded memory
// (LogConfig.Retain), inject faults on request (Faults), count what they
// serve (Stats), and are described by a Google v3-shaped log list. A
// static-ct fixture directory can be served as a log that grows from one
// checkpoint to the next (StaticDir).
package fakelog
