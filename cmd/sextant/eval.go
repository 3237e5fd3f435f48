package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sextant-sre/sextant/internal/anomaly"
	"github.com/sextant-sre/sextant/internal/breakdown"
	"github.com/sextant-sre/sextant/internal/config"
	"github.com/sextant-sre/sextant/internal/evaluation"
	"github.com/sextant-sre/sextant/internal/logparse"
	"github.com/sextant-sre/sextant/internal/sim"
)

// report is what an evaluation prints: a table, a JSON document, or the table in a document.
type report interface {
	WriteTable(w io.Writer)
	WriteDoc(path string) error
}

// evaluations are the data sets `sextant eval` measures the analysis on.
var evaluations = map[string]struct {
	synopsis, data string
	run            func(dir, command string) (report, error)
}{
	"loghub": {
		"sextant eval loghub: parse the 16 Loghub 2k logs and score the templates (GA, PA, FGA, FTA) against the original and corrected truth.",
		"the Loghub 2k folder (one folder per system)",
		func(dir, command string) (report, error) {
			systems, err := evaluation.Loghub(dir)
			if err != nil {
				return nil, err
			}
			config := fmt.Sprintf("similarity %.2f, one parser per log, no log-specific masks", logparse.DefaultConfig.Similarity)
			return evaluation.NewLoghubReport(command, config, systems), nil
		},
	},
	"breakdown": {
		"sextant eval breakdown: find the root-cause elements of the RiskLoc RS cases and score them (precision, recall, F1 pooled over elements).",
		"the RiskLoc RS folder (anomaly.yaml and one CSV per case)",
		func(dir, command string) (report, error) {
			cases, err := evaluation.ReadRS(dir)
			if err != nil {
				return nil, err
			}
			c := breakdown.DefaultConfig
			return evaluation.BreakdownReport{Dataset: "riskloc-rs", Command: command,
				Config:  fmt.Sprintf("up to %d labels per element and %d causes, an extra label kept if it multiplies the score by %.2f, a further cause at %.2f of the first's score; baseline the 4 minutes before", c.MaxLabels, c.MaxCauses, c.Refine, c.Next),
				Sextant: evaluation.ScoreRS(cases, c), Chance: evaluation.ChanceRS(cases)}, nil
		},
	},
	"rca": {
		"sextant eval rca: on Sock Shop 1, rank the services of the fault injections by the shift of their own CPU and memory, with Sextant's detected onset and with the true fault time (AC@1, AC@3, Avg@5); on PetShop, localise each issue's root cause along the data set's call graph (top-1, top-3).",
		"the Sock Shop 1 folder (<service>-<fault>/<n>/normal.csv and anomalous.csv) or the PetShop folder (<scenario>/graph.csv, noissue/, train/, test/)",
		func(dir, command string) (report, error) {
			if evaluation.IsPetshop(dir) {
				scenarios, err := evaluation.ReadPetshop(dir)
				if err != nil {
					return nil, err
				}
				return evaluation.PetshopReport{Dataset: "petshop", Command: command, Scores: evaluation.ScorePetshop(scenarios),
					Config: evaluation.PetshopConfig}, nil
			}
			cases, err := evaluation.ReadSockShop(dir)
			if err != nil {
				return nil, err
			}
			d, t, ch, oe := evaluation.ScoreSockShop(cases)
			return evaluation.RCAReport{Dataset: "sockshop1", Command: command, Detected: d, True: t, Chance: ch, OnsetError: oe,
				Config: "onset: the change point (anomaly.FindOnset, at least 4 robust units) of the metric that changed most; rank: each service's largest shift of CPU or memory, median after against median before in interquartile units"}, nil
		},
	},
	"scenarios": {
		"sextant eval scenarios: play each of the simulator's six scenarios into real stores as the demo does, analyse it as if declared three minutes after the onset, twenty minutes in, and check the findings against the scenario's truth.",
		"", // the scenarios are built in
		func(_, command string) (report, error) {
			dir, err := os.MkdirTemp("", "sextant-eval-scenarios-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			r := evaluation.ScenariosReport{Dataset: "sextant scenarios", Command: command,
				Config: "the analyzer's default configuration; the history as blocks, the last 40 minutes through the OTLP intake and the service graph; declared 3 min after the onset, analysed 20 min after it"}
			for _, info := range sim.Catalogue {
				run, err := evaluation.RunScenario(context.Background(), info.Number, filepath.Join(dir, fmt.Sprint(info.Number)), 20*time.Minute, 3*time.Minute)
				if err != nil {
					return nil, fmt.Errorf("scenario %d: %w", info.Number, err)
				}
				r.Outcomes = append(r.Outcomes, evaluation.JudgeScenario(run))
			}
			return r, nil
		},
	},
	"nab": {
		"sextant eval nab: run Sextant's streaming detector over the NAB corpus and score it with NAB's scorer, for its three profiles.",
		"the NAB folder (data/, labels/combined_windows.json)",
		func(dir, command string) (report, error) {
			files, err := evaluation.ReadNAB(dir)
			if err != nil {
				return nil, err
			}
			c := anomaly.DefaultConfig
			r := evaluation.NABReport{Dataset: "nab-v1.0", Command: command, Files: len(files),
				Config: fmt.Sprintf("baseline window %d samples, level the median of the newest sample and the %d before it, z scale %g, z ranked among the last %d; "+
					"each file's day in samples from its timestamps, for the comparison with the same time on earlier days; "+
					"the series in blocks of a 104th of NAB's probationary period (15%% of the file, at most 750 rows), "+
					"and a shape memory (dual-vigilance fuzzy ART over the last %d blocks, in %d levels of the file's range, which NAB gives every detector) that learns over that period, "+
					"its alarm weighed from half to whole by the time since its last, up to that period; "+
					"an alarm silences weaker ones for %d blocks",
					c.Window, anomaly.LevelSamples, c.Scale, c.Memory, anomaly.ShapeBlocks, anomaly.ShapeLevels, anomaly.RefractoryBlocks),
				Profiles:     evaluation.ScoreNAB(files, evaluation.SextantNAB),
				WithoutRange: evaluation.ScoreNAB(files, evaluation.SextantNABWithoutRange)}
			r.Windows = r.Profiles[0].Windows
			return r, nil
		},
	},
}

// evalCmd measures the analysis on a public data set.
func evalCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("eval: want loghub, nab, breakdown, rca or scenarios")
	}
	e, ok := evaluations[args[0]]
	if !ok {
		return fmt.Errorf("eval: unknown data set %q (want loghub, nab, breakdown, rca or scenarios)", args[0])
	}
	fs := flag.NewFlagSet("eval "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := new(string)
	if e.data != "" {
		data = fs.String("data", "", e.data)
	}
	asJSON := fs.Bool("json", false, "print the results as one JSON document (schema in docs/evaluation.md)")
	doc := fs.String("doc", "", "also write the table into this Markdown file, between its "+args[0]+" table markers")
	fs.Usage = func() { config.Usage(stderr, fs, e.synopsis) }
	if _, err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	if *data == "" && e.data != "" {
		return fmt.Errorf("data: %s is required", e.data)
	}
	// The command as given, but no machine's absolute path goes into a document.
	command := "sextant eval " + args[0]
	switch {
	case filepath.IsAbs(*data):
		command += " --data DIR"
	case *data != "":
		command += " --data " + *data
	}
	r, err := e.run(*data, command)
	if err != nil {
		return err
	}
	if *doc != "" {
		if err := r.WriteDoc(*doc); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	r.WriteTable(stdout)
	return nil
}
