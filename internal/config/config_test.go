package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sextant.yaml")
	if err := os.WriteFile(file, []byte("listen: 0.0.0.0:9000\ndata-dir: /from/file\nlog-level: debug\nsession-ttl: 2h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SEXTANT_DATA_DIR": "/from/env", "SEXTANT_LOG_LEVEL": "warn", "SEXTANT_CONFIG": file}
	var c Server
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.Register(fs)
	origin, err := Parse(fs, []string{"--log-level", "error"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, got, want, origin string }{
		{"log-level", c.LogLevel, "error", "flag"},
		{"data-dir", c.DataDir, "/from/env", "env"},
		{"listen", c.Listen, "0.0.0.0:9000", "file"},
		{"session-ttl", c.SessionTTL.String(), (2 * time.Hour).String(), "file"},
		{"log-format", c.LogFormat, "text", "default"},
	}
	for _, tc := range cases {
		if tc.got != tc.want || origin[tc.name] != tc.origin {
			t.Errorf("%s = %q from %s, want %q from %s", tc.name, tc.got, origin[tc.name], tc.want, tc.origin)
		}
	}
}

func TestBadSettingsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	n := 0
	write := func(body string) string {
		n++
		p := filepath.Join(dir, strings.Repeat("c", n)+".yaml")
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown file key", []string{"--config", write("colour: red\n")}, nil, `unknown setting "colour"`},
		{"bad file value", []string{"--config", write("session-ttl: soon\n")}, nil, "session-ttl"},
		{"nested value", []string{"--config", write("listen:\n  host: x\n")}, nil, "listen: must be a single value"},
		{"bad env value", nil, map[string]string{"SEXTANT_MAX_BODY_BYTES": "lots"}, "SEXTANT_MAX_BODY_BYTES"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "read config file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Server
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.Register(fs)
			_, err := Parse(fs, tc.args, func(k string) string { return tc.env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	var c Server
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.Register(fs)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults must be valid: %v", err)
	}
	c.LogFormat = "xml"
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "log-format") {
		t.Fatalf("got %v", err)
	}
}

// A file shared by serve and token may hold serve's settings; token reads only what it needs.
func TestStorageOnlyCommandsAcceptTheSharedFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sextant.yaml")
	os.WriteFile(file, []byte("listen: 0.0.0.0:80\ndata-dir: /srv/sextant\n"), 0o600)
	var c Server
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	c.RegisterStorage(fs)
	if _, err := Parse(fs, []string{"--config", file}, func(string) string { return "" }); err != nil || c.DataDir != "/srv/sextant" {
		t.Fatalf("got %q, %v", c.DataDir, err)
	}
}
