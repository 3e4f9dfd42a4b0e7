package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/regwasm/regwasm/host"
)

// How long shutdown waits for requests in flight before closing their connections.
const shutdownGrace = 15 * time.Second

// serveConfig is serve's command line.
type serveConfig struct {
	dir, addr, conf, web, cert, key string
	saveEvery                       time.Duration
	newPersons                      int
	verbose                         bool
}

func parseServeArgs(args []string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := newFlagSet("serve", stderr)
	fs.StringVar(&c.dir, "dir", "", "data directory (default: $REGWASM_DIR, $XDG_DATA_HOME/regwasm or ~/.local/share/regwasm)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:19999", "address to listen on")
	fs.StringVar(&c.conf, "config", "", "netdata.conf to apply: its [registry] keys are stored in the directory's settings")
	fs.StringVar(&c.web, "web", "", "dashboard directory (default: the repository's dist/ when built)")
	fs.StringVar(&c.cert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain); reread when the file changes")
	fs.StringVar(&c.key, "tls-key", "", "the PEM private key of --tls-cert")
	fs.DurationVar(&c.saveEvery, "save-every", 10*time.Minute, "write a snapshot this often when anything changed (0: only at shutdown)")
	fs.IntVar(&c.newPersons, "new-persons-per-minute", defaultNewPersonsPerMinute, "new persons each client address (IPv6: /64) may make a minute; 0: no limit")
	fs.BoolVar(&c.verbose, "v", false, "log every request")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return c, err
	}
	if len(rest) > 0 {
		return c, usageError("unexpected arguments %q", rest)
	}
	if (c.cert == "") != (c.key == "") {
		return c, usageError("--tls-cert and --tls-key go together")
	}
	return c, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseServeArgs(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	web, err := findWebDir(c.web)
	if err != nil {
		return err
	}
	var certs *certFiles
	if c.cert != "" {
		if certs, err = loadCertFiles(c.cert, c.key, log); err != nil {
			return err
		}
	}
	// The port first: a start that cannot listen must not create or lock a directory.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	dir, err := dataDir(c.dir, true)
	if err != nil {
		return err
	}
	reg, err := openRegistry(ctx, dir, host.WithLogger(log), host.WithBackgroundSaves())
	if err != nil {
		return err
	}
	if c.conf != "" {
		ignored, err := reg.configure(ctx, c.conf)
		if err != nil {
			_ = reg.close(context.WithoutCancel(ctx))
			return err
		}
		logIgnored(log, c.conf, ignored)
	}
	srv, err := newServer(ctx, limitNewPersons(reg, c.newPersons), web, log)
	if err != nil {
		_ = reg.close(context.WithoutCancel(ctx))
		return err
	}
	scheme := "http"
	if certs != nil {
		scheme = "https"
		ln = tls.NewListener(ln, certs.config())
	}
	srv.printStart(ctx, stdout, ln, scheme)
	started := time.Now()
	err = srv.run(ctx, ln, c.saveEvery)
	took := time.Since(started).Round(time.Second)
	if err != nil {
		fmt.Fprintf(stdout, "regwasm: stopped after %v: %v\n", took, err)
		return err
	}
	fmt.Fprintf(stdout, "regwasm: stopped after %v; the registry in %s is saved\n", took, dir)
	return nil
}

// printStart prints where the server listens, its data directory and the registry it tells
// dashboards to use, with a warning while that is netdata's public one.
func (s *server) printStart(ctx context.Context, w io.Writer, ln net.Listener, scheme string) {
	// The registry's URL first on the line: scripts and tests take the first URL.
	fmt.Fprintf(w, "regwasm: listening on %s://%s/api/v1/registry (the dashboard at /, /metrics, /healthz)\n", scheme, ln.Addr())
	line := "regwasm: data directory " + s.reg.dir()
	if st, err := s.reg.stats(ctx); err == nil {
		line += " (" + counted(st.Persons, "person", "persons") + ", " + counted(st.Machines, "machine", "machines") + ")"
	}
	fmt.Fprintln(w, line)
	fmt.Fprintln(w, "regwasm: "+announcement(s.api.set.Announce, ln.Addr().String()))
	if s.api.set.Announce == netdataPublicRegistry {
		s.log.Warn("browsers following this registry's redirect leave it for netdata's public registry: " +
			"\"registry to announce\" is netdata's default for agents (an earlier regwasm stored it); " +
			"set it empty in the [registry] of --config to announce this server")
	}
}

// netdataPublicRegistry is netdata's default "registry to announce", for agents.
const netdataPublicRegistry = "https://registry.my-netdata.io"

// announcement says at startup which registry hello and the cookie-check redirect announce.
func announcement(announce, addr string) string {
	if announce != "" {
		return "announces " + announce + " (registry to announce)"
	}
	return "announces itself: the scheme and host each request reached, e.g. http://" + addr +
		" (X-Forwarded-Proto and X-Forwarded-Host behind a proxy; set \"registry to announce\" to fix one)"
}

// logIgnored lists, once, the [registry] lines of the netdata.conf that were not applied:
// keys netdata reads that regwasm does not use, on one line, then each unknown key.
func logIgnored(log *slog.Logger, file string, ignored []host.IgnoredLine) {
	var notUsed []string
	for _, n := range ignored {
		switch {
		case n.Why == "not used by regwasm":
			notUsed = append(notUsed, fmt.Sprintf("%q (line %d)", n.Key, n.Line))
		case n.Key != "":
			log.Warn(fmt.Sprintf("%s line %d: [registry] %q: %s", file, n.Line, n.Key, n.Why))
		default:
			log.Warn(fmt.Sprintf("%s line %d: [registry]: %s", file, n.Line, n.Why))
		}
	}
	if len(notUsed) > 0 {
		log.Info(fmt.Sprintf("%s: [registry] keys not used by regwasm: %s", file, strings.Join(notUsed, ", ")))
	}
}

// server is `regwasm serve`: the registry API and the dashboard over one registry.
type server struct {
	reg     servedRegistry
	api     *registryAPI
	webDir  string
	http    *http.Server
	log     *slog.Logger
	metrics *serverMetrics
}

// servedRegistry is what the server needs of the registry besides actions.
type servedRegistry interface {
	backend
	settings(ctx context.Context) ([]byte, error) // op config's JSON
	stats(ctx context.Context) (host.Stats, error)
	dir() string
	save(ctx context.Context) error
	close(ctx context.Context) error
}

func newServer(ctx context.Context, reg servedRegistry, webDir string, log *slog.Logger) (*server, error) {
	conf, err := reg.settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the registry's settings: %w", err)
	}
	set, err := parseServerSettings(conf)
	if err != nil {
		return nil, err
	}
	s := &server{reg: reg, api: newRegistryAPI(reg, set, log), webDir: webDir, log: log, metrics: newServerMetrics()}
	s.http = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// handler routes the registry API and the dashboard, all with netdata's CORS headers.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/registry", s.metrics.instrument("", s.api))
	mux.Handle("/api/v1/registry/stats", s.metrics.instrument("stats", http.HandlerFunc(s.api.serveStats)))
	mux.Handle("/api/v1/registry/overview", s.overview())
	s.operatorRoutes(mux)
	mux.Handle("/", dashboardHandler(s.webDir))
	return withCORS(s.logRequests(mux))
}

func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		t0 := time.Now()
		next.ServeHTTP(rec, r)
		s.log.Debug("request", "method", r.Method, "uri", cut(r.RequestURI, 200), "status", rec.status,
			"from", r.RemoteAddr, "took", time.Since(t0))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// run serves ln until ctx is done (SIGINT, SIGTERM) or the listener fails, saving every
// saveEvery when anything changed; then it stops accepting, lets requests in flight finish,
// saves and closes the registry.
func (s *server) run(ctx context.Context, ln net.Listener, saveEvery time.Duration) error {
	s.http.Handler = s.handler()
	served := make(chan error, 1)
	go func() { served <- s.http.Serve(ln) }()
	var tick <-chan time.Time
	if saveEvery > 0 {
		t := time.NewTicker(saveEvery)
		defer t.Stop()
		tick = t.C
	}
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case serveErr = <-served:
			break loop
		case <-tick:
			if err := s.saveIfChanged(ctx); err != nil {
				s.log.Error("periodic save failed", "err", err)
			}
		}
	}
	// The signal's context is done: shutdown and the final save get their own.
	bg := context.WithoutCancel(ctx)
	sctx, cancel := context.WithTimeout(bg, shutdownGrace)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		s.log.Warn("shutdown: closing connections still busy", "err", err)
		_ = s.http.Close()
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	err := s.save(bg)
	if err != nil {
		s.log.Error("final save failed; the change log still holds every acknowledged change", "err", err)
	}
	return errors.Join(serveErr, err, s.reg.close(bg))
}

// saveIfChanged writes a snapshot when changes were made since the last one: a registry of
// millions of entries is not rewritten every few minutes for nothing.
func (s *server) saveIfChanged(ctx context.Context) error {
	ans, err := s.reg.do(ctx, action{op: host.OpStats})
	if err != nil {
		return err
	}
	var st struct {
		Storage struct {
			Unsaved uint64 `json:"unsaved"`
		} `json:"storage"`
	}
	if err := json.Unmarshal(ans.body, &st); err == nil && st.Storage.Unsaved == 0 {
		return nil
	}
	return s.save(ctx)
}

// save writes a snapshot, counted and timed for /metrics.
func (s *server) save(ctx context.Context) error {
	t0 := time.Now()
	err := s.reg.save(ctx)
	s.metrics.saved(time.Since(t0), err)
	return err
}

// operatorRoutes adds what operators and their tools read: /metrics and /healthz.
func (s *server) operatorRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/metrics", s.serveMetrics)
	mux.HandleFunc("/healthz", s.serveHealth)
}
