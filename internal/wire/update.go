package wire

// Source names the CT log an update came from, as written in "source".
type Source struct {
	Name string // the log's description
	URL  string // the log URL as configured or listed, verbatim
}

// Update is a certificate ready to be serialized: a decoded entry plus where
// and when the node saw it.
type Update struct {
	Entry
	Source   *Source
	CertLink string
	Seen     int64 // node clock when processed, Unix milliseconds
	// Seq is the certificate's sequence number, assigned once where it is
	// published (the router of a standalone node); 0 until then.
	Seq uint64
}
