package server

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/auth"
)

// BenchmarkSSEFanout measures end-to-end delivery latency to 1,000 live subscribers of one
// incident over loopback HTTP: from just before a responder's POST of an event to the moment each
// subscriber has read it off its stream. Events are sent one at a time, each after the previous
// one reached everybody. Reports p50, p99 and max over all deliveries.
// Run: go test ./internal/server -run XXX -bench SSEFanout -benchtime 50x
func BenchmarkSSEFanout(b *testing.B) {
	const subscribers = 1000
	e := newEnv(b)
	id := e.declare("fan-out")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: subscribers}}
	var mu sync.Mutex
	received := map[int64][]time.Time{} // seq → receive times
	arrived := make(chan int64, subscribers*4)
	var ready sync.WaitGroup
	done := make(chan struct{})
	for range subscribers {
		ready.Add(1)
		go func() {
			req, _ := http.NewRequest("GET", e.http.URL+"/api/incidents/"+id+"/stream?after_seq=1", nil)
			req.Header.Set("Authorization", "Bearer "+e.tokens[auth.Viewer])
			res, err := client.Do(req)
			ready.Done()
			if err != nil {
				b.Error(err)
				return
			}
			defer res.Body.Close()
			go func() { <-done; res.Body.Close() }()
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				if line, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
					seq, _ := strconv.ParseInt(line, 10, 64)
					now := time.Now()
					mu.Lock()
					received[seq] = append(received[seq], now)
					n := len(received[seq])
					mu.Unlock()
					if n == subscribers {
						arrived <- seq
					}
				}
			}
		}()
	}
	ready.Wait()
	sent := map[int64]time.Time{}
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		ev := e.note(id, fmt.Sprintf("event %d", i))
		sent[ev.Seq] = start
		select {
		case seq := <-arrived:
			if seq != ev.Seq {
				b.Fatalf("seq %d arrived everywhere before %d", seq, ev.Seq)
			}
		case <-time.After(10 * time.Second):
			b.Fatalf("event %d did not reach all %d subscribers", ev.Seq, subscribers)
		}
	}
	b.StopTimer()
	close(done)
	var lat []time.Duration
	mu.Lock()
	for seq, at := range sent {
		for _, r := range received[seq] {
			lat = append(lat, r.Sub(at))
		}
	}
	mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(len(lat)), "deliveries")
}

// BenchmarkStateOverAPI10k measures GET /api/incidents/{id} for an incident with 10,000 events:
// reading the log from SQLite, projecting it and encoding the card.
// Run: go test ./internal/server -run XXX -bench StateOverAPI10k
func BenchmarkStateOverAPI10k(b *testing.B) {
	e := newEnv(b)
	id := e.declare("long incident")
	batch := make([]any, 100)
	for i := range batch {
		batch[i] = map[string]any{"type": "note.added", "payload": map[string]any{"text": fmt.Sprintf("note %d", i)}}
	}
	for range 100 {
		if code, raw := e.do("POST", "/api/incidents/"+id+"/events", auth.Responder, map[string]any{"events": batch}, nil); code != 201 {
			b.Fatalf("%d %s", code, raw)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if code, _ := e.do("GET", "/api/incidents/"+id, auth.Viewer, nil, nil); code != 200 {
			b.Fatal(code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/request")
}
