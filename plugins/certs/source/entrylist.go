package source

import api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"

// entryList is the Collector's append-only list of report entryList, kept in
// blocks of entryBlock: growing one slice of ~450-byte entryList copies all of
// them at every doubling (and leaves the old arrays to the garbage
// collector), which at 20,000 certificates cost more than describing them.
// Not safe for concurrent use.
type entryList struct {
	blocks [][]api.Certificate
	n      int
}

const entryBlock = 256

func (e *entryList) len() int { return e.n }

// add appends d.
func (e *entryList) add(d api.Certificate) {
	if e.n%entryBlock == 0 {
		e.blocks = append(e.blocks, make([]api.Certificate, 0, entryBlock))
	}
	last := len(e.blocks) - 1
	e.blocks[last] = append(e.blocks[last], d)
	e.n++
}

// at is the i-th entry, to update in place.
func (e *entryList) at(i int) *api.Certificate { return &e.blocks[i/entryBlock][i%entryBlock] }

// appendTo appends every entry, in order, to dst.
func (e *entryList) appendTo(dst []api.Certificate) []api.Certificate {
	for _, b := range e.blocks {
		dst = append(dst, b...)
	}
	return dst
}
