package source

import (
	"fmt"
	"sync"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
)

// parseCache remembers what certificate.Parse made of the values the
// in-cluster sources read, by the value itself: the same certificate sits
// in many Secrets (copies, cert-manager's ca.crt, a wildcard spread over
// namespaces), and each distinct one is parsed once. It holds at most
// parseCacheSize values and is emptied when full, so that a cluster whose
// values are all distinct costs a bounded amount of memory and no more
// than one map lookup per value. The zero value is ready to use, and safe
// for concurrent use.
type parseCache struct {
	mu sync.Mutex
	m  map[string]*parsed
}

// parsed is one value's outcome: its certificates (shared by every place
// the value is found, and never modified) or the error, and the notes.
type parsed struct {
	bundle *certificate.Bundle
	err    error
	notes  []string
}

// parseCacheSize bounds the values kept: with ~1.5 KB of PEM and a parsed
// certificate of a few KB each, some 5 MB.
const parseCacheSize = 1024

// parseCacheMaxValue is the largest value kept: CA bundles of hundreds of
// certificates are rare and large, and are parsed each time.
const parseCacheMaxValue = 16 << 10

// parse returns certificate.Parse(value), from the cache when the same
// bytes were parsed before.
func (c *parseCache) parse(value []byte) *parsed {
	if len(value) > parseCacheMaxValue {
		return newParsed(value)
	}
	c.mu.Lock()
	p, ok := c.m[string(value)] // no copy: the compiler looks up without converting
	c.mu.Unlock()
	if ok {
		return p
	}
	p = newParsed(value)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= parseCacheSize {
		c.m = make(map[string]*parsed, parseCacheSize)
	}
	c.m[string(value)] = p
	return p
}

func newParsed(value []byte) *parsed {
	b, err := certificate.Parse(value)
	p := &parsed{bundle: b, err: err}
	if b != nil {
		p.notes = b.Notes()
	}
	return p
}

// reportBytes parses one stored value and reports its certificates (every
// one of a chain, with its index) or the error, at loc.
func (s *Scope) reportBytes(source, loc string, obj *api.ObjectReference, value []byte, sink Sink) {
	p := s.parsed.parse(value)
	if p.err != nil {
		sink.Error(source, loc, p.err)
		if p.bundle == nil {
			return
		}
	}
	for i, c := range p.bundle.Certificates {
		l := loc
		if len(p.bundle.Certificates) > 1 {
			l = fmt.Sprintf("%s [%d]", loc, i)
		}
		sink.Found(source, Found{Cert: c, Location: l, Object: obj, Notes: p.notes})
	}
}
