package certfields

import "github.com/certstream/certstream/internal/wire"

// ParseBoth parses der with the fast path and with the x509 parser, for
// differential tests: fast is nil when the fast path declined, slow and err
// are the x509 parser's result.
func ParseBoth(der []byte) (fast, slow *wire.Cert, err error) {
	var fastNames, slowNames []string
	fast, fastNames, ok := parseFast(der)
	if !ok {
		fast = nil
	}
	slow, slowNames, err = parseSlow(der)
	for _, c := range []struct {
		c     *wire.Cert
		names []string
	}{{fast, fastNames}, {slow, slowNames}} {
		if c.c != nil {
			c.c.DER = der
			c.c.AllDomains = allDomains(c.c.Subject.CN, c.c.IsCA, c.names)
		}
	}
	return fast, slow, err
}
