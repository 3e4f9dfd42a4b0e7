package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certFiles serves the certificate of --tls-cert and --tls-key, rereading the files when the
// certificate's modification time changes (checked at most every certRecheck), so that a
// renewed certificate (certbot, acme.sh) is served without a restart.
type certFiles struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

const certRecheck = time.Minute

// loadCertFiles loads the pair once, so that a bad pair stops the start.
func loadCertFiles(certFile, keyFile string, log *slog.Logger) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certFiles) load() error {
	st, err := os.Stat(c.certFile)
	if err != nil {
		return fmt.Errorf("--tls-cert: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert %s, --tls-key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.modTime = &cert, st.ModTime()
	return nil
}

// config is the server's TLS configuration: HTTP/2 and HTTP/1.1, TLS 1.2 or later.
func (c *certFiles) config() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: c.get,
	}
}

// get returns the current certificate; a renewal that does not load keeps the old one.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= certRecheck {
		c.checked = now
		if st, err := os.Stat(c.certFile); err == nil && !st.ModTime().Equal(c.modTime) {
			old := c.cert
			if err := c.load(); err != nil {
				c.cert = old
				c.log.Error("TLS certificate changed but does not load; serving the previous one", "err", err)
			} else {
				c.log.Info("TLS certificate reloaded", "file", c.certFile)
			}
		}
	}
	return c.cert, nil
}
