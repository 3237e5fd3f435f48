package logstore

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/prometheus/prometheus/model/labels"
)

// streamTable numbers the label sets of streams. It is append-only on disk: one JSON object per
// line, in id order, so ids survive a restart.
type streamTable struct {
	f      *os.File
	byHash map[uint64][]uint32
	sets   []labels.Labels // id-1 → labels
}

func openStreams(path string) (*streamTable, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open stream table: %w", err)
	}
	t := &streamTable{f: f, byHash: map[uint64][]uint32{}}
	rd := bufio.NewReader(f)
	var good int64
	for {
		line, err := rd.ReadBytes('\n')
		if err == io.EOF {
			break // a partial last line (a crash mid-write) is dropped below
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read stream table: %w", err)
		}
		var m map[string]string
		if err := json.Unmarshal(line, &m); err != nil {
			break
		}
		t.remember(labels.FromMap(m))
		good += int64(len(line))
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("repair stream table: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

func (t *streamTable) remember(l labels.Labels) uint32 {
	t.sets = append(t.sets, l)
	id := uint32(len(t.sets))
	h := l.Hash()
	t.byHash[h] = append(t.byHash[h], id)
	return id
}

// id returns the stream id of a label set, adding it if new.
func (t *streamTable) id(l labels.Labels) (uint32, error) {
	for _, id := range t.byHash[l.Hash()] {
		if labels.Equal(t.sets[id-1], l) {
			return id, nil
		}
	}
	raw, err := json.Marshal(l.Map())
	if err != nil {
		return 0, err
	}
	if _, err := t.f.Write(append(raw, '\n')); err != nil {
		return 0, fmt.Errorf("write stream table: %w", err)
	}
	return t.remember(l), nil
}

// matching returns the ids of the streams whose labels match all matchers; nil means all.
func (t *streamTable) matching(ms []*labels.Matcher) map[uint32]bool {
	if len(ms) == 0 {
		return nil
	}
	out := map[uint32]bool{}
	for i, l := range t.sets {
		ok := true
		for _, m := range ms {
			if !m.Matches(l.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok {
			out[uint32(i+1)] = true
		}
	}
	return out
}

// labelsFunc returns a lookup of labels by id that stays valid while more streams are added.
func (t *streamTable) labelsFunc() func(uint32) labels.Labels {
	sets := t.sets[:len(t.sets):len(t.sets)]
	return func(id uint32) labels.Labels {
		if id == 0 || int(id) > len(sets) {
			return labels.EmptyLabels()
		}
		return sets[id-1]
	}
}

func (t *streamTable) close() error {
	if err := t.f.Sync(); err != nil {
		t.f.Close()
		return err
	}
	return t.f.Close()
}
