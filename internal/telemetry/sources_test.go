package telemetry

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseRemotes(t *testing.T) {
	got, err := ParseRemotes(" prom=http://127.0.0.1:9090 , vm=https://vm.example/select/0/prometheus")
	if err != nil || len(got) != 2 || got["vm"] != "https://vm.example/select/0/prometheus" {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := ParseRemotes(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"prom", "=http://x", "embedded=http://x", "a=http://x,a=http://y", "a=ftp://x", "a=not a url"} {
		if _, err := ParseRemotes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A dead source is reported unavailable with its reason, while a live one is reported ok.
func TestHealthSurvivesADeadSource(t *testing.T) {
	live := openTest(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	remote, err := NewRemote("dead", dead, RemoteOptions{Timeout: 200 * time.Millisecond, Attempts: 2, Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRegistry(Local{Metrics: live}, Local{Metrics: remote})
	h := r.Health(context.Background(), 2*time.Second)
	if len(h) != 2 || h[0].Source != "dead" || h[0].Status != Unavailable || !strings.Contains(h[0].Reason, "attempts") || h[1].Source != "embedded" || h[1].Status != OK {
		t.Fatalf("%+v", h)
	}
}
