package wire

import (
	"strconv"
	"unicode/utf8"
)

// JSON building blocks of the certstream encoder. Each appends to dst and
// returns the extended slice; none allocates when dst has enough capacity.

// appendString appends s as a JSON string. Only '"', '\\' and control
// characters (U+0000..U+001F) are escaped: \b \t \n \f \r by name, the others
// as \u00xx with lowercase hex. '<', '>', '&', U+007F, U+2028 and U+2029 are
// written raw. Strings are not guaranteed to be UTF-8 (certfields makes them
// so, but a Cert may come from elsewhere), so every run of bytes that is not
// UTF-8 is replaced by one U+FFFD, as strings.ToValidUTF8 does: the output is
// always valid JSON and valid UTF-8.
func appendString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending, to be copied verbatim
	for i := 0; i < len(s); {
		if plainASCII[s[i]] {
			i++
			continue
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			for i++; i < len(s); i++ { // the rest of the invalid run
				if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size != 1 {
					break
				}
			}
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0x0f])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainASCII reports, for every byte value, whether it is an ASCII character
// that appendString copies unchanged.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendSeconds appends a Unix time given in milliseconds as a JSON number of
// seconds: the exact decimal value ms/1000 with trailing fractional zeros
// trimmed but at least one fractional digit (1700000000000 →
// 1700000000.0, 1779299687576 → 1779299687.576). For every value below 10^15
// ms this is the shortest round-trip form of the float64 ms/1000, as Python
// and serde_json print it; integer arithmetic keeps float artifacts out.
func appendSeconds(dst []byte, ms int64) []byte {
	u := uint64(ms)
	if ms < 0 {
		dst = append(dst, '-')
		u = -u
	}
	return appendUnsignedSeconds(dst, u)
}

// appendUnsignedSeconds is appendSeconds for an unsigned millisecond count.
func appendUnsignedSeconds(dst []byte, ms uint64) []byte {
	dst = strconv.AppendUint(dst, ms/1000, 10)
	frac := ms % 1000
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for n > 1 && digits[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}

// appendHexPairs appends b as a JSON string of uppercase hex pairs joined
// with ':' ("AB:CD:..").
func appendHexPairs(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = AppendFingerprint(dst, b)
	return append(dst, '"')
}

// AppendFingerprint appends b as uppercase hex pairs joined with ':', the
// certstream form of sha1, sha256 and fingerprint (without quotes).
func AppendFingerprint(dst []byte, b []byte) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i, c := range b {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return dst
}

// appendBool appends true or false.
func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}
