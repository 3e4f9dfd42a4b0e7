package wasidir

import (
	"strings"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// The text Go's syscall package on wasip1 gives each errno a Dir returns: what the module's
// messages show (Go's own texts, not wazero's).
var wasip1Text = map[experimentalsys.Errno]string{
	experimentalsys.EACCES:       "Permission denied",
	experimentalsys.EAGAIN:       "Try again",
	experimentalsys.EBADF:        "Bad file number",
	experimentalsys.EEXIST:       "File exists",
	experimentalsys.EFAULT:       "Bad address",
	experimentalsys.EINTR:        "Interrupted system call",
	experimentalsys.EINVAL:       "Invalid argument",
	experimentalsys.EIO:          "I/O error",
	experimentalsys.EISDIR:       "Is a directory",
	experimentalsys.ELOOP:        "Too many symbolic links",
	experimentalsys.ENAMETOOLONG: "File name too long",
	experimentalsys.ENOENT:       "No such file or directory",
	experimentalsys.ENOTDIR:      "Not a directory",
	experimentalsys.ERANGE:       "Math result not representable",
	experimentalsys.ENOTEMPTY:    "Directory not empty",
	experimentalsys.ENOTSUP:      "Not supported",
	experimentalsys.EPERM:        "Operation not permitted",
	experimentalsys.EROFS:        "Read-only file system",
}

// Explain finds the failure a module's error message reports and returns the message told
// with it, and its error (nil when none is found: msg is returned as is).
//
// The failure is the newest one whose file the message names ("/registry.log") followed by
// the text of the errno the module was given ("I/O error"): that part becomes the file's
// full path and the OS error ("/var/lib/regwasm/registry.log: no space left on device").
// When the message names the file and shows the errno apart, the OS error is added in
// parentheses instead.
func (d *Dir) Explain(msg string) (string, error) {
	failures := d.Failures()
	for _, f := range failures {
		text, ok := wasip1Text[f.Errno]
		if !ok {
			continue
		}
		for _, named := range guestNames(f.Name) {
			if i := strings.Index(msg, named+": "+text); i >= 0 {
				told := f.Err.Path + ": " + f.Err.Err.Error()
				return msg[:i] + told + msg[i+len(named)+2+len(text):], f.Err
			}
		}
	}
	for _, f := range failures {
		if f.Name == "." {
			continue // "/" alone says nothing
		}
		if text := wasip1Text[f.Errno]; text != "" && strings.Contains(msg, "/"+f.Name) && strings.Contains(msg, text) {
			return msg + " (" + f.Err.Error() + ")", f.Err
		}
	}
	return msg, nil
}

// guestNames are the ways the module's messages name a file of the directory, most precise
// first: its path under the preopen "/", then its bare name.
func guestNames(name string) []string {
	if name == "." {
		return []string{"/"}
	}
	return []string{"/" + name, name}
}
