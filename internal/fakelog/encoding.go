package fakelog

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
)

// TLS enum values of RFC 6962.
const (
	entryTypeX509    = 0
	entryTypePrecert = 1
	hashAlgSHA256    = 4
	sigAlgECDSA      = 3
	leafIndexExtType = 0
)

// entry is one published log entry.
type entry struct {
	timestamp int64  // ms since the epoch, the TimestampedEntry.timestamp
	cert      []byte // certificate or precertificate DER; garbage bytes when garbage
	tbs       []byte // precert only: TBSCertificate without the poison extension
	precert   bool
	garbage   bool
}

// appendUint24Prefixed appends data with a uint24 length prefix.
func appendUint24Prefixed(b, data []byte) []byte {
	n := len(data)
	return append(append(b, byte(n>>16), byte(n>>8), byte(n)), data...)
}

// appendUint16Prefixed appends data with a uint16 length prefix.
func appendUint16Prefixed(b, data []byte) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(data))), data...)
}

// appendASN1Cert appends an RFC 6962 ASN.1Cert (uint24 length ‖ DER).
func appendASN1Cert(b, der []byte) []byte { return appendUint24Prefixed(b, der) }

// leafIndexExtensions encodes CtExtensions holding the static-ct leaf_index
// extension: type 0 ‖ uint16 length 5 ‖ uint40 index.
func leafIndexExtensions(index int64) []byte {
	return []byte{leafIndexExtType, 0, 5, byte(index >> 32), byte(index >> 24), byte(index >> 16), byte(index >> 8), byte(index)}
}

// appendTimestampedEntry appends the RFC 6962 TimestampedEntry of e. ext is
// the raw CtExtensions content (nil for none).
func appendTimestampedEntry(b []byte, e *entry, issuerKeyHash *[32]byte, ext []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(e.timestamp))
	if e.precert {
		b = binary.BigEndian.AppendUint16(b, entryTypePrecert)
		b = append(b, issuerKeyHash[:]...)
		b = appendASN1Cert(b, e.tbs)
	} else {
		b = binary.BigEndian.AppendUint16(b, entryTypeX509)
		b = appendASN1Cert(b, e.cert)
	}
	return appendUint16Prefixed(b, ext)
}

// merkleTreeLeaf encodes the MerkleTreeLeaf (version 0, leaf_type 0) of e.
func merkleTreeLeaf(e *entry, issuerKeyHash *[32]byte, ext []byte) []byte {
	return appendTimestampedEntry([]byte{0, 0}, e, issuerKeyHash, ext)
}

// extraDataOf encodes the RFC 6962 get-entries extra_data of e: the chain, and
// for a precert the pre_certificate before it.
func extraDataOf(e *entry, ca *CA) []byte {
	b := make([]byte, 0, 3+len(e.cert)+len(ca.chainASN1))
	if e.precert {
		b = appendASN1Cert(b, e.cert)
	}
	return append(b, ca.chainASN1...)
}

// appendTileLeaf appends the static-ct TileLeaf of e at index.
func appendTileLeaf(b []byte, e *entry, index int64, ca *CA) []byte {
	b = appendTimestampedEntry(b, e, &ca.IssuerKeyHash, leafIndexExtensions(index))
	if e.precert {
		b = appendASN1Cert(b, e.cert)
	}
	return appendUint16Prefixed(b, ca.chainFP)
}

// TreeHead is a signed RFC 6962 tree head.
type TreeHead struct {
	Size      int64    // tree_size
	Timestamp int64    // ms since the epoch
	RootHash  [32]byte // sha256_root_hash
	Signature []byte   // TLS DigitallySigned: hash 4, sig 3, uint16 length, ECDSA ASN.1 signature
}

// treeHeadSignatureInput is the RFC 6962 §3.5 TreeHeadSignature input:
// version v1 ‖ signature_type tree_hash ‖ timestamp ‖ tree_size ‖ root.
func treeHeadSignatureInput(timestamp, size int64, root [32]byte) []byte {
	b := []byte{0, 1}
	b = binary.BigEndian.AppendUint64(b, uint64(timestamp))
	b = binary.BigEndian.AppendUint64(b, uint64(size))
	return append(b, root[:]...)
}

// signTreeHead signs a tree head with the log key.
func signTreeHead(key *ecdsa.PrivateKey, timestamp, size int64, root [32]byte) (TreeHead, error) {
	digest := sha256.Sum256(treeHeadSignatureInput(timestamp, size, root))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return TreeHead{}, fmt.Errorf("fakelog: signing tree head: %w", err)
	}
	ds := appendUint16Prefixed([]byte{hashAlgSHA256, sigAlgECDSA}, sig)
	return TreeHead{Size: size, Timestamp: timestamp, RootHash: root, Signature: ds}, nil
}

// checkpointBody is the signed-note text of a static-ct checkpoint.
func checkpointBody(origin string, size int64, root [32]byte) string {
	return origin + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// checkpointKeyID is SHA-256(origin ‖ 0x0A ‖ 0x05 ‖ logID)[:4], the key ID of
// an RFC 6962 note signature.
func checkpointKeyID(origin string, logID [32]byte) []byte {
	h := sha256.New()
	h.Write([]byte(origin))
	h.Write([]byte{'\n', 0x05})
	h.Write(logID[:])
	return h.Sum(nil)[:4]
}

// formatCheckpoint renders a signed checkpoint whose key name is origin.
func formatCheckpoint(origin string, logID [32]byte, th TreeHead) string {
	sig := checkpointKeyID(origin, logID)
	sig = binary.BigEndian.AppendUint64(sig, uint64(th.Timestamp))
	sig = append(sig, th.Signature...)
	return checkpointBody(origin, th.Size, th.RootHash) + "\n" + signatureLine(origin, sig)
}

// signatureLine renders one signed-note signature line.
func signatureLine(name string, sig []byte) string {
	return "— " + name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

// witness is a fake witness producing C2SP cosignature/v1 lines that a node
// does not know and must ignore.
type witness struct {
	name string
	key  ed25519.PrivateKey
	id   []byte // SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]
}

// newWitness generates a witness key.
func newWitness(name string) (*witness, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fakelog: witness key: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', 0x04})
	h.Write(pub)
	return &witness{name: name, key: priv, id: h.Sum(nil)[:4]}, nil
}

// cosign returns a cosignature/v1 line over a checkpoint body at time ts (seconds).
func (w *witness) cosign(body string, ts int64) string {
	msg := "cosignature/v1\ntime " + strconv.FormatInt(ts, 10) + "\n" + body
	sig := binary.BigEndian.AppendUint64(append([]byte{}, w.id...), uint64(ts))
	sig = append(sig, ed25519.Sign(w.key, []byte(msg))...)
	return signatureLine(w.name, sig)
}
