package source

import api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"

// entryList is the Collector's append-only list of report entries, kept in
// blocks of entryBlock: growing one slice of ~450-byte entries copies all of
// them at every doubling (and leaves the old arrays to the garbage
// collector), which at 20,000 certificates cost more than describing them.
// Not safe for concurrent use.
type entryList struct {
	// head holds the entries flatten made one slice of; blocks those
	// added after, entryBlock to a block.
	head   []api.Certificate
	blocks [][]api.Certificate
	n      int
}

const entryBlock = 256

func (e *entryList) len() int { return e.n }

// add appends d.
func (e *entryList) add(d api.Certificate) {
	if (e.n-len(e.head))%entryBlock == 0 {
		e.blocks = append(e.blocks, make([]api.Certificate, 0, entryBlock))
	}
	last := len(e.blocks) - 1
	e.blocks[last] = append(e.blocks[last], d)
	e.n++
}

// at is the i-th entry, to update in place.
func (e *entryList) at(i int) *api.Certificate {
	if i < len(e.head) {
		return &e.head[i]
	}
	i -= len(e.head)
	return &e.blocks[i/entryBlock][i%entryBlock]
}

// flatten returns the entries as one slice, which the list then holds as
// its head: each block is dropped as soon as it is copied, so that at
// 100,000 entries the list is not in memory twice. The caller may reorder
// the slice; entries it changes change in the list too.
func (e *entryList) flatten() []api.Certificate {
	if len(e.blocks) > 0 {
		flat := make([]api.Certificate, 0, e.n)
		flat = append(flat, e.head...)
		e.head = nil
		for i, b := range e.blocks {
			flat = append(flat, b...)
			e.blocks[i] = nil
		}
		e.head, e.blocks = flat, nil
	}
	return e.head[:e.n:e.n]
}
