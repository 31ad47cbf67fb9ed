package loglist

import (
	"crypto"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"sync"
)

// The embedded snapshot, the same file as internal/fixtures/testdata/loglist, Google's v3
// list v85.92 of 2026-05-29, with Google's signature over it and Google's
// list-signing public key.
var (
	//go:embed google_v3_log_list.json
	embeddedJSON []byte
	//go:embed google_v3_log_list.sig
	embeddedSig []byte
	//go:embed google_v3_pubkey.pem
	googlePubPEM []byte
)

// Embedded returns a fresh parse of the embedded snapshot of Google's list,
// the list to start from before a fetch succeeds.
func Embedded() *List {
	l, err := Parse(embeddedJSON)
	if err != nil {
		panic("loglist: the embedded list does not parse: " + err.Error())
	}
	return l
}

// GooglePublicKey returns the embedded key Google signs its list with.
func GooglePublicKey() crypto.PublicKey {
	return googleKey()
}

// googleKey parses the embedded PEM once.
var googleKey = sync.OnceValue(func() crypto.PublicKey {
	pub, err := parsePublicKeyPEM(googlePubPEM)
	if err != nil {
		panic("loglist: the embedded Google key: " + err.Error())
	}
	return pub
})

// parsePublicKeyPEM reads a PEM "PUBLIC KEY" block.
func parsePublicKeyPEM(b []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("no PUBLIC KEY PEM block")
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}
