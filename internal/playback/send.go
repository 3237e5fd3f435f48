// Package playback delivers the simulated world to Sextant: live, step by step through the real
// intake endpoints at a chosen speed; into a folder (export) and from a folder (replay); and,
// for the history before the live part, straight into the stores as a backfill.
package playback

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/sim"
)

// Sender posts deliveries to a Sextant.
type Sender struct {
	// BaseURL is the Sextant to send to, such as http://127.0.0.1:8080.
	BaseURL string
	// Token is a bearer token with the responder role.
	Token string
	// GitHubSecret signs GitHub webhooks (X-Hub-Signature-256).
	GitHubSecret string
	Client       *http.Client
	// Retries is how many times a delivery is retried after a connection error or a 5xx.
	Retries int
}

// Send posts one delivery. A 4xx is not retried: the payload is wrong and will stay wrong.
func (s *Sender) Send(ctx context.Context, d sim.Delivery) error {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	var last error
	for attempt := range s.Retries + 1 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 200 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.BaseURL, "/")+d.Path, bytes.NewReader(d.Body))
		if err != nil {
			return fmt.Errorf("%s: %w", d.Path, err)
		}
		req.Header.Set("Content-Type", d.ContentType)
		for k, v := range d.Header {
			req.Header.Set(k, v)
		}
		switch d.Sign {
		case "github":
			if s.GitHubSecret == "" {
				return fmt.Errorf("%s: a GitHub webhook secret is needed to sign this delivery", d.Path)
			}
			mac := hmac.New(sha256.New, []byte(s.GitHubSecret))
			mac.Write(d.Body)
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		default:
			req.Header.Set("Authorization", "Bearer "+s.Token)
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = fmt.Errorf("%s: %w", d.Path, err)
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return nil
		case resp.StatusCode < 500:
			return &RefusedError{Path: d.Path, Status: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
		}
		last = fmt.Errorf("%s: %s: %s", d.Path, resp.Status, strings.TrimSpace(string(msg)))
	}
	return last
}

// RefusedError is a delivery Sextant answered with a 4xx.
type RefusedError struct {
	Path   string
	Status int
	Body   string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s refused with %d: %s", e.Path, e.Status, e.Body)
}

// IsRefused reports whether err is a delivery refused with a 4xx.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
