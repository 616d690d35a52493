package cli

import (
	"flag"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/component-base/logs/klogflags"
)

// addLogFlags adds the flags k8s.io/component-base/logs.AddFlags adds, with
// the same names, defaults and help: klog's -v and --vmodule and
// --log-flush-frequency. That package is not imported because through its
// logging configuration API it imports component-base's feature gates, and
// with them its metrics registry and the Prometheus client, whose init runs
// in every command (~5 ms of package init: legacyregistry, client_golang,
// runtime/metrics, procfs, OpenTelemetry attributes, ...).
//
// As with logs.AddFlags without logs.InitLogs (which the plugins never
// called), --log-flush-frequency is accepted and changes nothing: klog
// flushes at exit (Run) and by its own daemon.
func addLogFlags(fs *pflag.FlagSet) {
	var goFlags flag.FlagSet
	klogflags.Init(&goFlags)
	goFlags.Duration("log-flush-frequency", 5*time.Second, "Maximum number of seconds between log flushes")
	goFlags.VisitAll(func(f *flag.Flag) {
		pf := pflag.PFlagFromGoFlag(f)
		if f.Name == "vmodule" {
			pf.Usage += " (only works for the default text log format)"
		}
		if fs.Lookup(pf.Name) == nil {
			fs.AddFlag(pf)
		}
	})
}
