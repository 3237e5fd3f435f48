package promapi

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	def := time.Unix(42, 0).UTC()
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", def, true},
		{"1700000000", time.Unix(1700000000, 0).UTC(), true},
		{"1700000000.25", time.Unix(1700000000, 250e6).UTC(), true},
		{"2026-04-06T14:00:00Z", time.Date(2026, 4, 6, 14, 0, 0, 0, time.UTC), true},
		{"2026-04-06T14:00:00.5+02:00", time.Date(2026, 4, 6, 12, 0, 0, 500e6, time.UTC), true},
		{"yesterday", def, false},
	}
	for _, c := range cases {
		got, err := parseTime(c.in, def)
		if (err == nil) != c.ok || (c.ok && !got.Equal(c.want)) {
			t.Errorf("%q: %v %v", c.in, got, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"15", 15 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"15s", 15 * time.Second, true},
		{"1m30s", 90 * time.Second, true},
		{"1d", 24 * time.Hour, true},
		{"", 0, false}, {"0", 0, false}, {"-5", 0, false}, {"0s", 0, false}, {"soon", 0, false}, {"1e300", 0, false},
	}
	for _, c := range cases {
		got, err := parseDuration(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%q: %v %v", c.in, got, err)
		}
	}
}

// FuzzParams checks that no time or step a client sends panics the parsers, and that an
// accepted step is positive.
func FuzzParams(f *testing.F) {
	for _, s := range []string{"1700000000", "1.5", "2026-04-06T14:00:00Z", "15s", "1d", "NaN", "Inf", "-1e308", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseTime(s, time.Time{})
		if d, err := parseDuration(s); err == nil && d <= 0 {
			t.Fatalf("%q parsed as a non-positive step %v", s, d)
		}
	})
}
