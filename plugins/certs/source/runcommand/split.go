package runcommand

import (
	"bytes"

	"github.com/kubecerts/kubecerts/shared/lazyregexp"
)

// NodeLinePrefix starts the line that names the node whose output follows,
// when several nodes' outputs are concatenated:
//
//	### node: aks-nodepool1-12345678-vmss000000
//	{"value": [ … ]}
//	### node: aks-nodepool1-12345678-vmss000001
//	Enable succeeded:
//	[stdout]
//	…
const NodeLinePrefix = "### node: "

var nodeLine = lazyregexp.New(`^###\s*node:\s*(\S+)\s*$`)

// Chunk is one node's output in a capture.
type Chunk struct {
	// Node is the name of its "### node:" line; empty for output before
	// the first such line.
	Node string
	// Line is the 1-based line the output starts on.
	Line int
	Data []byte
}

// Split cuts a capture at its "### node: NAME" lines. Text before the first
// one is a chunk without a name, unless it is blank; a node line followed by
// nothing is a chunk with empty data.
func Split(data []byte) []Chunk {
	var chunks []Chunk
	cur := Chunk{Line: 1}
	var buf bytes.Buffer
	flush := func() {
		if cur.Node != "" || len(bytes.TrimSpace(buf.Bytes())) > 0 {
			cur.Data = append([]byte(nil), buf.Bytes()...)
			chunks = append(chunks, cur)
		}
		buf.Reset()
	}
	line := 0
	for len(data) > 0 {
		line++
		l := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if m := nodeLine.FindSubmatch(bytes.TrimRight(l, "\r\n")); m != nil {
			flush()
			cur = Chunk{Node: string(m[1]), Line: line + 1}
			continue
		}
		buf.Write(l)
	}
	flush()
	return chunks
}
