package certs

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/kubecerts/kubecerts/plugins/certs/source"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 250 * time.Millisecond

// startProgress draws "scanned N objects, found M certificates" on stderr
// while in-cluster sources run, when stderr is a terminal and the output is
// for people; it returns the function that stops and erases it.
func (o *CheckOptions) startProgress(c *source.Collector) func() {
	if o.scope == nil || o.PrintFlags.Machine() || !isTerminal(o.ErrOut) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(o.ErrOut, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(o.ErrOut, "\rscanned %d objects, found %d certificates", o.scope.Scanned.Load(), c.Count())
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
