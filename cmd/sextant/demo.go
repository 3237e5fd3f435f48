package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/playback"
	"github.com/sextant-sre/sextant/internal/server"
	"github.com/sextant-sre/sextant/internal/sim"
	"github.com/sextant-sre/sextant/internal/store"
)

// demoOptions are the demo's own settings: which scenario, and how it plays.
type demoOptions struct {
	scenario string
	seed     uint64
	speed    float64
	history  time.Duration
}

func (o *demoOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.scenario, "scenario", "1", "the scenario the simulated world plays, by number or name (sextant sim list)")
	fs.Uint64Var(&o.seed, "seed", 1, "the simulator's seed")
	fs.Float64Var(&o.speed, "speed", 60, "simulated seconds per second (1 to 60) until the world catches up with the clock")
	fs.DurationVar(&o.history, "history", 7*24*time.Hour, "the normal history written before the live part, for baselines")
}

// The demo's timeline: the live part starts liveLead before now (at speed 1, now) and the
// scenario's onset comes onsetAfter into it, so at 60x the onset arrives half a minute after
// the start and the world catches up with the clock a quarter of an hour later.
const (
	liveLead   = 45 * time.Minute
	onsetAfter = 30 * time.Minute
)

// demoWorld is the simulated world of a running demo.
type demoWorld struct {
	scenario sim.Scenario
	opts     demoOptions
	stream   *sim.Stream
	player   *playback.Player

	mu      sync.Mutex
	queued  []sim.Intervention
	now     time.Time // of the last step played
	applied []sim.AppliedIntervention
}

// newDemoWorld builds the scenario and writes the history before the live part straight into
// the stores (the metrics store must not be open yet).
func newDemoWorld(ctx context.Context, o demoOptions, st store.Store, logs *logstore.Store, metricsDir string, log *slog.Logger, stderr io.Writer) (*demoWorld, error) {
	if o.speed < 1 || o.speed > 60 {
		return nil, fmt.Errorf("speed: %.1f: choose 1 to 60", o.speed)
	}
	if o.history < 0 {
		return nil, fmt.Errorf("history: %s must not be negative", o.history)
	}
	n, err := sim.ScenarioNumber(o.scenario)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	now := time.Now().UTC()
	live := now.Truncate(sim.StepSize)
	if o.speed > 1 {
		live = live.Add(-liveLead)
	}
	sc, err := sim.Build(n, live.Add(onsetAfter), o.seed)
	if err != nil {
		return nil, err
	}
	// Some onsets follow from the world rather than the script (a leak meets the traffic of
	// the hour): the live part then starts earlier, so that the outage is played, not written
	// into the history.
	if sc.Onset.Before(live.Add(5 * time.Minute)) {
		live = sc.Onset.Add(-onsetAfter).Truncate(sim.StepSize)
	}
	start := live.Add(-o.history)
	if warm := sc.WarmupStart(live); warm.Before(start) {
		start = warm // the scenario needs its earlier changes (a deploy days before)
	}
	sc = sc.WithRoutineChanges(o.seed, start, live.Add(24*time.Hour))
	s, err := sim.New(sim.DefaultWorld(), sc, o.seed, start)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "Writing %s of history for scenario %d (%s)…\n", live.Sub(start).Round(time.Hour), n, sc.Name)
	began := time.Now()
	// The block writer reports every block at info level; the summary below is enough.
	quiet := slog.New(log.Handler().WithGroup("history"))
	if !log.Enabled(ctx, slog.LevelDebug) {
		quiet = slog.New(slog.DiscardHandler)
	}
	stats, err := playback.Backfill(ctx, s, live, playback.History{MetricsDir: metricsDir, Logs: logs, Logger: quiet,
		Changes: func(ctx context.Context, c changes.Change) error {
			_, err := st.RecordChange(ctx, c, c.Time)
			return err
		}})
	if err != nil {
		return nil, fmt.Errorf("write the simulated history: %w", err)
	}
	log.Info("simulated history written", "samples", stats.Samples, "log_lines", stats.Lines, "changes", stats.Changes,
		"blocks", stats.Blocks, "took", time.Since(began).Round(time.Millisecond))
	return &demoWorld{scenario: sc, opts: o, stream: sim.NewStream(s, sim.Protobuf), now: s.Now(), applied: []sim.AppliedIntervention{}}, nil
}

// play sends the live part into the server at base, until ctx ends.
func (d *demoWorld) play(ctx context.Context, base, token, githubSecret string, log *slog.Logger) {
	d.mu.Lock()
	d.player = &playback.Player{Stream: d.stream, Speed: d.opts.speed, Logger: log.With("component", "simulator"),
		Sender: &playback.Sender{BaseURL: base, Token: token, GitHubSecret: githubSecret, Retries: 2},
		// Called on the player's goroutine, the only one that touches the world.
		OnFrame: func(f sim.Frame) {
			applied := d.stream.Sim.Applied()
			d.mu.Lock()
			d.now, d.applied = f.Time, applied
			d.mu.Unlock()
		}}
	for _, iv := range d.queued {
		d.player.Intervene(iv)
	}
	d.queued = nil
	p := d.player
	d.mu.Unlock()
	if err := p.Run(ctx); err != nil {
		log.Error("the simulator stopped", "err", err)
	}
}

// Status implements server.Simulator.
func (d *demoWorld) Status() server.SimStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return server.SimStatus{Scenario: d.scenario.Number, Name: d.scenario.Name, Title: d.scenario.Title, Seed: d.opts.seed, Speed: d.opts.speed,
		Now: d.now.Format(time.RFC3339), Kinds: sim.InterventionKinds, Interventions: d.applied, Queued: d.queued}
}

// Intervene implements server.Simulator: the intervention acts before the next step.
func (d *demoWorld) Intervene(iv sim.Intervention) error {
	if err := d.stream.Sim.Check(iv); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.player == nil {
		d.queued = append(d.queued, iv)
		return nil
	}
	d.player.Intervene(iv)
	return nil
}

// randomSecret is a fresh secret for the demo's own webhooks.
func randomSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}
