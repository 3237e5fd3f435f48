package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// The alert rules the simulated system's Prometheus evaluates, evaluated here on the frames
// each step, with their `for` durations, and notified in Alertmanager's webhook format
// (version 4) when an alert starts firing or resolves.

// keepFiringFor is how long an alert stays firing after its condition stops holding.
const keepFiringFor = 2 * time.Minute

// ruleWindow is how many steps of history the rules look back on (five minutes).
const ruleWindow = int(5 * time.Minute / StepSize)

type alertState struct {
	labels   map[string]string
	annot    map[string]string
	pending  time.Time // when the condition first held
	absent   time.Time // when the condition stopped holding, zero while it holds
	firing   bool
	startsAt time.Time
}

type ruleState struct {
	history []Frame
	alerts  map[string]*alertState // by fingerprint
}

func newRuleState() *ruleState { return &ruleState{alerts: map[string]*alertState{}} }

// condition is one alert instance whose expression holds now.
type condition struct {
	labels  map[string]string
	summary string
	forDur  time.Duration
}

// AMAlert is one alert of an Alertmanager webhook notification.
type AMAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// AMNotification is Alertmanager's webhook payload, version 4.
type AMNotification struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []AMAlert         `json:"alerts"`
}

// evaluate runs the rules on the newest frame and returns a notification for every alert that
// started firing or resolved.
func (r *ruleState) evaluate(w World, f Frame) []AMNotification {
	r.history = append(r.history, f)
	if len(r.history) > ruleWindow+1 {
		r.history = r.history[1:]
	}
	now := map[string]condition{}
	for _, c := range r.conditions(w) {
		now[fingerprint(c.labels)] = c
	}
	var out []AMNotification
	for fp, c := range now {
		a := r.alerts[fp]
		if a == nil {
			a = &alertState{labels: c.labels, pending: f.Time}
			r.alerts[fp] = a
		}
		a.absent = time.Time{}
		if !a.firing {
			a.annot = map[string]string{"summary": c.summary}
		}
		if !a.firing && f.Time.Sub(a.pending) >= c.forDur {
			a.firing, a.startsAt = true, f.Time
			out = append(out, notification("firing", fp, a, time.Time{}))
		}
	}
	for fp, a := range r.alerts {
		if _, holds := now[fp]; holds {
			continue
		}
		if a.absent.IsZero() {
			a.absent = f.Time
		}
		// A firing alert keeps firing for a while after its condition stops holding, so that
		// a flapping signal does not page on every flap (Prometheus's keep_firing_for).
		if a.firing && f.Time.Sub(a.absent) < keepFiringFor {
			continue
		}
		if a.firing {
			out = append(out, notification("resolved", fp, a, f.Time))
		}
		delete(r.alerts, fp)
	}
	slices.SortFunc(out, func(a, b AMNotification) int { return strings.Compare(a.GroupKey, b.GroupKey) })
	return out
}

func notification(status, fp string, a *alertState, endsAt time.Time) AMNotification {
	name := a.labels["alertname"]
	return AMNotification{Version: "4", GroupKey: fmt.Sprintf(`{}:{alertname=%q, fingerprint=%q}`, name, fp), Status: status, Receiver: "sextant",
		GroupLabels: map[string]string{"alertname": name}, CommonLabels: a.labels, CommonAnnotations: a.annot,
		ExternalURL: "http://alertmanager.shop.internal:9093",
		Alerts: []AMAlert{{Status: status, Labels: a.labels, Annotations: a.annot, StartsAt: a.startsAt, EndsAt: endsAt,
			GeneratorURL: "http://prometheus.shop.internal:9090/graph?g0.expr=" + name, Fingerprint: fp}}}
}

func fingerprint(labels map[string]string) string {
	ls := model.LabelSet{}
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

// conditions are the alert instances whose expressions hold on the frames in the window.
func (r *ruleState) conditions(w World) []condition {
	h := r.history
	last := h[len(h)-1]
	var out []condition
	alert := func(name, severity, summary string, forDur time.Duration, kv ...string) {
		l := map[string]string{"alertname": name, "severity": severity, "env": Environment}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		out = append(out, condition{labels: l, summary: summary, forDur: forDur})
	}
	// Journey SLO burn: both the 5-minute and the 1-minute error ratio above 14.4 times the
	// error budget (the fast-burn page of the multiwindow, multi-burn-rate method).
	// A rate over a window needs the window: no burn verdict on the first few minutes of data.
	for _, j := range w.Journeys {
		if len(h) < ruleWindow {
			break
		}
		long, short := journeyRatio(h, j.Name, ruleWindow), journeyRatio(h, j.Name, 4)
		if budget := 1 - j.SLO; long > 14.4*budget && short > 14.4*budget {
			alert("JourneyErrorBudgetBurn", "page", fmt.Sprintf("%s: %.1f%% of requests failing (SLO %.1f%%)", j.Name, 100*long, 100*j.SLO), time.Minute, "journey", j.Name)
		}
	}
	for _, svc := range w.Services {
		sf := last.Services[svc.Name]
		if svc.Tier == TierExternal {
			continue
		}
		if sf.ErrorRatio > 0.05 {
			alert("ServiceHighErrorRate", "warning", fmt.Sprintf("%s: %.1f%% of requests failing", svc.Name, 100*sf.ErrorRatio), 2*time.Minute, "service", svc.Name)
		}
		if p99 := sf.LatencyMS * 3.2; p99 > 1000 {
			alert("ServiceHighLatency", "warning", fmt.Sprintf("%s: p99 latency %.0f ms", svc.Name, p99), 5*time.Minute, "service", svc.Name)
		}
		cpu, n := 0.0, 0
		for _, in := range last.Instances {
			if in.Service == svc.Name && in.Up {
				cpu += in.CPUCores / cpuLimitCores
				n++
			}
		}
		if n > 0 && cpu/float64(n) > 0.8 {
			alert("ServiceCPUHigh", "warning", fmt.Sprintf("%s: fleet CPU at %.0f%% of limits", svc.Name, 100*cpu/float64(n)), 5*time.Minute, "service", svc.Name)
		}
	}
	first := h[0]
	restartsBefore := map[string]float64{}
	for _, in := range first.Instances {
		restartsBefore[in.Name] = in.Restarts
	}
	for _, in := range last.Instances {
		if in.Restarts-restartsBefore[in.Name] >= 2 {
			alert("PodCrashLooping", "warning", fmt.Sprintf("%s restarted %.0f times in 5 minutes", in.Name, in.Restarts-restartsBefore[in.Name]), 0,
				"service", in.Service, "instance", in.Name)
		}
		if in.Up && (in.PortsInUse+in.TimeWait)/in.PortLimit > 0.9 {
			alert("EphemeralPortsNearLimit", "warning", fmt.Sprintf("%s: %.0f of %.0f source ports in use or TIME_WAIT", in.Name, in.PortsInUse+in.TimeWait, in.PortLimit), time.Minute,
				"service", in.Service, "instance", in.Name)
		}
		if in.Up && in.MemoryBytes > 0.9*memoryLimitMB*1e6 {
			alert("ContainerMemoryNearLimit", "warning", fmt.Sprintf("%s: memory at %.0f%% of its limit", in.Name, in.MemoryBytes/(memoryLimitMB*1e4)), 5*time.Minute,
				"service", in.Service, "instance", in.Name)
		}
	}
	for _, l := range last.Links {
		if l.PacketLoss > 0.01 {
			alert("TransitPacketLoss", "warning", fmt.Sprintf("%s: %.1f%% packet loss", l.Link, 100*l.PacketLoss), 2*time.Minute, "link", l.Link)
		}
	}
	for _, v := range last.Vendors {
		if v.Degraded {
			alert("VendorStatusDegraded", "info", v.Vendor+" reports degraded service on its status page", 0, "vendor", v.Vendor)
		}
	}
	return out
}

// journeyRatio is a journey's error ratio over the last n steps.
func journeyRatio(h []Frame, journey string, n int) float64 {
	ok, bad := 0.0, 0.0
	for _, f := range h[max(0, len(h)-n):] {
		for _, j := range f.Journeys {
			if j.Journey == journey {
				ok += j.StepOK
				bad += j.StepErrors
			}
		}
	}
	if ok+bad == 0 {
		return 0
	}
	return bad / (ok + bad)
}
