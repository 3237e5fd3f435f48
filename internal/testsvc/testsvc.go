// Package testsvc starts real services from Debian's packages (Prometheus now; Alertmanager and
// VictoriaMetrics later) on loopback ports for tests, and stops them when the test ends. Where a
// service is not installed the test is skipped, unless SEXTANT_REQUIRE_SERVICES is set (the
// README's test command sets it after installing them), so a missing service cannot pass
// silently there.
package testsvc

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Service is a running service.
type Service struct {
	URL string
	cmd *exec.Cmd
	log *os.File
}

// Kill stops the service at once (SIGKILL), as a crash would.
func (s *Service) Kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
}

// Log returns what the service wrote, for failure messages.
func (s *Service) Log() string {
	b, _ := os.ReadFile(s.log.Name())
	return string(b)
}

// need finds a service's binary or skips the test.
func need(t testing.TB, binary, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(binary)
	if err != nil {
		if os.Getenv("SEXTANT_REQUIRE_SERVICES") != "" {
			t.Fatalf("%s is required (SEXTANT_REQUIRE_SERVICES is set) but not on PATH", binary)
		}
		t.Skipf("%s not installed (apt-get install %s); make test installs it", binary, pkg)
	}
	return path
}

// FreePort returns a loopback address with a port nobody listens on right now.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs a service and waits until readyPath answers 200.
func start(t testing.TB, path string, args []string, addr, readyPath string) *Service {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(path)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	s := &Service{URL: "http://" + addr, cmd: cmd, log: logf}
	t.Cleanup(func() { s.Kill(); logf.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+readyPath, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not become ready: %s", path, s.Log())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Prometheus starts Prometheus with the given configuration (YAML) on a free loopback port.
// files are written beside the configuration (rule files, named relative to it).
func Prometheus(t testing.TB, configYAML string, files map[string]string) *Service {
	t.Helper()
	bin := need(t, "prometheus", "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := FreePort(t)
	return start(t, bin, []string{
		"--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr, "--log.level=warn",
	}, addr, "/-/ready")
}

// VictoriaMetrics starts single-node VictoriaMetrics on a free loopback port, with its query
// cache off and no latency offset, so that what was just written can be read back at once.
func VictoriaMetrics(t testing.TB) *Service {
	t.Helper()
	bin := need(t, "victoria-metrics", "victoria-metrics")
	addr := FreePort(t)
	return start(t, bin, []string{
		"-httpListenAddr=" + addr, "-storageDataPath=" + filepath.Join(t.TempDir(), "vm"),
		"-retentionPeriod=100y", "-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=ERROR",
	}, addr, "/health")
}

// Alertmanager starts Alertmanager with the given configuration (YAML) on a free loopback port,
// without clustering.
func Alertmanager(t testing.TB, configYAML string) *Service {
	t.Helper()
	bin := need(t, "prometheus-alertmanager", "prometheus-alertmanager")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := FreePort(t)
	return start(t, bin, []string{
		"--config.file=" + cfg, "--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr, "--cluster.listen-address=", "--log.level=warn",
	}, addr, "/-/ready")
}
