package registry

// cleanText trims s, turns every ASCII whitespace or control byte into a space and cuts the
// result to max bytes (netdata's rule for URLs and names). It returns a sub-slice of s when
// nothing needs changing, else a copy in *buf (which it may grow).
func cleanText(s []byte, max int, buf *[]byte) []byte {
	for len(s) > 0 && isSpaceOrCtl(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpaceOrCtl(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	if len(s) > max {
		// Trim again after the cut, so cleaning a cleaned value changes nothing.
		s = trimUTF8(s[:max])
		for len(s) > 0 && isSpaceOrCtl(s[len(s)-1]) {
			s = s[:len(s)-1]
		}
	}
	dirty := false
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			dirty = true
			break
		}
	}
	if !dirty {
		return s
	}
	b := append((*buf)[:0], s...)
	for i, c := range b {
		if c < ' ' || c == 0x7f {
			b[i] = ' '
		}
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
