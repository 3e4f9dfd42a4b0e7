package registry

import "strconv"

// appendJSONString appends s as a JSON string. Invalid UTF-8 passes through byte for byte
// (netdata does the same); control characters are escaped.
func appendJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	return appendEscaped(append(b, '"'), s)
}

// appendEscaped appends s escaped and the closing quote.
func appendEscaped[S ~string | ~[]byte](b []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendGUIDString(b []byte, g GUID) []byte {
	b = append(b, '"')
	b = g.AppendText(b)
	return append(b, '"')
}

// appendHeader opens a netdata registry response: action, status, hostname, machine_guid.
func (r *Registry) appendHeader(b []byte, action, status string) []byte {
	b = append(b, `{"action":"`...)
	b = append(b, action...)
	b = append(b, `","status":"`...)
	b = append(b, status...)
	b = append(b, `","hostname":`...)
	b = appendJSONString(b, r.cfg.Hostname)
	b = append(b, `,"machine_guid":`...)
	b = appendJSONString(b, r.cfg.MachineGUID)
	return b
}

// appendURLEntry appends one URL entry: netdata's [machine_guid, url, last_t*1000, usages, name]
// plus, sixth, netdata's registry.db flags (1 = EXPIRED: the URL now reaches another machine).
// netdata's dashboard reads the first five by position, so the extra element is invisible to
// it while ours can show the flag.
//
// # Notes
//
// An access answers its person's whole URL list, and through wazero writing it was 90% of
// an access with 20 URLs (36 of 40 µs, ~17 ns per byte of JSON; profiled under wasip1):
// appendJSONString checked a byte at a time and strconv divided 64-bit numbers, both slow
// under Go's wasm backend. The strings are checked eight bytes a word (appendJSONBytes) and
// the numbers formatted in 32 bits (appendUint32; last*1000 is last and "000").
func appendURLEntry(b []byte, m GUID, url []byte, last, usage uint32, name []byte, expired bool) []byte {
	b = append(b, '[')
	b = appendGUIDString(b, m)
	b = append(b, ',')
	b = appendJSONBytes(b, url)
	b = append(b, ',')
	b = appendUint32(b, last)
	if last != 0 {
		b = append(b, "000"...)
	}
	b = append(b, ',')
	b = appendUint32(b, usage&usageMask)
	b = append(b, ',')
	b = appendJSONBytes(b, name)
	if expired {
		return append(b, ",1]"...)
	}
	return append(b, ",0]"...)
}

// appendJSONBytes is appendJSONString for bytes: the prefix that needs no escape, usually
// all of s, is found eight bytes at a time and appended at once.
func appendJSONBytes(b, s []byte) []byte {
	i := 0
	if n := len(s); n >= 8 {
		for ; i+8 <= n; i += 8 {
			if needsEscape(word(s[i:])) {
				break
			}
		}
		if i+8 > n && !needsEscape(word(s[n-8:])) {
			i = n // the last word, overlapping the ones checked, is clean too
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == 0x7f {
			break
		}
	}
	b = append(b, '"')
	b = append(b, s[:i]...)
	if i == len(s) {
		return append(b, '"')
	}
	return appendEscaped(b, s[i:])
}

// needsEscape reports whether a word may hold a byte JSON escapes (below 0x20, '"', '\\',
// 0x7f): the bytes of UTF-8 sequences (0x80 and up) never match. It may report a word that
// holds none (a borrow into the byte above a match), never miss one.
func needsEscape(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - lo) &^ v & hi }
	return ((x-0x20*lo)&^x&hi)|zero(x^0x22*lo)|zero(x^0x5c*lo)|zero(x^0x7f*lo) != 0
}

// appendUint32 appends v in decimal, as strconv.AppendUint does.
func appendUint32(b []byte, v uint32) []byte {
	const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
		"8081828384858687888990919293949596979899"
	var buf [10]byte
	i := len(buf)
	for v >= 100 {
		q := v / 100
		r := (v - q*100) * 2
		i -= 2
		buf[i], buf[i+1] = pairs[r], pairs[r+1]
		v = q
	}
	if v >= 10 {
		i -= 2
		buf[i], buf[i+1] = pairs[2*v], pairs[2*v+1]
	} else {
		i--
		buf[i] = byte('0' + v)
	}
	return append(b, buf[i:]...)
}

func appendUintField(b []byte, key string, v uint64) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, v, 10)
}
