// Package human prints figures the way people read them: sizes in binary units (1.5 KiB,
// 2.3 GiB) and counts with SI suffixes (12.3K, 1.2M), in the CLI's output and the benchmark
// reports alike.
package human

import (
	"fmt"
	"strings"
)

// Bytes prints a size: 512 B, 1.5 KiB, 2.3 GiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Count prints a count with an SI suffix: 950, 12.3K, 1.2M.
func Count(n uint64) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/1e3)) + "K"
	case n < 1_000_000_000:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/1e6)) + "M"
	}
	return trimZero(fmt.Sprintf("%.1f", float64(n)/1e9)) + "G"
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }
