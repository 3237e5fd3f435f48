// Command sextant is the incident workbench: one binary that serves the API and the web UI over
// an embedded store, and manages its tokens.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

const usage = `Sextant, an incident workbench for SREs.

Usage:
  sextant serve [settings]           serve the API and the web UI
  sextant demo [settings]            run on a fresh local store with a demo token; prints a login URL
  sextant token create --role R --name N [--kind K]   print a new API token (shown once)
  sextant token list                 list tokens
  sextant token revoke ID            revoke a token and end its sessions
  sextant change record --kind K --service S [--to V …]   record a change in a running Sextant
  sextant sim list                   list the simulator's scenarios
  sextant sim export --scenario N --seed S --out DIR   write a scenario as files, with its truth
  sextant replay DIR --to URL --token T   play such a folder into a running Sextant
  sextant eval loghub --data DIR [--json]   score the log template mining on Loghub 2k
  sextant eval nab --data DIR [--json]      score the anomaly detector on NAB
  sextant eval breakdown --data DIR [--json]   score the breakdown of aggregates on RiskLoc RS
  sextant eval rca --data DIR [--json]      score root-cause ranking on Sock Shop fault injections
  sextant version                    print the version

Run "sextant COMMAND --help" for a command's settings.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sextant:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, false)
	case "demo":
		return serve(ctx, args[1:], stdout, stderr, true)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, stderr)
	case "change":
		return changeCmd(ctx, args[1:], stdout, stderr)
	case "sim":
		return simCmd(ctx, args[1:], stdout, stderr)
	case "replay":
		return replayCmd(ctx, args[1:], stdout, stderr)
	case "eval":
		return evalCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// version reports the module version and the VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "sextant (unknown version)"
	}
	v := "sextant " + bi.Main.Version
	var rev, when, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	if rev != "" {
		v += fmt.Sprintf(" commit %.12s %s%s", rev, when, dirty)
	}
	return v + " " + bi.GoVersion
}
