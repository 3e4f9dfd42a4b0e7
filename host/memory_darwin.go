package host

// adviseHugePages does nothing on macOS, which has no transparent huge pages.
func adviseHugePages([]byte) {}
