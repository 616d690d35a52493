package certs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubecerts/kubecerts/plugins/certs/metrics"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/atomicfile"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/fserr"
)

// FormatPrometheus is -o prometheus: the report in the Prometheus text
// exposition format.
const FormatPrometheus = "prometheus"

// metricsPrinter prints a CertificateReport as Prometheus metrics, the
// check's duration measured from Run's start to the print.
func (o *CheckOptions) metricsPrinter() printers.ResourcePrinter {
	return printers.ResourcePrinterFunc(func(obj runtime.Object, w io.Writer) error {
		r, ok := obj.(*api.CertificateReport)
		if !ok {
			return fmt.Errorf("-o %s is not supported for %T", FormatPrometheus, obj)
		}
		return metrics.Write(w, r, o.now().Sub(o.started))
	})
}

// completeTextfile makes --textfile imply -o prometheus.
func (o *CheckOptions) completeTextfile() {
	if o.Textfile != "" && o.PrintFlags.Format() == "" && o.PrintFlags.OutputFormat != nil {
		*o.PrintFlags.OutputFormat = FormatPrometheus
	}
}

// validateTextfile checks --textfile before anything is read: the format,
// and a directory that exists and can be written, so that a cron job's
// mistake is one line at once rather than after the whole check.
func (o *CheckOptions) validateTextfile(cmd *cobra.Command) error {
	if !cmd.Flags().Changed("textfile") {
		return nil
	}
	if strings.TrimSpace(o.Textfile) == "" {
		return cli.UsageErrorf(cmd, "--textfile %q: must not be empty", o.Textfile)
	}
	if f := o.PrintFlags.Format(); f != FormatPrometheus {
		return cli.UsageErrorf(cmd, "--textfile writes the Prometheus format: -o %s cannot go with it", f)
	}
	if st, err := os.Stat(o.Textfile); err == nil && st.IsDir() {
		return cli.UsageErrorf(cmd, "--textfile %s: is a directory; name the file to write (node_exporter reads *.prom)", o.Textfile)
	}
	dir := filepath.Dir(o.Textfile)
	st, err := os.Stat(dir)
	if err != nil {
		return cli.UsageErrorf(cmd, "--textfile %s: directory %s: %v", o.Textfile, dir, fserr.Cause(err))
	}
	if !st.IsDir() {
		return cli.UsageErrorf(cmd, "--textfile %s: %s is not a directory", o.Textfile, dir)
	}
	probe, err := os.CreateTemp(dir, "."+filepath.Base(o.Textfile)+".probe-*")
	if err != nil {
		return cli.UsageErrorf(cmd, "--textfile %s: directory %s cannot be written: %v", o.Textfile, dir, fserr.Cause(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	if !strings.HasSuffix(o.Textfile, ".prom") {
		fmt.Fprintf(o.ErrOut, "warning: --textfile %s: node_exporter's textfile collector reads only files named *.prom\n", o.Textfile)
	}
	return nil
}

// printReport prints the report to stdout, or with --textfile replaces the
// file with it at once (a temporary file beside it, renamed; mode 0644 for
// node_exporter), so that a scrape never reads half a check.
func (o *CheckOptions) printReport(r *api.CertificateReport) error {
	if o.Textfile == "" {
		return o.printer.PrintObj(r, o.Out)
	}
	var buf bytes.Buffer
	if err := o.printer.PrintObj(r, &buf); err != nil {
		return err
	}
	if err := atomicfile.Write(o.Textfile, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--textfile %w", err)
	}
	return nil
}
