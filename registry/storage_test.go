package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	good := []string{"a", "0", "registry.conf.1", "registry.db.3", "registry.log", "a-b_c.d", strings.Repeat("x", MaxNameLen)}
	for _, name := range good {
		if err := ValidName(name); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", name, err)
		}
	}
	bad := []string{"", "../x", "a/b", "a\\b", "/abs", ".", "..", ".hidden", "-x", "_x", "a..b", "x..",
		"A", "Registry.conf", "a b", "a\x00b", "a\nb", "é", strings.Repeat("x", MaxNameLen+1)}
	for _, name := range bad {
		err := ValidName(name)
		if !errors.Is(err, ErrBadName) {
			t.Errorf("ValidName(%q) = %v, want ErrBadName", name, err)
		} else if !strings.HasPrefix(err.Error(), "registry: ") {
			t.Errorf("ValidName(%q) message %q lacks the package prefix", name, err)
		}
	}
}

func TestFileError(t *testing.T) {
	err := error(&FileError{Op: "write", Name: "registry.db.2", Err: ErrNoSpace})
	if got, want := err.Error(), "registry: write registry.db.2: no space left on storage"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Error("FileError does not match its cause")
	}
	if got := (&FileError{Name: "registry.log", Err: ErrCorrupt}).Error(); got != "registry: registry.log: corrupt data" {
		t.Errorf("without Op: %q", got)
	}
	d := withDetail(ErrCorrupt, "crc32 mismatch", ErrCrashed, nil)
	if d.Error() != "registry: corrupt data: crc32 mismatch" || !errors.Is(d, ErrCorrupt) || !errors.Is(d, ErrCrashed) {
		t.Errorf("withDetail: %q, Is(ErrCorrupt) %v, Is(ErrCrashed) %v", d, errors.Is(d, ErrCorrupt), errors.Is(d, ErrCrashed))
	}
}
