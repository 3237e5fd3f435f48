package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sextant-sre/sextant/internal/alerts"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/config"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/intake"
	"github.com/sextant-sre/sextant/internal/live"
	"github.com/sextant-sre/sextant/internal/logparse"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/server"
	"github.com/sextant-sre/sextant/internal/servicegraph"
	"github.com/sextant-sre/sextant/internal/sim"
	"github.com/sextant-sre/sextant/internal/store"
	"github.com/sextant-sre/sextant/internal/telemetry"
	"github.com/sextant-sre/sextant/internal/web"
)

func newLogger(w io.Writer, c config.Server) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully: it stops accepting
// connections, ends the live streams, lets in-flight requests finish (appends are acknowledged
// only after they commit), then drains the store's queue and closes it.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, demo bool) error {
	name := "serve"
	if demo {
		name = "demo"
	}
	var c config.Server
	var demoOpts demoOptions
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.Register(fs)
	if demo {
		demoOpts.register(fs)
		// The demo runs on a fresh store of its own unless told otherwise.
		fs.Lookup("data-dir").DefValue = "a new temporary directory"
	}
	synopsis := "sextant serve: serve the API and the web UI."
	if demo {
		synopsis = "sextant demo: run Sextant on 127.0.0.1 with a fresh store, a simulated production system playing an outage through the real intake, and an admin token; prints a URL that logs the browser in."
	}
	fs.Usage = func() { config.Usage(stderr, fs, synopsis) }
	origin, err := config.Parse(fs, args, os.Getenv)
	if err != nil {
		return err
	}
	if demo {
		if origin["data-dir"] == "default" {
			c.DataDir = ""
		}
		if err := demoSettings(&c); err != nil {
			return err
		}
		if c.GitHubWebhookSecret == "" {
			c.GitHubWebhookSecret = randomSecret() // the simulated CI signs its GitHub webhooks with it
		}
	}
	if err := c.Validate(); err != nil {
		return err
	}
	log := newLogger(stderr, c)
	slog.SetDefault(log)

	hub := live.NewHub()
	st, err := store.OpenSQLite(ctx, c.DataDir, store.Options{OnCommit: hub.Publish})
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}()
	// Each stored line gets its mined template's id, so patterns can be counted.
	logs, err := logstore.Open(filepath.Join(c.DataDir, "logs"), logstore.Options{Retention: c.LogRetention, Logger: log,
		Templater: logparse.NewMiner().TemplateID})
	if err != nil {
		return err
	}
	defer func() {
		if err := logs.Close(); err != nil {
			log.Error("closing the log store", "err", err)
		}
	}()
	var world *demoWorld
	if demo {
		if world, err = newDemoWorld(ctx, demoOpts, st, logs, filepath.Join(c.DataDir, "metrics"), log, stderr); err != nil {
			return err
		}
	}
	reg := prometheus.NewRegistry()
	metrics, err := telemetry.OpenEmbedded("embedded", filepath.Join(c.DataDir, "metrics"), telemetry.EmbeddedOptions{
		Retention: c.MetricsRetention, OutOfOrderWindow: c.MetricsOOOWindow, Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	defer func() {
		if err := metrics.Close(); err != nil {
			log.Error("closing the metrics store", "err", err)
		}
	}()
	sources := telemetry.NewRegistry(telemetry.Local{Metrics: metrics, Records: st, LogStore: logs})
	remotes, err := telemetry.ParseRemotes(c.RemoteSources)
	if err != nil {
		return fmt.Errorf("remote-sources: %w", err)
	}
	for name, u := range remotes {
		r, err := telemetry.NewRemote(name, u, telemetry.RemoteOptions{})
		if err != nil {
			return fmt.Errorf("remote-sources: %w", err)
		}
		sources.Add(telemetry.Local{Metrics: r, Records: st})
	}
	graph := servicegraph.New(c.SpanWindow)
	graphCtx, stopGraph := context.WithCancel(context.Background())
	defer stopGraph()
	go graph.Run(graphCtx, metrics.Storage(), 15*time.Second, func(err error) { log.Error("service graph", "err", err) })
	routes := alerts.DefaultRoutes()
	if c.AlertRoutes != "" {
		if routes, err = alerts.LoadRoutes(c.AlertRoutes); err != nil {
			return err
		}
	}
	otlpMetrics := intake.OTLPMetrics(log, metrics.Storage(), c.MaxIntakeBytes)
	srv, err := server.New(server.Deps{Store: st, Hub: hub, Logger: log, Config: c, Origin: origin, Registry: reg, UI: web.FS(),
		Metrics: metrics, RemoteWrite: intake.RemoteWriteFast(log, reg, metrics.Storage(), c.MaxIntakeBytes), OTLPMetrics: otlpMetrics,
		Logs: logs, OTLPLogs: intake.OTLPLogs(logs, c.MaxIntakeBytes), OTLPTraces: intake.OTLPTraces(graph, c.MaxIntakeBytes),
		Alerts: &alerts.Service{Store: st, Routes: routes}, Sources: sources, Simulator: simulator(world)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil && demo && origin["listen"] == "default" && errors.Is(err, syscall.EADDRINUSE) {
		// The demo must start on a newcomer's machine even if the usual port is taken.
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	base := c.PublicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	if demo {
		simToken, err := seedDemo(ctx, st, base, world, stdout)
		if err != nil {
			ln.Close()
			return err
		}
		playCtx, stopPlaying := context.WithCancel(ctx)
		defer stopPlaying()
		go world.play(playCtx, "http://"+ln.Addr().String(), simToken, c.GitHubWebhookSecret, log)
	}
	// No WriteTimeout: live streams stay open. Reads are bounded so a slow client cannot hold a
	// connection by trickling a request.
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	hs.RegisterOnShutdown(srv.Close)
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	if c.OTLPGRPCListen != "" {
		gln, err := net.Listen("tcp", c.OTLPGRPCListen)
		if err != nil && demo && origin["otlp-grpc-listen"] == "default" && errors.Is(err, syscall.EADDRINUSE) {
			gln, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen for OTLP gRPC on %s: %w", c.OTLPGRPCListen, err)
		}
		gs := intake.NewGRPCServer(log, st, int(c.MaxIntakeBytes), metrics.Storage(), logs, graph)
		go func() {
			if err := gs.Serve(gln); err != nil {
				errc <- fmt.Errorf("OTLP gRPC: %w", err)
			}
		}()
		defer gs.GracefulStop()
		log.Info("serving OTLP over gRPC", "addr", gln.Addr().String())
	}
	log.Info("serving", "url", base, "data_dir", c.DataDir, "version", version())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("in-flight requests did not finish in time", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// demoSettings keeps the demo on loopback and on a store of its own.
func demoSettings(c *config.Server) error {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("listen: the demo binds to loopback only, not %q; use sextant serve to expose Sextant", host)
	}
	if c.DataDir == "" {
		dir, err := os.MkdirTemp("", "sextant-demo-")
		if err != nil {
			return fmt.Errorf("create demo data directory: %w", err)
		}
		c.DataDir = dir
	}
	return nil
}

// seedDemo creates the demo's admin token and the simulator's own token, and prints the URL
// that logs a browser in and what the simulated world is playing.
func seedDemo(ctx context.Context, st store.Store, base string, world *demoWorld, stdout io.Writer) (simToken string, err error) {
	secret, _, err := auth.IssueToken(ctx, st, uuid.Must(uuid.NewV7()).String(), "demo-admin", auth.Admin, incident.ActorPerson, time.Now())
	if err != nil {
		return "", err
	}
	simToken, _, err = auth.IssueToken(ctx, st, uuid.Must(uuid.NewV7()).String(), "simulator", auth.Responder, incident.ActorIntegration, time.Now())
	if err != nil {
		return "", err
	}
	base = strings.TrimSuffix(base, "/")
	sc := world.scenario
	fmt.Fprintf(stdout, "Sextant demo is running.\n\n  Open: %s/login#token=%s\n\n  API:  curl -H 'Authorization: Bearer %s' %s/api/incidents\n\n"+
		"Simulated world: scenario %d, %s (%q), seed %d, at %gx.\n  The outage begins at %s (simulated time; %s from now at this speed).\n"+
		"  Act on it: curl -H 'Authorization: Bearer %s' -d '{\"kind\":\"rollback\",\"target\":\"SERVICE\"}' %s/api/sim/interventions\n\nPress Ctrl-C to stop.\n",
		base, secret, secret, base, sc.Number, sc.Name, sc.Title, world.opts.seed, world.opts.speed,
		sc.Onset.Format("15:04:05 MST"), untilAtSpeed(world.stream.Sim.Now(), sc.Onset, world.opts.speed), secret, base)
	if note := sim.Catalogue[sc.Number-1].Note; note != "" {
		fmt.Fprintf(stdout, "\nNote: %s.\n", note)
	}
	return simToken, nil
}

// untilAtSpeed is the wall time until the simulated clock reaches at.
func untilAtSpeed(now, at time.Time, speed float64) time.Duration {
	return time.Duration(float64(at.Sub(now)) / speed).Round(time.Second)
}

// simulator is the world as the server's Simulator, or nil outside the demo (a nil pointer in
// an interface would not be nil).
func simulator(w *demoWorld) server.Simulator {
	if w == nil {
		return nil
	}
	return w
}
