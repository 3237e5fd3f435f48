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

// TestDemoStartsServesAndStopsGracefully runs `sextant demo` as a user would, follows the URL it
// prints, and stops it with SIGTERM.
func TestDemoStartsServesAndStopsGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := build(t)
	cmd := exec.Command(bin, "demo", "--listen", "127.0.0.1:0")
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

	var list struct {
		Incidents []struct {
			ID, Status, Impact string
			LastSeq            int64 `json:"last_seq"`
		}
	}
	if code := getJSON(t, base+"/api/incidents", token, &list); code != 200 || len(list.Incidents) != 1 || list.Incidents[0].LastSeq < 10 {
		t.Fatalf("demo incident: %d %+v", code, list)
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
	if code := getJSON(t, base+"/api/changes", token, &recorded); code != 200 || len(recorded.Changes) != 1 || recorded.Changes[0].To != "4.18" {
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
