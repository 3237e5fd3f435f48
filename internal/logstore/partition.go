package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
)

// partition is one hour of lines: a file of chunk records, each [u32 index length][index][data],
// with every index kept in memory.
type partition struct {
	hour int64
	path string

	mu     sync.RWMutex
	f      *os.File
	size   int64
	chunks []chunkRef
}

type chunkRef struct {
	meta
	off, n int64 // where the compressed data is in the file
}

func partitionPath(dir string, hour int64) string {
	return filepath.Join(dir, strconv.FormatInt(hour, 10)+".log")
}

func createPartition(dir string, hour int64) (*partition, error) {
	return openPartition(partitionPath(dir, hour), hour)
}

// openPartition reads a partition's indexes. A record cut short by a crash is dropped and the
// file truncated after the last whole one.
func openPartition(path string, hour int64) (*partition, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log partition: %w", err)
	}
	p := &partition{hour: hour, path: path, f: f}
	var off int64
	var head [4]byte
	for {
		if _, err := f.ReadAt(head[:], off); err != nil {
			break
		}
		n := int64(binary.LittleEndian.Uint32(head[:]))
		if n > 1<<24 {
			break
		}
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, off+4); err != nil {
			break
		}
		m, dataLen, _, err := decodeMeta(buf)
		if err != nil {
			break
		}
		end := off + 4 + n + int64(dataLen)
		if st, err := f.Stat(); err != nil || st.Size() < end {
			break
		}
		p.chunks = append(p.chunks, chunkRef{meta: m, off: off + 4 + n, n: int64(dataLen)})
		off = end
	}
	if err := f.Truncate(off); err != nil {
		f.Close()
		return nil, fmt.Errorf("repair log partition %s: %w", path, err)
	}
	p.size = off
	return p, nil
}

// write appends a sealed chunk; sync makes it durable.
func (p *partition) write(c *chunk) error {
	idx := encodeMeta(c)
	rec := binary.LittleEndian.AppendUint32(nil, uint32(len(idx)))
	rec = append(rec, idx...)
	rec = append(rec, c.data...)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.f.WriteAt(rec, p.size); err != nil {
		return fmt.Errorf("write log chunk: %w", err)
	}
	p.chunks = append(p.chunks, chunkRef{meta: c.meta, off: p.size + 4 + int64(len(idx)), n: int64(len(c.data))})
	p.size += int64(len(rec))
	return nil
}

func (p *partition) sync() error {
	if err := p.f.Sync(); err != nil {
		return fmt.Errorf("sync log partition: %w", err)
	}
	return nil
}

// scan reads the chunks the filter does not rule out.
func (p *partition) scan(f *filter, labelsOf func(uint32) labels.Labels, fn func(Line) bool) error {
	p.mu.RLock()
	refs := p.chunks[:len(p.chunks):len(p.chunks)]
	file := p.f
	p.mu.RUnlock()
	var buf []byte
	for _, r := range refs {
		if f.skips(r.meta) {
			continue
		}
		if int64(cap(buf)) < r.n {
			buf = make([]byte, r.n)
		}
		buf = buf[:r.n]
		if _, err := file.ReadAt(buf, r.off); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read log chunk: %w", err)
		}
		if err := (&chunk{meta: r.meta, data: buf}).scan(f, labelsOf, fn); err != nil {
			return err
		}
	}
	return nil
}

func (p *partition) close() error { return p.f.Close() }

func (p *partition) remove() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.f.Close()
	return os.Remove(p.path)
}

// load opens the partitions already on disk.
func (s *Store) load() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("read log store: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		hour, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue
		}
		p, err := openPartition(filepath.Join(s.dir, e.Name()), hour)
		if err != nil {
			return err
		}
		s.parts[hour] = p
	}
	return nil
}
