// Package config resolves settings from command-line flags, SEXTANT_* environment variables and an
// optional YAML file, in that order of precedence, over the flags' defaults. Every setting is a
// flag, so `--help` documents all of them with their variable and file key.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Server is the configuration of `sextant serve` and `sextant demo`.
type Server struct {
	Listen          string
	DataDir         string
	LogLevel        string
	LogFormat       string
	MaxBodyBytes    int64
	SessionTTL      time.Duration
	ShutdownTimeout time.Duration
	CookieSecure    bool
	PublicURL       string
	ConfigFile      string
	// The embedded metrics store.
	MetricsRetention time.Duration
	MetricsOOOWindow time.Duration
	LogRetention     time.Duration
	SpanWindow       time.Duration
	MaxIntakeBytes   int64
	OTLPGRPCListen   string
	// RemoteSources are Prometheus-compatible APIs to query beside the embedded store.
	RemoteSources string
	// AlertRoutes is a YAML file of alert routes (default: pages declare, the rest attach).
	AlertRoutes string
	// AutoAnalysis runs the diagnosis when an incident is declared or an alert attached.
	AutoAnalysis bool
	// Secrets shared with webhook senders that sign their deliveries. Never logged or shown.
	GitHubWebhookSecret       string
	LaunchDarklyWebhookSecret string
}

// Register defines the server's flags on fs, with their defaults.
func (c *Server) Register(fs *flag.FlagSet) {
	c.RegisterStorage(fs)
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "address to serve HTTP on")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted, in bytes")
	fs.DurationVar(&c.SessionTTL, "session-ttl", 12*time.Hour, "how long a browser session lasts")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long to wait for in-flight requests on shutdown")
	fs.BoolVar(&c.CookieSecure, "cookie-secure", false, "mark the session cookie Secure (set when served over HTTPS, also behind a proxy)")
	fs.StringVar(&c.PublicURL, "public-url", "", "URL users reach Sextant at, for links (default: from --listen)")
	fs.DurationVar(&c.MetricsRetention, "metrics-retention", 15*24*time.Hour, "how long the embedded metrics store keeps samples")
	fs.DurationVar(&c.SpanWindow, "span-window", 2*time.Minute, "how long raw spans are held for the service graph to pair parents and children")
	fs.DurationVar(&c.LogRetention, "log-retention", 7*24*time.Hour, "how long the embedded log store keeps lines")
	fs.DurationVar(&c.MetricsOOOWindow, "metrics-ooo-window", 30*time.Minute, "how late a sample may arrive, behind its series' newest, and still be stored")
	fs.Int64Var(&c.MaxIntakeBytes, "max-intake-bytes", 32<<20, "largest telemetry intake body (remote write) accepted, in bytes")
	fs.StringVar(&c.RemoteSources, "remote-sources", "", "Prometheus-compatible APIs to query beside the embedded store, as name=URL pairs separated by commas")
	fs.StringVar(&c.OTLPGRPCListen, "otlp-grpc-listen", "127.0.0.1:4317", "address to serve OTLP over gRPC on (empty: off)")
	fs.StringVar(&c.GitHubWebhookSecret, "github-webhook-secret", "", "secret of the GitHub webhook (deployment_status), for its HMAC-SHA256 signature; prefer the environment variable")
	fs.StringVar(&c.LaunchDarklyWebhookSecret, "launchdarkly-webhook-secret", "", "secret of the LaunchDarkly webhook, for X-LD-Signature; prefer the environment variable")
	fs.BoolVar(&c.AutoAnalysis, "auto-analysis", true, "run the diagnosis by itself when an incident is declared or an alert is attached to it")
	fs.StringVar(&c.AlertRoutes, "alert-routes", "", "YAML file of alert routes (default: severity critical or page declares a SEV2 incident, other alerts attach to the open incident)")
}

// RegisterStorage defines only the settings that locate the store, for commands that work on it
// directly (sextant token).
func (c *Server) RegisterStorage(fs *flag.FlagSet) {
	fs.StringVar(&c.ConfigFile, "config", "", "YAML file of settings (keys are the flag names)")
	fs.StringVar(&c.DataDir, "data-dir", "sextant-data", "directory for the database and other state")
}

// Validate checks values that flag parsing cannot.
func (c *Server) Validate() error {
	switch {
	case !oneOf(c.LogLevel, "debug", "info", "warn", "error"):
		return fmt.Errorf("log-level: %q is not one of debug, info, warn, error", c.LogLevel)
	case !oneOf(c.LogFormat, "text", "json"):
		return fmt.Errorf("log-format: %q is not one of text, json", c.LogFormat)
	case c.MaxBodyBytes < 1024:
		return fmt.Errorf("max-body-bytes: %d is below the minimum of 1024", c.MaxBodyBytes)
	case c.SessionTTL < time.Minute:
		return fmt.Errorf("session-ttl: %s is below the minimum of 1m", c.SessionTTL)
	case c.DataDir == "":
		return errors.New("data-dir: is required")
	case c.MetricsRetention < time.Hour:
		return fmt.Errorf("metrics-retention: %s is below the minimum of 1h", c.MetricsRetention)
	case c.LogRetention < time.Hour:
		return fmt.Errorf("log-retention: %s is below the minimum of 1h", c.LogRetention)
	case c.MetricsOOOWindow < 0:
		return errors.New("metrics-ooo-window: must not be negative")
	case c.MaxIntakeBytes < 1024:
		return fmt.Errorf("max-intake-bytes: %d is below the minimum of 1024", c.MaxIntakeBytes)
	}
	return nil
}

func oneOf(v string, valid ...string) bool {
	for _, x := range valid {
		if v == x {
			return true
		}
	}
	return false
}

// Origin says where each setting's value came from: "flag", "env", "file" or "default".
type Origin map[string]string

// EnvName is the environment variable for a flag: --data-dir is SEXTANT_DATA_DIR.
func EnvName(flagName string) string {
	return "SEXTANT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then fills every flag not given on the command line from the
// environment, then from the YAML file named by the "config" flag (or SEXTANT_CONFIG).
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) (Origin, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	origin := Origin{}
	fs.Visit(func(f *flag.Flag) { origin[f.Name] = "flag" })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if origin[f.Name] != "" {
			return
		}
		if v, ok := lookup(getenv, EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", EnvName(f.Name), err))
			}
			origin[f.Name] = "env"
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cf := fs.Lookup("config"); cf != nil && cf.Value.String() != "" {
		if err := applyFile(fs, cf.Value.String(), origin); err != nil {
			return nil, err
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if origin[f.Name] == "" {
			origin[f.Name] = "default"
		}
	})
	return origin, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func applyFile(fs *flag.FlagSet, path string, origin Origin) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	values, err := decodeYAML(raw)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil && isServerSetting(k) {
			continue // a setting of another command sharing the file (sextant token reads only data-dir)
		}
		if f == nil || k == "config" {
			return fmt.Errorf("config file %s: unknown setting %q (see sextant serve --help for the keys)", path, k)
		}
		if origin[k] != "" {
			continue // the command line and the environment win
		}
		if err := fs.Set(k, values[k]); err != nil {
			return fmt.Errorf("config file %s: %s: %w", path, k, err)
		}
		origin[k] = "file"
	}
	return nil
}

func isServerSetting(name string) bool {
	var c Server
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	c.Register(fs)
	return fs.Lookup(name) != nil
}

// decodeYAML reads a flat mapping of setting names to scalar values.
func decodeYAML(raw []byte) (map[string]string, error) {
	var doc map[string]yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	out := map[string]string{}
	for k, n := range doc {
		if n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: must be a single value (line %d)", k, n.Line)
		}
		out[k] = n.Value
	}
	return out, nil
}

// Usage prints a command's flags with their environment variables and defaults.
func Usage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "%s\n\nSettings (flag, environment variable, or key in the --config YAML file; in that order of precedence):\n\n", synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s  (%s)\n      %s (default %s)\n", f.Name, EnvName(f.Name), f.Usage, def)
	})
}
