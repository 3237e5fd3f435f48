package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/config"
)

// changeCmd records a change in a running Sextant through its API, for deploy scripts and
// anything without a webhook of its own.
func changeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "record" {
		return errors.New("change: want record")
	}
	fs := flag.NewFlagSet("change record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "Sextant's URL")
	token := fs.String("token", "", "API token with the responder role")
	c := map[string]*string{}
	for _, f := range []struct{ name, usage string }{
		{"id", "the change's id at its source (default: derived from its content, so a retry is stored once)"},
		{"time", "when it happened, RFC 3339 (default now)"},
		{"kind", "deploy, rollback, flag, config, infrastructure or scaling"},
		{"service", "the service changed"}, {"environment", "the environment (prod, staging, …)"}, {"flag", "the feature flag changed"},
		{"from", "the version or value before"}, {"to", "the version or value after"},
		{"actor", "who made the change (default $USER)"}, {"link", "a link to the pipeline run or the change"}, {"summary", "one line"},
	} {
		c[f.name] = fs.String(f.name, "", f.usage)
	}
	fs.Usage = func() {
		config.Usage(stderr, fs, "sextant change record: record a deploy, rollback, flag flip, config or scaling change in a running Sextant.")
	}
	if _, err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	if *c["actor"] == "" {
		*c["actor"] = os.Getenv("USER")
	}
	body := map[string]string{}
	for k, v := range c {
		if *v != "" {
			body[k] = *v
		}
	}
	raw, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(*url, "/")+"/api/intake/changes", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+*token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("send the change: %w", err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the server answered %s: %s", res.Status, bytes.TrimSpace(answer))
	}
	fmt.Fprintln(stdout, string(bytes.TrimSpace(answer)))
	return nil
}
