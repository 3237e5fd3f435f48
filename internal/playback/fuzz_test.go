package playback

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseManifest: a scenario folder comes from outside; its manifest is parsed or refused,
// never trusted: every entry it lets through names an intake path and a file inside the folder.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"seq":1,"at":"2026-04-13T10:00:00Z","path":"/v1/metrics","content_type":"application/json","file":"deliveries/000001.json.gz"}`))
	f.Add([]byte(`{"seq":1,"at":"2026-04-13T10:00:00Z","path":"/v1/metrics","file":"../../etc/passwd"}`))
	f.Add([]byte("{}\n{}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, err := ParseManifest(raw)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Path == "" || e.Path[0] != '/' || e.File == "" {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

// FuzzShiftTimes: any JSON body is shifted or refused, and what comes out is JSON.
func FuzzShiftTimes(f *testing.F) {
	f.Add([]byte(`{"resourceMetrics":[{"timeUnixNano":"1776074400000000000"}]}`))
	f.Add([]byte(`{"time":"2026-04-13T10:00:00Z","alerts":[{"endsAt":"0001-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`[1, "x", null, {"aUnixNano": 5}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := ShiftTimes(raw, time.Hour)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("shifted %q into invalid JSON %q", raw, out)
		}
	})
}
