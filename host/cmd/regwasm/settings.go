package main

import (
	"encoding/json"
	"fmt"
)

// serverSettings are the [registry] keys the HTTP server applies, as the module's op config
// answers them (registry/settings.go: the config registry kept in the data directory).
type serverSettings struct {
	Enabled        bool   `json:"enabled"`
	ExpireDays     int64  `json:"registry expire idle persons"`
	Domain         string `json:"registry domain"`
	Announce       string `json:"registry to announce"` // "": this server, as requests reach it
	Hostname       string `json:"registry hostname"`
	VerifyCookies  bool   `json:"verify browser cookies support"`
	SameSiteSecure bool   `json:"enable cookies SameSite and Secure"`
	AllowFrom      string `json:"allow from"`
	RespectDNT     bool   `json:"respect do not track policy"`
	MachineGUID    string `json:"machine guid"`
}

// defaultServerSettings are netdata's defaults, used for keys the module does not answer.
func defaultServerSettings() serverSettings {
	return serverSettings{Enabled: true, ExpireDays: 365, Hostname: "regwasm", VerifyCookies: true,
		SameSiteSecure: true, AllowFrom: "*"}
}

// parseServerSettings reads the module's config answer over netdata's defaults.
func parseServerSettings(body []byte) (serverSettings, error) {
	s := defaultServerSettings()
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("reading the registry's settings: %w", err)
	}
	return s, nil
}
