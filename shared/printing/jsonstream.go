package printing

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"runtime"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// ListSplitter is an object whose JSON holds one long list (a report's
// certificates): -o json writes that list an element at a time, so that
// 20,000 certificates are never one 20 MB document in memory (encoding/json
// builds the whole document, then indents it into a second buffer). The
// bytes written are the same as cli-runtime's JSON printer's.
type ListSplitter interface {
	k8sruntime.Object
	// SplitList returns a shallow copy of the object with the list set
	// to an empty, non-nil slice; the list's JSON key, a top-level field;
	// and the list's length and elements.
	SplitList() (rest k8sruntime.Object, key string, n int, item func(i int) any)
}

// jsonPrinter prints a ListSplitter element by element and any other
// object through cli-runtime's JSON printer (full).
type jsonPrinter struct {
	full printers.ResourcePrinter
}

func newJSONPrinter(full printers.ResourcePrinter) printers.ResourcePrinter {
	return &jsonPrinter{full: full}
}

func (p *jsonPrinter) PrintObj(obj k8sruntime.Object, w io.Writer) error {
	if _, ok := obj.(ListSplitter); !ok {
		return p.full.PrintObj(obj, w)
	}
	// The type setter gives the object its apiVersion and kind (and takes
	// them away after), as it does for the full printer.
	return printers.NewTypeSetter(api.Scheme).ToPrinter(printers.ResourcePrinterFunc(func(obj k8sruntime.Object, w io.Writer) error {
		if split, err := writeSplitJSON(obj.(ListSplitter), w); split {
			return err
		}
		// An empty list (null stays null), or not laid out as expected:
		// the whole document, at the whole document's cost.
		return p.full.PrintObj(obj, w)
	})).PrintObj(obj, w)
}

// jsonIndent is cli-runtime's: four spaces, no prefix.
const jsonIndent = "    "

// writeSplitJSON writes what json.MarshalIndent(obj, "", "    ") and a
// newline would: the object without its list, with the list's elements
// put in where encoding/json writes the empty list, each indented as
// encoding/json would at that depth. It writes nothing and reports false
// when the list is empty or the document is not laid out as expected.
func writeSplitJSON(obj ListSplitter, w io.Writer) (split bool, err error) {
	rest, key, n, item := obj.SplitList()
	if n == 0 {
		return false, nil
	}
	head, err := json.MarshalIndent(rest, "", jsonIndent)
	if err != nil {
		return true, err
	}
	quoted, err := json.Marshal(key)
	if err != nil {
		return true, err
	}
	// A top-level field is the only line that starts with one indent and
	// the key: deeper fields have more indent, and strings hold no raw
	// newline.
	empty := append(append([]byte("\n"+jsonIndent), quoted...), ": []"...)
	at := bytes.Index(head, empty)
	if at < 0 || bytes.Contains(head[at+len(empty):], empty) {
		return false, nil
	}
	open := at + len(empty) - 1 // the list's "]"
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head[:open])
	for b := range encodeElements(n, item) {
		if b.err != nil {
			return true, b.err
		}
		if _, err := bw.Write(b.json); err != nil {
			return true, err // a closed pipe: stop encoding
		}
	}
	bw.WriteString("\n" + jsonIndent)
	bw.Write(head[open:])
	bw.WriteByte('\n')
	return true, bw.Flush()
}

// encoded is a run of elements as JSON, each after its separator, or the
// error that stopped it.
type encoded struct {
	json []byte
	err  error
}

// elementBatch is how many elements one goroutine encodes at a time.
const elementBatch = 512

// encodeElements encodes the n elements item gives, in batches on up to
// GOMAXPROCS goroutines (encoding/json is most of -o json's time, and
// when the report is printed nothing else runs), and yields the batches
// in order. Each element is written as encoding/json indents an element of
// a top-level list: ",\n" (not before the first), two indents, the element
// with two indents before each of its lines. Stopping early (the caller
// breaks out of the loop) stops the goroutines. A batch's bytes are reused
// once the loop body has returned.
func encodeElements(n int, item func(int) any) func(yield func(encoded) bool) {
	return func(yield func(encoded) bool) {
		workers := min(runtime.GOMAXPROCS(0), (n+elementBatch-1)/elementBatch, 4)
		done := make(chan struct{})
		defer close(done)
		// Batches are handed out in order and their results read in
		// the same order, workers+1 at most in flight.
		type job struct {
			from int
			out  chan encoded
		}
		jobs := make(chan job)
		pending := make(chan chan encoded, workers+1)
		// Buffers come back once their batch is written.
		free := make(chan []byte, workers+2)
		go func() {
			defer close(jobs)
			defer close(pending)
			for from := 0; from < n; from += elementBatch {
				j := job{from: from, out: make(chan encoded, 1)}
				select {
				case pending <- j.out:
				case <-done:
					return
				}
				select {
				case jobs <- j:
				case <-done:
					return
				}
			}
		}()
		for w := 0; w < workers; w++ {
			go func() {
				// Compact (an Encoder escapes HTML as Marshal does),
				// then indented by appendIndent, not by the Encoder.
				var elem bytes.Buffer
				enc := json.NewEncoder(&elem)
				for j := range jobs {
					var out []byte
					select {
					case out = <-free:
					default:
					}
					var err error
					for i := j.from; i < min(j.from+elementBatch, n) && err == nil; i++ {
						// An Encoder reuses its buffers from one
						// element to the next.
						elem.Reset()
						if err = enc.Encode(item(i)); err != nil {
							break
						}
						if i > 0 {
							out = append(out, ',')
						}
						out = append(out, "\n"+elementPrefix...)
						out = appendIndent(out, elem.Bytes(), elementPrefix, jsonIndent) // without Encode's newline
					}
					j.out <- encoded{json: out, err: err}
				}
			}()
		}
		for out := range pending {
			e := <-out
			if !yield(e) {
				return
			}
			select {
			case free <- e.json[:0]:
			default:
			}
		}
	}
}

// elementPrefix is the indent of a top-level list's elements.
const elementPrefix = jsonIndent + jsonIndent
