package logparse

import (
	"fmt"
	"sync"
	"testing"
)

func TestMinerGivesOneIDPerEvent(t *testing.T) {
	m := NewMiner()
	var ids []uint32
	for i := range 50 {
		ids = append(ids, m.TemplateID(fmt.Sprintf("GET /api/items/%d 200 %dms", i, 10+i%7)))
	}
	// After the first lines the template has settled: one id.
	for _, id := range ids[5:] {
		if id != ids[len(ids)-1] || id == 0 {
			t.Fatalf("ids: %v", ids)
		}
	}
	stopped := m.TemplateID("VM Stopped after 12 s")
	started := m.TemplateID("VM Started after 3 s")
	for range 10 {
		stopped = m.TemplateID("VM Stopped after 12 s")
		started = m.TemplateID("VM Started after 3 s")
	}
	if stopped == started {
		t.Fatal("two events got one id")
	}
	// A fresh miner fed the same lines gives the same ids: ids are the template text's.
	m2 := NewMiner()
	var last uint32
	for i := range 50 {
		last = m2.TemplateID(fmt.Sprintf("GET /api/items/%d 200 %dms", i, 10+i%7))
	}
	if last != ids[len(ids)-1] {
		t.Fatal("ids differ between two miners")
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				m.TemplateID(fmt.Sprintf("worker %d step %d done", g, i))
			}
		}()
	}
	wg.Wait()
}
