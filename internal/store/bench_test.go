package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAppendConcurrent measures durable appends per second (synchronous=FULL, each append
// acknowledged only after its transaction commits) with concurrent writers spread over ten
// incidents. Run: go test ./internal/store -run XXX -bench AppendConcurrent -benchtime 100000x
func BenchmarkAppendConcurrent(b *testing.B) {
	for _, writers := range []int{1, 64, 256, 1024} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := open(b, b.TempDir(), Options{})
			defer s.Close()
			ids := make([]string, 10)
			for i := range ids {
				ids[i] = declare(b, s, fmt.Sprintf("incident %d", i))
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if _, err := appendOne(s, ids[i%int64(len(ids))], note("observed something")); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
