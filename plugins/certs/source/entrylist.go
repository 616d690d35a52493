package source

import api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"

// collected is one certificate of the report as the Collector keeps it until
// the report is made: what differs from place to place (source, location,
// object, notes) beside the description, which every place of a
// certificate described once shares. One with more of its own (a
// name, a chain, a kubelet, places it is also at) is kept whole, in full.
// Some 80 bytes, where a report entry is some 450.
type collected struct {
	desc             *api.Certificate
	source, location string
	object           *api.ObjectReference
	notes            []string
	full             *api.Certificate
}

// certificate is the report entry.
func (e *collected) certificate() api.Certificate {
	if e.full != nil {
		return *e.full
	}
	c := *e.desc
	c.Source, c.Location, c.Object, c.Notes = e.source, e.location, e.object, e.notes
	return c
}

// expand makes the entry whole, to change it in place.
func (e *collected) expand() *api.Certificate {
	if e.full == nil {
		c := e.certificate()
		*e = collected{full: &c}
	}
	return e.full
}

// entryList is the Collector's append-only list of entries, kept in blocks
// of entryBlock: growing one slice copies all of it at every doubling (and
// leaves the old arrays to the garbage collector), which at 20,000
// certificates cost more than describing them. Not safe for concurrent use.
type entryList struct {
	// head holds the certificates a report was made of; blocks the
	// entries added after, entryBlock to a block.
	head   []api.Certificate
	blocks [][]collected
	n      int
}

const entryBlock = 1024

func (e *entryList) len() int { return e.n }

// add appends d.
func (e *entryList) add(d collected) {
	if (e.n-len(e.head))%entryBlock == 0 {
		e.blocks = append(e.blocks, make([]collected, 0, entryBlock))
	}
	last := len(e.blocks) - 1
	e.blocks[last] = append(e.blocks[last], d)
	e.n++
}

// whole is the i-th entry made whole, to change in place.
func (e *entryList) whole(i int) *api.Certificate {
	if i < len(e.head) {
		return &e.head[i]
	}
	i -= len(e.head)
	return e.blocks[i/entryBlock][i%entryBlock].expand()
}

// certificates returns the report's certificates, in order, which the list
// then holds as its head: each block is let go as soon as it is copied. The
// caller may reorder the slice; a later call sees that order.
func (e *entryList) certificates() []api.Certificate {
	if len(e.blocks) > 0 {
		all := make([]api.Certificate, 0, e.n)
		all = append(all, e.head...)
		for i := range e.blocks {
			for j := range e.blocks[i] {
				all = append(all, e.blocks[i][j].certificate())
			}
			e.blocks[i] = nil
		}
		e.head, e.blocks = all, nil
	}
	return e.head[:e.n:e.n]
}
