package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"eval", "nab"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "data") {
		t.Fatalf("eval without --data: %v", err)
	}
	if err := run(context.Background(), []string{"eval", "logs", "--data", "x"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "unknown data set") {
		t.Fatalf("an unknown data set: %v", err)
	}
	dir := filepath.Join("..", "..", "..", "shared", "datasets", "loghub-2k")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the Loghub 2k data set is not at %s", dir)
	}
	out.Reset()
	if err := run(context.Background(), []string{"eval", "loghub", "--data", dir, "--json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Dataset string
		Systems []struct{ System string }
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Dataset != "loghub-2k" || len(r.Systems) != 16 {
		t.Fatalf("%v %+v", err, r)
	}
	// --doc rewrites the table between its markers and nothing else.
	doc := filepath.Join(t.TempDir(), "evaluation.md")
	os.WriteFile(doc, []byte("before\n<!-- loghub table: begin -->\nold\n<!-- loghub table: end -->\nafter\n"), 0o644)
	out.Reset()
	if err := run(context.Background(), []string{"eval", "loghub", "--data", dir, "--doc", doc}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(doc)
	if s := string(raw); !strings.HasPrefix(s, "before\n") || !strings.HasSuffix(s, "after\n") || strings.Contains(s, "old") || !strings.Contains(s, "| HDFS |") {
		t.Fatalf("doc: %s", raw)
	}
}

// TestEvalBreakdown runs the breakdown evaluation as a command and checks its JSON.
func TestEvalBreakdown(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "datasets", "riskloc", "data", "RS")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the RiskLoc RS cases are not at %s", dir)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"eval", "breakdown", "--data", dir, "--json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Dataset string
		Sextant struct {
			Cases int
			F1    float64
		}
		Chance struct{ F1 float64 }
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Dataset != "riskloc-rs" || r.Sextant.Cases != 135 || r.Sextant.F1 <= r.Chance.F1 {
		t.Fatalf("%v %+v", err, r)
	}
}

// TestEvalRCA runs the root-cause evaluation as a command and checks its JSON.
func TestEvalRCA(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "datasets", "sockshop1")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the Sock Shop cases are not at %s", dir)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"eval", "rca", "--data", dir, "--json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Dataset  string
		Detected []struct {
			Fault string
			Cases int
			Avg5  float64
		} `json:"detected_onset"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Dataset != "sockshop1" || len(r.Detected) != 2 || r.Detected[0].Cases != 25 {
		t.Fatalf("%v %+v", err, r)
	}
}
