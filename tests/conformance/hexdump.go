package conformance

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The expected snapshots are hex dumps, not binary files: a review sees the URLs and names in
// the text column and a diff shows which lines changed. Format, per line: an 8-digit hex
// offset, two spaces, up to 16 bytes as hex pairs separated by spaces (an extra space after
// the eighth), then "  |text|". Lines starting with '#' are comments.
// vectors.mjs parses the same format for the JS runners.

// HexDump formats data with a comment line on top.
func HexDump(comment string, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s: %d bytes\n", comment, len(data))
	for off := 0; off < len(data); off += 16 {
		row := data[off:min(off+16, len(data))]
		fmt.Fprintf(&b, "%08x ", off)
		for i := range 16 {
			if i == 8 {
				b.WriteByte(' ')
			}
			if i < len(row) {
				fmt.Fprintf(&b, " %02x", row[i])
			} else {
				b.WriteString("   ")
			}
		}
		b.WriteString("  |")
		for _, c := range row {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			b.WriteByte(c)
		}
		b.WriteString("|\n")
	}
	return b.Bytes()
}

// ParseHexDump reads HexDump's format back.
func ParseHexDump(text []byte) ([]byte, error) {
	var out []byte
	for no, line := range strings.Split(string(text), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexByte(line, '|'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f[0]) != 8 {
			return nil, fmt.Errorf("hex dump line %d: malformed", no+1)
		}
		var off [4]byte
		if _, err := hex.Decode(off[:], []byte(f[0])); err != nil || int(off[0])<<24|int(off[1])<<16|int(off[2])<<8|int(off[3]) != len(out) {
			return nil, fmt.Errorf("hex dump line %d: offset %s, want %08x", no+1, f[0], len(out))
		}
		for _, p := range f[1:] {
			if len(p) != 2 {
				return nil, fmt.Errorf("hex dump line %d: %q is not a byte", no+1, p)
			}
			b, err := hex.DecodeString(p)
			if err != nil {
				return nil, fmt.Errorf("hex dump line %d: %w", no+1, err)
			}
			out = append(out, b[0])
		}
	}
	return out, nil
}

func isText(b []byte) bool { return utf8.Valid(b) }

// isPlainText reports whether b is UTF-8 text of lines (no control bytes but tab and newline).
func isPlainText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}
