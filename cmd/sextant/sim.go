package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/config"
	"github.com/sextant-sre/sextant/internal/playback"
	"github.com/sextant-sre/sextant/internal/sim"
)

// simCmd runs the simulator outside a server: it lists the scenarios and exports one as files.
func simCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("sim: want export or list")
	}
	switch args[0] {
	case "list":
		for _, s := range sim.Catalogue {
			fmt.Fprintf(stdout, "%d  %-28s %s\n", s.Number, s.Name, s.Title)
		}
		return nil
	case "export":
		return simExport(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("sim: unknown command %q (want export or list)", args[0])
}

// interventionFlags collects --intervene AT:KIND:TARGET values.
type interventionFlags []string

func (f *interventionFlags) String() string     { return strings.Join(*f, ",") }
func (f *interventionFlags) Set(v string) error { *f = append(*f, v); return nil }

// parseInterventions reads AT:KIND:TARGET, AT relative to the onset ("20m", "-5m").
func parseInterventions(values []string, onset time.Time) ([]playback.Timed, error) {
	var out []playback.Timed
	for _, v := range values {
		parts := strings.SplitN(v, ":", 3)
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return nil, fmt.Errorf("intervene: %q: want AT:KIND:TARGET, such as 20m:rollback:search-indexer", v)
		}
		d, err := time.ParseDuration(parts[0])
		if err != nil {
			return nil, fmt.Errorf("intervene: %q: %v", v, err)
		}
		out = append(out, playback.Timed{At: onset.Add(d), Intervention: sim.Intervention{Kind: sim.InterventionKind(parts[1]), Target: parts[2]}})
	}
	for i := 1; i < len(out); i++ {
		if out[i].At.Before(out[i-1].At) {
			return nil, errors.New("intervene: give interventions in time order")
		}
	}
	return out, nil
}

func simExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenario := fs.String("scenario", "1", "the scenario, by number or name (sextant sim list)")
	seed := fs.Uint64("seed", 1, "the seed: the same seed gives the same files, byte for byte")
	out := fs.String("out", "", "the folder to write (must be empty or absent)")
	before := fs.Duration("before", 30*time.Minute, "how much to export before the onset")
	after := fs.Duration("after", time.Hour, "how much to export after the onset")
	var ivs interventionFlags
	fs.Var(&ivs, "intervene", "an intervention AT:KIND:TARGET, AT relative to the onset (repeatable), such as 20m:rollback:search-indexer")
	fs.Usage = func() {
		config.Usage(stderr, fs, "sextant sim export: write a scenario as files: OTLP JSON, changes and alerts as their webhooks send them, and the truth.")
	}
	if _, err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("out: the folder to write is required")
	}
	n, err := sim.ScenarioNumber(*scenario)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	sc, err := sim.Build(n, sim.ReferenceOnset(n), *seed)
	if err != nil {
		return err
	}
	timed, err := parseInterventions(ivs, sc.Onset)
	if err != nil {
		return err
	}
	live := sc.Onset.Add(-*before)
	warm := sc.WarmupStart(live)
	sc = sc.WithRoutineChanges(*seed, warm, sc.Onset.Add(*after))
	s, err := sim.New(sim.DefaultWorld(), sc, *seed, warm)
	if err != nil {
		return err
	}
	began := time.Now()
	earlier := s.Advance(live)
	stats, err := playback.Export(ctx, sim.NewStream(s, sim.JSON), sc.Truth, *out,
		playback.ExportOptions{Until: sc.Onset.Add(*after), Interventions: timed, Earlier: earlier})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scenario %d (%s), seed %d: %d deliveries, %.1f MB compressed, in %s\n  onset %s; truth in %s/truth.json\n",
		n, sc.Name, *seed, stats.Deliveries, float64(stats.Bytes)/1e6, time.Since(began).Round(time.Millisecond), sc.Onset.Format(time.RFC3339), *out)
	return nil
}

// replayCmd plays a scenario folder into a running Sextant.
func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "http://127.0.0.1:8080", "the Sextant to play into")
	token := fs.String("token", "", "API token with the responder role")
	secret := fs.String("github-webhook-secret", "", "the GitHub webhook secret the Sextant verifies (for the folder's GitHub deliveries)")
	speed := fs.Float64("speed", 0, "how many times faster than recorded; 0 sends as fast as Sextant takes them")
	keep := fs.Bool("keep-time", false, "keep the recorded timestamps instead of moving the folder so that it ends now")
	fs.Usage = func() {
		config.Usage(stderr, fs, "sextant replay DIR: play a folder written by sextant sim export into a running Sextant, through its intake.")
	}
	// The folder may come before or after the flags.
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if _, err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if dir == "" && fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	if dir == "" {
		return errors.New("replay: the folder to play is required")
	}
	if *token == "" {
		return errors.New("token: a responder token is required (--token or SEXTANT_TOKEN)")
	}
	if *speed < 0 {
		return errors.New("speed: must be 0 or more")
	}
	entries, err := playback.ReadManifest(dir)
	if err != nil {
		return err
	}
	var shift time.Duration
	if !*keep {
		shift = playback.ShiftToNow(entries, time.Now())
	}
	snd := &playback.Sender{BaseURL: *to, Token: *token, GitHubSecret: *secret, Retries: 3}
	began := time.Now()
	err = playback.Replay(ctx, dir, entries, snd, playback.ReplayOptions{Speed: *speed, Shift: shift})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "played %d deliveries into %s in %s (timestamps moved by %s)\n", len(entries), *to, time.Since(began).Round(time.Millisecond), shift)
	return nil
}
