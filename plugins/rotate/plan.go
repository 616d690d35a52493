package rotate

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/printing"
)

// Limits of the delay between start and completion, as OKE sets them.
const (
	MinDelay = duration.Day
	MaxDelay = 90 * duration.Day
	// ExpiryWarning is how close to its expiry a CA should be rotated by.
	ExpiryWarning = 90 * duration.Day
)

// PlanOptions is kubectl rotate plan.
type PlanOptions struct {
	Delay    string
	CAExpiry string
	Start    string

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	delay    time.Duration
	start    time.Time
	caExpiry *time.Time
	from     string
	printer  printers.ResourcePrinter
	now      func() time.Time
}

// NewCmdPlan is kubectl rotate plan.
func NewCmdPlan(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &PlanOptions{PrintFlags: printing.NewPrintFlags(), IOStreams: streams, now: time.Now}
	cmd := &cobra.Command{
		Use:   "plan --delay DURATION [--ca-expiry DATE]",
		Short: "Print the phases of a CA rotation with their dates",
		Long: cli.LongDesc(`
			Print the phases of a CA rotation as managed platforms run it: start (new
			CAs are made; old and new both work), update clients (every kubeconfig
			gets a bundle trusting both CAs; nodes and pods that talk to the API
			server directly are restarted), and complete (the old CA is retired).

			The delay between start and completion must be between 1 and 90 days,
			given as a duration such as P5D, P5DT5H or 120h. The CA's expiry comes
			from --ca-expiry or, without it, from the current context's CA; a CA that
			expires within 90 days, or before the rotation completes, is warned about
			(exit status 2).`),
		Example: templates.Examples(`
			kubectl rotate plan --delay P5DT5H
			kubectl rotate plan --delay P30D --ca-expiry 2027-03-01 -o yaml`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(f, cmd); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVar(&o.Delay, "delay", "", "Time between start and completion, 1 to 90 days (P5D, P5DT5H, 120h, 5d).")
	cmd.Flags().StringVar(&o.CAExpiry, "ca-expiry", "", "When the current CA expires (RFC 3339 or YYYY-MM-DD); default: read from the current context's CA.")
	cmd.Flags().StringVar(&o.Start, "start", "", "When the rotation starts (RFC 3339 or YYYY-MM-DD); default: now.")
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Complete parses the flags and finds the CA's expiry.
func (o *PlanOptions) Complete(f cmdutil.Factory, cmd *cobra.Command) error {
	if o.Delay == "" {
		return cli.UsageErrorf(cmd, "--delay is required (e.g. P5D)")
	}
	d, err := duration.Parse(o.Delay)
	if err != nil {
		return cli.UsageErrorf(cmd, "--delay: %v", err)
	}
	if d < MinDelay || d > MaxDelay {
		return cli.UsageErrorf(cmd, "--delay %s: must be between 1 and 90 days", o.Delay)
	}
	o.delay = d
	o.start = o.now().UTC().Truncate(time.Minute)
	if o.Start != "" {
		if o.start, err = parseDate(o.Start); err != nil {
			return cli.UsageErrorf(cmd, "--start: %v", err)
		}
	}
	if o.CAExpiry != "" {
		t, err := parseDate(o.CAExpiry)
		if err != nil {
			return cli.UsageErrorf(cmd, "--ca-expiry: %v", err)
		}
		o.caExpiry, o.from = &t, "flag"
	} else if t, err := kubeconfigCAExpiry(f); err == nil {
		o.caExpiry, o.from = &t, "kubeconfig"
	} else {
		fmt.Fprintf(o.ErrOut, "warning: the CA's expiry is unknown (%v); give --ca-expiry\n", err)
	}
	o.printer, err = o.PrintFlags.ToPrinter()
	return err
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (use RFC 3339 or YYYY-MM-DD)", s)
}

// kubeconfigCAExpiry is the earliest notAfter of the current context's CA
// bundle.
func kubeconfigCAExpiry(f cmdutil.Factory) (time.Time, error) {
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return time.Time{}, err
	}
	tls := cfg.TLSClientConfig
	var b *certificate.Bundle
	switch {
	case len(tls.CAData) > 0:
		if b, err = certificate.Parse(tls.CAData); err != nil {
			return time.Time{}, fmt.Errorf("certificate-authority-data: %w", err)
		}
	case tls.CAFile != "":
		if b, err = certificate.ReadFile(tls.CAFile); err != nil {
			return time.Time{}, err
		}
	default:
		return time.Time{}, fmt.Errorf("the current context names no CA")
	}
	earliest := b.Certificates[0].NotAfter
	for _, c := range b.Certificates[1:] {
		if c.NotAfter.Before(earliest) {
			earliest = c.NotAfter
		}
	}
	return earliest.UTC(), nil
}

// Run builds and prints the plan.
func (o *PlanOptions) Run() error {
	p := o.Plan()
	if err := o.printer.PrintObj(p, o.Out); err != nil {
		return err
	}
	if !o.PrintFlags.Machine() {
		for _, w := range p.Warnings {
			fmt.Fprintln(o.ErrOut, "warning: "+w)
		}
	}
	if len(p.Warnings) > 0 {
		return exitcode.WithStatus(exitcode.Warning, nil)
	}
	return nil
}

// Plan computes the phases and warnings.
func (o *PlanOptions) Plan() *api.RotationPlan {
	complete := o.start.Add(o.delay)
	p := &api.RotationPlan{DelaySeconds: int64(o.delay / time.Second), Delay: duration.Format(o.delay), Warnings: []string{}}
	p.Phases = []api.Phase{
		{Name: "start", At: metav1.NewTime(o.start),
			Description: "create the new CAs, keys and certificates; the old and the new credentials both work from now on",
			Commands:    []string{"kubectl rotate ca stage --from LIVE --to STAGING --cross-sign", "kubectl rotate ca verify --old LIVE --new STAGING"}},
		{Name: "update-clients", At: metav1.NewTime(o.start.Add(duration.Day)),
			Description: "give every client a kubeconfig that trusts both CAs; recreate or restart nodes and pods that talk to the API server directly (completion may start once the new credentials are 24 hours old and this is done)",
			Commands:    []string{"kubectl rotate kubeconfig --add-ca NEW-CA.crt"}},
		{Name: "complete", At: metav1.NewTime(complete),
			Description: "retire the old CAs, keys and certificates; then drop the old CA from every kubeconfig",
			Commands:    []string{"kubectl rotate kubeconfig --remove-ca OLD-CA.crt"}},
	}
	if o.delay < duration.Day+time.Minute {
		p.Phases[1].At = metav1.NewTime(o.start)
	}
	if o.caExpiry != nil {
		exp := metav1.NewTime(*o.caExpiry)
		p.CAExpiry, p.CAExpirySource = &exp, o.from
		left := o.caExpiry.Sub(o.start)
		switch {
		case left <= 0:
			p.Warnings = append(p.Warnings, fmt.Sprintf("the CA expired on %s: clients are already broken; rotate now and refresh every kubeconfig", o.caExpiry.Format(time.RFC3339)))
		case complete.After(*o.caExpiry):
			p.Warnings = append(p.Warnings, fmt.Sprintf("the CA expires on %s, before the rotation completes on %s: shorten --delay or start earlier", o.caExpiry.Format(time.RFC3339), complete.Format(time.RFC3339)))
		case left <= ExpiryWarning:
			p.Warnings = append(p.Warnings, fmt.Sprintf("the CA expires within 90 days (%s, in %s): start the rotation now", o.caExpiry.Format(time.RFC3339), duration.Residual(left)))
		}
	}
	return p
}
