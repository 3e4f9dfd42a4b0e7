package registry

import "unicode/utf8"

// cleanText trims s, turns every ASCII whitespace or control byte into a space, replaces
// invalid UTF-8 with U+FFFD and cuts the result to max bytes, never inside a UTF-8 sequence
// (netdata's rule for URLs and names, made to yield valid text: every answer, snapshot and
// export is then valid UTF-8 on every host). Cleaning a cleaned value changes nothing. It
// returns a sub-slice of s when nothing needs changing, else a copy in *buf (which it may
// grow).
func cleanText(s []byte, max int, buf *[]byte) []byte {
	for len(s) > 0 && isSpaceOrCtl(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpaceOrCtl(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	plain := true // printable ASCII only: nearly every URL and name
	for _, c := range s {
		if c < ' ' || c >= 0x7f {
			plain = false
			break
		}
	}
	if !plain {
		s = cleanRunes(s, buf)
	}
	if len(s) > max {
		// Trim again after the cut, so cleaning a cleaned value changes nothing.
		s = trimUTF8(s[:max])
		for len(s) > 0 && isSpaceOrCtl(s[len(s)-1]) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// cleanRunes copies s (trimmed) into *buf with control characters made spaces and invalid
// UTF-8 replaced by U+FFFD, unless s needs neither.
func cleanRunes(s []byte, buf *[]byte) []byte {
	dirty := !utf8.Valid(s)
	for i := 0; i < len(s) && !dirty; i++ {
		dirty = s[i] < ' ' || s[i] == 0x7f
	}
	if !dirty {
		return s
	}
	b := (*buf)[:0]
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < ' ' || c == 0x7f {
				c = ' '
			}
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	*buf = b
	return b
}

func isSpaceOrCtl(c byte) bool { return c <= ' ' || c == 0x7f }

// trimUTF8 drops a UTF-8 sequence cut in half at the end of s, so a length limit never
// produces invalid text.
func trimUTF8(s []byte) []byte {
	n := len(s)
	for i := n - 1; i >= 0 && i >= n-4; i-- {
		c := s[i]
		if c < 0x80 {
			return s
		}
		if c >= 0xc0 { // start byte: is its sequence complete?
			need := 2
			if c >= 0xf0 {
				need = 4
			} else if c >= 0xe0 {
				need = 3
			}
			if n-i >= need {
				return s
			}
			return s[:i]
		}
	}
	return s
}

// hiddenURL is the placeholder netdata uses for URLs that must not be shown.
const hiddenURL = "***"
