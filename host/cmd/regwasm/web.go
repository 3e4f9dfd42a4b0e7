package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// findWebDir returns the dashboard to serve: the --web directory if given (an error if it
// is not a directory), else the repository's dist/ (built by ./build.sh from web/) when one
// is found next to the binary (bin/regwasm -> ../dist) or in the working directory (go run).
// "" means not built.
func findWebDir(given string) (string, error) {
	if given != "" {
		st, err := os.Stat(given)
		if err != nil {
			return "", fmt.Errorf("--web: %w", err)
		}
		if !st.IsDir() {
			return "", fmt.Errorf("--web: %s is not a directory", given)
		}
		return given, nil
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			d := filepath.Dir(exe)
			candidates = append(candidates, filepath.Join(d, "..", "dist"), filepath.Join(d, "dist"))
		}
	}
	if wd, err := os.Getwd(); err == nil {
		candidates = append(candidates, filepath.Join(wd, "dist"))
	}
	for _, c := range candidates {
		if st, err := os.Stat(filepath.Join(c, "index.html")); err == nil && st.Mode().IsRegular() {
			return filepath.Clean(c), nil
		}
	}
	return "", nil
}

// dashboardHandler serves the built dashboard, or when there is none a page that says so
// (the API works either way).
func dashboardHandler(webDir string) http.Handler {
	if webDir != "" {
		return http.FileServer(http.Dir(webDir))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && r.URL.Path != "/index.html" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(notBuiltPage))
	})
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>regwasm</title></head>
<body>
<h1>regwasm</h1>
<p>The dashboard is not built: run <code>./build.sh</code> in the repository (it writes
<code>dist/</code>), or start the server with <code>--web DIR</code>.</p>
<p>The registry API is up: <a href="/api/v1/registry?action=hello">/api/v1/registry?action=hello</a>,
counters at <a href="/api/v1/registry/stats">/api/v1/registry/stats</a>.</p>
</body></html>
`
