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

	"github.com/sextant-sre/sextant/internal/anomaly"
	"github.com/sextant-sre/sextant/internal/config"
	"github.com/sextant-sre/sextant/internal/evaluation"
	"github.com/sextant-sre/sextant/internal/logparse"
)

// evalCmd measures the analysis on public data sets.
func evalCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "nab" {
		return evalNAB(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "loghub" {
		return errors.New("eval: want loghub or nab")
	}
	fs := flag.NewFlagSet("eval loghub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the Loghub 2k folder (one folder per system)")
	asJSON := fs.Bool("json", false, "print the results as one JSON document (schema in docs/evaluation.md)")
	doc := fs.String("doc", "", "also write the table into this Markdown file, between its loghub table markers")
	fs.Usage = func() {
		config.Usage(stderr, fs, "sextant eval loghub: parse the 16 Loghub 2k logs and score the templates (GA, PA, FGA, FTA) against the original and corrected truth.")
	}
	if _, err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("data: the Loghub 2k folder is required")
	}
	systems, err := evaluation.Loghub(*data)
	if err != nil {
		return err
	}
	// The command as given, but no machine's absolute path goes into a document.
	command := "sextant eval loghub --data " + *data
	if filepath.IsAbs(*data) {
		command = "sextant eval loghub --data DIR"
	}
	report := evaluation.NewLoghubReport(command, fmt.Sprintf("similarity %.2f, one parser per log, no log-specific masks", logparse.DefaultConfig.Similarity), systems)
	if *doc != "" {
		if err := report.WriteDoc(*doc); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	report.WriteTable(stdout)
	return nil
}

func evalNAB(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval nab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the NAB folder (data/, labels/combined_windows.json)")
	asJSON := fs.Bool("json", false, "print the results as one JSON document (schema in docs/evaluation.md)")
	doc := fs.String("doc", "", "also write the table into this Markdown file, between its nab table markers")
	fs.Usage = func() {
		config.Usage(stderr, fs, "sextant eval nab: run Sextant's streaming detector over the NAB corpus and score it with NAB's scorer, for its three profiles.")
	}
	if _, err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("data: the NAB folder is required")
	}
	files, err := evaluation.ReadNAB(*data)
	if err != nil {
		return err
	}
	command := "sextant eval nab --data " + *data
	if filepath.IsAbs(*data) {
		command = "sextant eval nab --data DIR"
	}
	c := anomaly.DefaultConfig
	report := evaluation.NABReport{Dataset: "nab-v1.0", Command: command, Files: len(files),
		Config:   fmt.Sprintf("baseline window %d samples, level over the last %d, z scale %g, one alarm per %d samples", c.Window, c.Recent, c.Scale, c.Refractory),
		Profiles: evaluation.ScoreNAB(files, evaluation.SextantNAB)}
	report.Windows = report.Profiles[0].Windows
	if *doc != "" {
		if err := report.WriteDoc(*doc); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	report.WriteTable(stdout)
	return nil
}
