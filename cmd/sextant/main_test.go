package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// build compiles the sextant binary once per test run.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sextant")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func getJSON(t *testing.T, url, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// TestDemoPlaysTheOutageAndStopsGracefully runs `sextant demo` as a user would: it follows the
// URL it prints, waits for the simulated outage to begin and checks, through the API, that the
// incident was declared from the simulated alerts with its signals; then it stops the demo with
// SIGTERM.
func TestDemoPlaysTheOutageAndStopsGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := build(t)
	cmd := exec.Command(bin, "demo", "--listen", "127.0.0.1:0", "--otlp-grpc-listen", "127.0.0.1:0", "--history", "1h")
	cmd.Env = append(os.Environ(), "SEXTANT_DATA_DIR="+t.TempDir())
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	login := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/login#token=(sxt_[A-Za-z0-9_-]{43})`)
	var base, token string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := login.FindStringSubmatch(sc.Text()); m != nil {
			base, token = m[1], m[2]
			break
		}
	}
	if base == "" {
		t.Fatal("the demo printed no login URL")
	}
	go io.Copy(io.Discard, stdout)

	// The onset comes half a minute after the start at 60x; the page a minute after that.
	type incidents struct {
		Incidents []struct {
			ID, Title, Status string
			LastSeq           int64 `json:"last_seq"`
		}
	}
	var list incidents
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		list = incidents{}
		if code := getJSON(t, base+"/api/incidents", token, &list); code == 200 && len(list.Incidents) > 0 && list.Incidents[0].LastSeq >= 5 {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if len(list.Incidents) != 1 || !strings.Contains(list.Incidents[0].Title, "JourneyErrorBudgetBurn") {
		t.Fatalf("the outage declared no incident from its page (or several): %+v", list)
	}
	var events struct {
		Events []struct {
			Type    string
			Payload struct{ Kind, Title string }
		}
	}
	if code := getJSON(t, base+"/api/incidents/"+list.Incidents[0].ID+"/events", token, &events); code != 200 {
		t.Fatalf("events: %d", code)
	}
	signals := map[string]bool{}
	for _, e := range events.Events {
		if e.Type == "signal.attached" && e.Payload.Kind == "alert" {
			signals[strings.SplitN(e.Payload.Title, ":", 2)[0]] = true
		}
	}
	if !signals["JourneyErrorBudgetBurn"] || len(signals) < 2 {
		t.Fatalf("the incident's alert signals: %v", signals)
	}
	var st struct{ Name, Now string }
	if code := getJSON(t, base+"/api/sim", token, &st); code != 200 || st.Name != "port-exhaustion-cascade" {
		t.Fatalf("simulator status: %d %+v", code, st)
	}
	// The world's telemetry arrived through the intake: metrics (queried at the world's time,
	// which is still catching up with the clock), and the deploy days before.
	var q struct {
		Data struct{ Result []any }
	}
	if code := getJSON(t, base+"/api/v1/query?query=sum(rate(journey_requests_total[5m]))&time="+st.Now, token, &q); code != 200 || len(q.Data.Result) != 1 {
		t.Fatalf("journey metrics: %d %+v", code, q)
	}
	var root struct {
		Changes []struct{ Service, To string }
	}
	from := time.Now().Add(-5 * 24 * time.Hour).UTC().Format(time.RFC3339)
	if code := getJSON(t, base+"/api/changes?service=search-indexer&from="+from, token, &root); code != 200 || len(root.Changes) != 1 || root.Changes[0].To != "v3.0.0" {
		t.Fatalf("the root cause's deploy: %d %+v", code, root)
	}
	if code := getJSON(t, base+"/api/incidents", "", nil); code != 401 {
		t.Fatalf("the API must need a token: %d", code)
	}
	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), `<script type="module" src="/static/app.js">`) {
		t.Fatalf("UI: %d", res.StatusCode)
	}
	record := exec.Command(bin, "change", "record", "--url", base, "--token", token, "--kind", "deploy", "--service", "checkout", "--from", "4.17", "--to", "4.18")
	if out, err := record.CombinedOutput(); err != nil || !strings.Contains(string(out), `"stored":[`) {
		t.Fatalf("change record: %v %s", err, out)
	}
	var recorded struct {
		Changes []struct{ Service, To string }
	}
	if code := getJSON(t, base+"/api/changes?service=checkout", token, &recorded); code != 200 || len(recorded.Changes) != 1 || recorded.Changes[0].To != "4.18" {
		t.Fatalf("recorded change: %d %+v", code, recorded)
	}
	bad := exec.Command(bin, "change", "record", "--url", base, "--token", token, "--kind", "yolo", "--service", "x")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "kind") {
		t.Fatalf("a bad change must fail naming the field: %v %s", err, out)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo did not stop after SIGTERM")
	}
}

func TestTokenCommandAndServeSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := build(t)
	dir := t.TempDir()
	env := append(os.Environ(), "SEXTANT_DATA_DIR="+dir)
	create := exec.Command(bin, "token", "create", "--role", "viewer", "--name", "grafana")
	create.Env = env
	out, err := create.Output()
	secret := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(secret, "sxt_") {
		t.Fatalf("token create: %v %q", err, out)
	}
	bad := exec.Command(bin, "token", "create", "--role", "root", "--name", "x")
	bad.Env = env
	if msg, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(msg), `unknown role "root"`) {
		t.Fatalf("bad role: %v %s", err, msg)
	}
	list := exec.Command(bin, "token", "list")
	list.Env = env
	if out, err := list.Output(); err != nil || !strings.Contains(string(out), "grafana") || strings.Contains(string(out), secret) {
		t.Fatalf("token list: %v %s", err, out)
	}
	badSetting := exec.Command(bin, "serve")
	badSetting.Env = append(env, "SEXTANT_LOG_FORMAT=xml")
	if msg, err := badSetting.CombinedOutput(); err == nil || !strings.Contains(string(msg), "log-format") {
		t.Fatalf("bad setting: %v %s", err, msg)
	}
	help := exec.Command(bin, "serve", "--help")
	if msg, _ := help.CombinedOutput(); !strings.Contains(string(msg), "SEXTANT_MAX_BODY_BYTES") {
		t.Fatalf("serve --help does not document the settings: %s", msg)
	}
}

// TestExportAndReplayIntoARunningSextant writes a scenario with `sextant sim export` and plays it
// into a running `sextant serve` with `sextant replay`: the changes, alerts and telemetry arrive
// through the real intake, moved to the present.
func TestExportAndReplayIntoARunningSextant(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := build(t)
	folder := filepath.Join(t.TempDir(), "scenario5")
	export := exec.Command(bin, "sim", "export", "--scenario", "third-party-outage", "--seed", "2", "--out", folder, "--before", "10m", "--after", "10m")
	if out, err := export.CombinedOutput(); err != nil || !strings.Contains(string(out), "deliveries") {
		t.Fatalf("sim export: %v %s", err, out)
	}
	if out, err := exec.Command(bin, "sim", "export", "--scenario", "9", "--out", t.TempDir()).CombinedOutput(); err == nil || !strings.Contains(string(out), "scenario") {
		t.Fatalf("an unknown scenario must be refused naming the flag: %v %s", err, out)
	}

	dir := t.TempDir()
	env := append(os.Environ(), "SEXTANT_DATA_DIR="+dir, "SEXTANT_GITHUB_WEBHOOK_SECRET=gh-secret")
	create := exec.Command(bin, "token", "create", "--role", "responder", "--name", "replay")
	create.Env = env
	out, err := create.Output()
	token := strings.TrimSpace(string(out))
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	serve := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--otlp-grpc-listen", "")
	serve.Env = env
	stderr, _ := serve.StderrPipe()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer serve.Process.Kill()
	serving := regexp.MustCompile(`msg=serving url=(http://127\.0\.0\.1:\d+)`)
	var base string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := serving.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatal("serve printed no URL")
	}
	go io.Copy(io.Discard, stderr)

	replay := exec.Command(bin, "replay", folder, "--to", base, "--github-webhook-secret", "gh-secret")
	replay.Env = append(os.Environ(), "SEXTANT_TOKEN="+token)
	if out, err := replay.CombinedOutput(); err != nil || !strings.Contains(string(out), "played") {
		t.Fatalf("replay: %v %s", err, out)
	}
	var list struct {
		Incidents []struct{ Title string }
	}
	if code := getJSON(t, base+"/api/incidents", token, &list); code != 200 || len(list.Incidents) != 1 || !strings.Contains(list.Incidents[0].Title, "checkout") {
		t.Fatalf("the replayed page declared: %d %+v", code, list)
	}
	var q struct {
		Data struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if code := getJSON(t, base+`/api/v1/query?query=sum(rate(journey_requests_total{outcome="error",journey="checkout"}[5m]))`, token, &q); code != 200 || len(q.Data.Result) != 1 {
		t.Fatalf("replayed metrics at the present time: %d %+v", code, q)
	}
	var cs struct {
		Changes []struct {
			Service string
			Time    time.Time
		}
	}
	if code := getJSON(t, base+"/api/changes?service=payments&from="+time.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339), token, &cs); code != 200 || len(cs.Changes) == 0 {
		t.Fatalf("the replayed payments deploy, moved to the present: %d %+v", code, cs)
	}
	again := exec.Command(bin, "replay", folder, "--to", base)
	if out, err := again.CombinedOutput(); err == nil || !strings.Contains(string(out), "token") {
		t.Fatalf("replay without a token must say so: %v %s", err, out)
	}
}
