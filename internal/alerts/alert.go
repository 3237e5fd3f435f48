// Package alerts owns what Sextant does with alerts from Alertmanager and Grafana: decoding their
// webhooks, routing each alert by label matchers to declare an incident or attach to an open one,
// deduplicating by fingerprint, and resolving an alert's signal (not the incident) when the alert
// resolves.
package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Alert is one alert, whatever sent it.
type Alert struct {
	Fingerprint  string            `json:"fingerprint"`
	Status       string            `json:"status"` // firing or resolved
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

// Name is the alert's alertname label.
func (a Alert) Name() string { return a.Labels["alertname"] }

// Title is the one line shown for the alert: its summary annotation, or its name and where.
func (a Alert) Title() string {
	if s := strings.TrimSpace(a.Annotations["summary"]); s != "" {
		return a.Name() + ": " + s
	}
	for _, k := range []string{"service", "job", "instance"} {
		if v := a.Labels[k]; v != "" {
			return a.Name() + " on " + v
		}
	}
	return a.Name()
}

// Firing reports whether the alert is firing.
func (a Alert) Firing() bool { return a.Status == "firing" }

// webhook is the body Alertmanager (version 4) and Grafana's alerting both send; Grafana adds
// fields of its own, which are ignored.
type webhook struct {
	Version  string  `json:"version"`
	Receiver string  `json:"receiver"`
	Status   string  `json:"status"`
	Alerts   []Alert `json:"alerts"`
	// Grafana only.
	OrgID *int64 `json:"orgId"`
}

// Decode reads an Alertmanager (version 4) or Grafana alerting webhook body. source is
// "alertmanager" or "grafana". Errors name what is wrong.
func Decode(source string, body []byte) ([]Alert, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("body is not a webhook JSON object: %w", err)
	}
	switch source {
	case "alertmanager":
		if w.Version != "4" {
			return nil, fmt.Errorf("version: %q is not the Alertmanager webhook version 4", w.Version)
		}
	case "grafana":
		if w.OrgID == nil && w.Version != "1" {
			return nil, errors.New("orgId: missing; not a Grafana alerting webhook")
		}
	default:
		return nil, fmt.Errorf("unknown alert source %q", source)
	}
	if len(w.Alerts) == 0 {
		return nil, errors.New("alerts: the webhook carries no alert")
	}
	for i := range w.Alerts {
		a := &w.Alerts[i]
		if a.Status != "firing" && a.Status != "resolved" {
			return nil, fmt.Errorf("alerts[%d].status: %q is not firing or resolved", i, a.Status)
		}
		if a.Name() == "" {
			return nil, fmt.Errorf("alerts[%d].labels.alertname: is required", i)
		}
		if a.Fingerprint == "" {
			a.Fingerprint = fingerprint(a.Labels)
		}
		if len(a.Fingerprint) > 128 {
			return nil, fmt.Errorf("alerts[%d].fingerprint: longer than 128 characters", i)
		}
	}
	return w.Alerts, nil
}

// fingerprint identifies an alert by its labels when the sender gives no fingerprint.
func fingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// DeliveryKey identifies a webhook delivery by its content, so a redelivered body is processed
// once.
func DeliveryKey(source string, body []byte) string {
	h := sha256.Sum256(body)
	return source + ":" + hex.EncodeToString(h[:])
}
