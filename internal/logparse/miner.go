package logparse

import (
	"hash/fnv"
	"strings"
	"sync"
	"time"
)

// MaxTemplates bounds a Miner's templates: past it, lines get an id from their masked tokens
// alone, so that a flood of unparseable lines cannot exhaust memory.
const MaxTemplates = 50_000

// Miner gives stored log lines their template ids (logstore.Options.Templater). The id is a
// hash of the line's template text, so it stays the same across restarts once a template has
// settled; the first lines of a template, before it has seen its variables vary, may get ids of
// their own. Safe for concurrent use.
type Miner struct {
	mu     sync.Mutex
	parser *Parser
	ids    map[*Template]cachedID
}

type cachedID struct {
	gen int
	id  uint32
}

// NewMiner returns a miner with no templates.
func NewMiner() *Miner {
	return &Miner{parser: New(DefaultConfig), ids: map[*Template]cachedID{}}
}

// TemplateID is the id of a line's template (never 0).
func (m *Miner) TemplateID(body string) uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.parser.templates) >= MaxTemplates {
		return hashID(strings.Join(m.parser.tokens(body), " "))
	}
	t, tokens := m.parser.AddTokens(body, time.Time{})
	if !t.hasCategorical() {
		if c, ok := m.ids[t]; ok && c.gen == t.gen {
			return c.id
		}
		id := hashID(t.String())
		m.ids[t] = cachedID{gen: t.gen, id: id}
		return id
	}
	return hashID(t.Resolve(tokens))
}

func hashID(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	if id := h.Sum32(); id != 0 {
		return id
	}
	return 1
}
