package certs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubecerts/kubecerts/plugins/certs/events"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// recordEvents is --record-events: it records an Event for each
// certificate of the report at WARNING or worse held by a Kubernetes
// object, and puts the counts in the report's summary; it runs before the
// report is printed. It returns what prints, after the report, the
// warnings (Events that could not be recorded, one line per namespace:
// never an error of the report, never a change of the exit status) and,
// for people, a note with the counts.
func (o *CheckOptions) recordEvents(cmd *cobra.Command, r *api.CertificateReport) func() {
	if !o.RecordEvents {
		return func() {}
	}
	r.Summary.Events = &api.EventsSummary{}
	if !o.objectSources() {
		return o.eventsNote(fmt.Sprintf("--record-events: the sources checked (%s) hold no Kubernetes objects: no Events can be recorded for their certificates",
			strings.Join(o.selectedNames(), ", ")))
	}
	if o.scope == nil {
		// No client: the kubeconfig's error is in the report.
		return func() {}
	}
	res := events.Record(cmd.Context(), o.scope.Client, r.Certificates, events.Options{QPS: o.QPS})
	*r.Summary.Events = res.EventsSummary
	note := o.eventsNote(fmt.Sprintf("recorded %d Event(s) (%d new, %d updated)", res.Recorded, res.Created, res.Updated))
	return func() {
		for _, w := range res.Warnings {
			fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
		}
		note()
	}
}

// eventsNote prints note for people.
func (o *CheckOptions) eventsNote(note string) func() {
	return func() {
		if !o.PrintFlags.Machine() {
			fmt.Fprintf(o.ErrOut, "note: %s\n", note)
		}
	}
}

// objectSources reports whether a selected source can find certificates
// held by Kubernetes objects: the in-cluster sources, and the nodes (but
// not from --run-command-output) and kubelets sources, whose certificates
// are the Node's.
func (o *CheckOptions) objectSources() bool {
	return o.anyClusterSource() || o.selected[SourceNodes] && o.RunCommandOutput == "" || o.selected[SourceKubelets]
}

func (o *CheckOptions) selectedNames() []string {
	names := make([]string, 0, len(o.selected))
	for name := range o.selected {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
