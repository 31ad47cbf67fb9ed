package ctclient

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// TLS SignatureAndHashAlgorithm values used by CT logs (RFC 5246 §7.4.1.4.1).
const (
	hashSHA256 = 4
	sigRSA     = 1
	sigECDSA   = 3
)

// treeHeadInput returns the RFC 6962 §3.5 TreeHeadSignature input: version
// v1 (0), signature type tree_hash (1), timestamp, tree size and root.
func treeHeadInput(timestamp, size uint64, root [32]byte) []byte {
	b := make([]byte, 0, 2+8+8+32)
	b = append(b, 0, 1)
	b = binary.BigEndian.AppendUint64(b, timestamp)
	b = binary.BigEndian.AppendUint64(b, size)
	return append(b, root[:]...)
}

// verifyTreeHead checks that ds, a TLS DigitallySigned struct, is pub's
// SHA-256 signature over the tree head (timestamp, size, root).
func verifyTreeHead(pub crypto.PublicKey, timestamp, size uint64, root [32]byte, ds []byte) error {
	if len(ds) < 4 {
		return fmt.Errorf("DigitallySigned of %d bytes is shorter than its 4-byte header", len(ds))
	}
	hashAlg, sigAlg, n := ds[0], ds[1], int(binary.BigEndian.Uint16(ds[2:4]))
	sig := ds[4:]
	if len(sig) != n {
		return fmt.Errorf("DigitallySigned announces a %d-byte signature but holds %d bytes", n, len(sig))
	}
	if hashAlg != hashSHA256 {
		return fmt.Errorf("hash algorithm %d, want %d (sha256)", hashAlg, hashSHA256)
	}
	digest := sha256.Sum256(treeHeadInput(timestamp, size, root))
	switch key := pub.(type) {
	case *ecdsa.PublicKey:
		if sigAlg != sigECDSA {
			return fmt.Errorf("signature algorithm %d with an ECDSA key, want %d", sigAlg, sigECDSA)
		}
		if !ecdsa.VerifyASN1(key, digest[:], sig) {
			return errors.New("ECDSA signature does not verify")
		}
	case *rsa.PublicKey:
		if sigAlg != sigRSA {
			return fmt.Errorf("signature algorithm %d with an RSA key, want %d", sigAlg, sigRSA)
		}
		if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
			return fmt.Errorf("RSA signature does not verify: %w", err)
		}
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
	return nil
}
