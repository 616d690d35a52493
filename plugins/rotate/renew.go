package rotate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/kubeadm"
	"github.com/kubecerts/kubecerts/shared/printing"
)

// renewAll is the argument that stands for every certificate, as in
// kubeadm certs renew all.
const renewAll = "all"

// renewDefaultRestartWait is kubelet's default fileCheckFrequency: how long a
// manifest stays out of the manifests directory so that kubelet notices.
const renewDefaultRestartWait = 20 * time.Second

var (
	renewLong = cli.LongDesc(`
		Renew kubeadm's leaf certificates on a control-plane node.

		Each certificate named (kubeadm's names, or all) is re-issued with the same
		subject, SANs, key usages and key type as the one on disk, for a new key, signed
		by its CA in --pki-dir, valid for --validity from now (never beyond the CA's own
		notAfter): apiserver, apiserver-kubelet-client, apiserver-etcd-client,
		front-proxy-client, etcd-server, etcd-peer, etcd-healthcheck-client, and the
		client certificates embedded in admin.conf, super-admin.conf,
		controller-manager.conf and scheduler.conf under --kubeconfig-dir. CAs are never
		renewed. A certificate whose CA key is absent (kubeadm's external CA mode) is
		skipped: --csr-only writes a CSR and a new key for it into --csr-dir instead,
		named as kubeadm names them (apiserver.csr and apiserver.key, admin.conf.csr and
		admin.conf.key), for the external CA to sign.

		Every file replaced is first copied into a backup directory beside the PKI
		directory (/etc/kubernetes/pki-backup-20261123T101500Z, say); every write goes
		to a temporary file in the same directory that is renamed over the old one, so
		a file is always either old or new; keys are written 0600. Kubeconfig files keep everything but
		the client certificate and key. Two renewals of one PKI directory never run at
		once: while one holds the directory's lock (flock), another fails at once and
		writes nothing (--dry-run needs no lock).

		The control-plane static pods load their certificates at start: the ones that
		use a renewed certificate must restart. The command says which and how;
		--restart-static-pods does it: kubelet stops a static pod when its manifest
		leaves the manifests directory and starts it again when it is back, noticing
		within its fileCheckFrequency (20s by default), so each manifest is moved out
		for --restart-wait and back, and put back if the command is interrupted.

		Exit status: 0 when every certificate asked for was renewed or skipped; 1 when
		one could not be (an unreadable file, a CA that has expired, a failed write).`)

	renewExample = templates.Examples(`
		# What would be renewed, and until when
		kubectl rotate renew all --dry-run

		# Renew every certificate, then restart the static pods that use them
		sudo kubectl rotate renew all --restart-static-pods

		# Renew two certificates for 90 days
		sudo kubectl rotate renew apiserver front-proxy-client --validity 90d

		# External CA: new keys and CSRs for the CA to sign
		sudo kubectl rotate renew all --csr-only --csr-dir /root/kubeadm-csrs`)
)

// RenewOptions is kubectl rotate renew.
type RenewOptions struct {
	Names             []string
	PKIDir            string
	KubeconfigDir     string
	Validity          time.Duration
	CSROnly           bool
	CSRDir            string
	DryRun            bool
	RestartStaticPods bool
	ManifestsDir      string
	RestartWait       time.Duration

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	selected []renewTarget
	printer  printers.ResourcePrinter
	now      func() time.Time
	// sleep waits d or until ctx ends; tests replace it.
	sleep renewSleepFunc
}

// NewRenewOptions returns the defaults.
func NewRenewOptions(streams genericiooptions.IOStreams) *RenewOptions {
	return &RenewOptions{
		PKIDir:        kubeadm.DefaultPKIDir,
		KubeconfigDir: kubeadm.DefaultKubeconfigDir,
		Validity:      duration.Year,
		ManifestsDir:  kubeadm.DefaultManifestsDir,
		RestartWait:   renewDefaultRestartWait,
		PrintFlags:    printing.NewPrintFlags(),
		IOStreams:     streams,
		now:           time.Now,
		sleep:         renewSleep,
	}
}

// NewCmdRenew is kubectl rotate renew.
func NewCmdRenew(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdRenew(NewRenewOptions(streams))
}

func newCmdRenew(o *RenewOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "renew (NAME... | all) [--pki-dir DIR] [--kubeconfig-dir DIR] [--validity DURATION] [--csr-only --csr-dir DIR] [--dry-run] [--restart-static-pods]",
		DisableFlagsInUseLine: true,
		Short:                 "Renew kubeadm's leaf certificates, keeping their names, usages and key types",
		Long:                  renewLong,
		Example:               renewExample,
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			return renewNames(args), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.PKIDir, "pki-dir", o.PKIDir, "kubeadm's certificates directory (certificatesDir): the certificates, their CAs and keys.")
	fl.StringVar(&o.KubeconfigDir, "kubeconfig-dir", o.KubeconfigDir, "The directory of admin.conf, super-admin.conf, controller-manager.conf and scheduler.conf.")
	fl.Var(duration.NewValue(&o.Validity), "validity", "How long the new certificates are valid (1y, 90d, P6M, 2160h); never beyond their CA's notAfter.")
	fl.BoolVar(&o.CSROnly, "csr-only", false, "Write a CSR and a new key per certificate into --csr-dir for an external CA, instead of renewing; nothing in --pki-dir or --kubeconfig-dir changes.")
	fl.StringVar(&o.CSRDir, "csr-dir", "", "With --csr-only: where the CSRs and keys go (created 0700 when missing); not the PKI directory itself. It must be yours, writable by you alone, in directories only you and root can change.")
	fl.BoolVar(&o.DryRun, "dry-run", false, "Print what would be done, and write nothing.")
	fl.BoolVar(&o.RestartStaticPods, "restart-static-pods", false, "After renewing, restart the static pods that use the renewed certificates: move each manifest out of --manifests-dir for --restart-wait, then back.")
	fl.StringVar(&o.ManifestsDir, "manifests-dir", o.ManifestsDir, "kubelet's static pod directory (staticPodPath).")
	fl.Var(duration.NewValue(&o.RestartWait), "restart-wait", "How long the manifests stay out: at least kubelet's fileCheckFrequency (20s by default).")
	o.PrintFlags.AddFlags(cmd)
	for _, dir := range []string{"pki-dir", "kubeconfig-dir", "csr-dir", "manifests-dir"} {
		_ = cmd.RegisterFlagCompletionFunc(dir, cobra.FixedCompletions(nil, cobra.ShellCompDirectiveFilterDirs))
	}
	return cmd
}

// renewNames lists the names renew takes that args do not hold yet.
func renewNames(args []string) []string {
	var names []string
	for _, t := range renewTargets() {
		if !slices.Contains(args, t.name) {
			names = append(names, t.name)
		}
	}
	if len(args) == 0 {
		names = append(names, renewAll)
	}
	return names
}

// Complete builds the printer.
func (o *RenewOptions) Complete(cmd *cobra.Command) error {
	var err error
	o.printer, err = o.PrintFlags.ToPrinter()
	return err
}

// Validate checks the arguments and flags and resolves the names.
func (o *RenewOptions) Validate(cmd *cobra.Command) error {
	targets := renewTargets()
	known := make([]string, 0, len(targets))
	for _, t := range targets {
		known = append(known, t.name)
	}
	if len(o.Names) == 0 {
		return cli.UsageErrorf(cmd, "name the certificates to renew, or all: %s", strings.Join(known, ", "))
	}
	var unknown []string
	want := map[string]bool{}
	for _, n := range o.Names {
		switch {
		case n == renewAll && len(o.Names) > 1:
			return cli.UsageErrorf(cmd, "%q renews every certificate: give it alone, or name certificates", renewAll)
		case n == renewAll:
			for _, k := range known {
				want[k] = true
			}
		case slices.Contains(known, n):
			want[n] = true
		default:
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return cli.UsageErrorf(cmd, "unknown certificate names %s: use all or some of %s", strings.Join(renewQuote(unknown), ", "), strings.Join(known, ", "))
	}
	o.selected = o.selected[:0]
	for _, t := range targets {
		if want[t.name] {
			o.selected = append(o.selected, t)
		}
	}
	switch {
	case o.Validity <= 0:
		return cli.UsageErrorf(cmd, "--validity %s: must be positive", duration.Format(o.Validity))
	case o.PKIDir == "":
		return cli.UsageErrorf(cmd, "--pki-dir must not be empty")
	case o.KubeconfigDir == "":
		return cli.UsageErrorf(cmd, "--kubeconfig-dir must not be empty")
	case o.CSROnly && o.CSRDir == "":
		return cli.UsageErrorf(cmd, "--csr-only needs --csr-dir: the directory the CSRs and keys go to")
	case !o.CSROnly && o.CSRDir != "":
		return cli.UsageErrorf(cmd, "--csr-dir is only for --csr-only")
	case o.CSROnly && o.RestartStaticPods:
		return cli.UsageErrorf(cmd, "--restart-static-pods with --csr-only: nothing the static pods use changes")
	case o.RestartStaticPods && o.ManifestsDir == "":
		return cli.UsageErrorf(cmd, "--manifests-dir must not be empty")
	case o.RestartStaticPods && o.RestartWait <= 0:
		return cli.UsageErrorf(cmd, "--restart-wait %s: must be positive (kubelet checks its manifests every 20s by default)", duration.Format(o.RestartWait))
	}
	if o.CSROnly && sameDir(o.CSRDir, o.PKIDir) {
		return cli.UsageErrorf(cmd, "--csr-dir %s is the PKI directory: the new keys would replace the live ones (apiserver.key, …); use another directory", o.CSRDir)
	}
	if o.CSROnly && within(o.CSRDir, o.PKIDir) {
		return cli.UsageErrorf(cmd, "--csr-dir %s is inside the PKI directory %s: keep the new keys and CSRs out of the live directory; use another directory", o.CSRDir, o.PKIDir)
	}
	return o.validateDirs(cmd)
}

// validateDirs checks that --pki-dir is a kubeadm PKI directory, and that
// the other directories given are directories: a typo must not pass for a
// node with nothing to renew.
func (o *RenewOptions) validateDirs(cmd *cobra.Command) error {
	if err := checkDir("--pki-dir", o.PKIDir); err != nil {
		return err
	}
	var cas []string
	found := false
	for _, ca := range kubeadm.CAs {
		cas = append(cas, ca.BaseName+".crt")
		if _, err := os.Stat(kubeadm.CertPath(o.PKIDir, ca.BaseName)); err == nil {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("--pki-dir %s: not a kubeadm PKI directory (none of %s in it)", o.PKIDir, strings.Join(cas, ", "))
	}
	if cmd.Flags().Changed("kubeconfig-dir") {
		if err := checkDir("--kubeconfig-dir", o.KubeconfigDir); err != nil {
			return err
		}
	}
	if o.CSROnly {
		if st, err := os.Stat(o.CSRDir); err == nil && !st.IsDir() {
			return fmt.Errorf("--csr-dir %s: not a directory", o.CSRDir)
		}
		if err := checkPrivateDir("--csr-dir", o.CSRDir); err != nil {
			return err
		}
	}
	if o.RestartStaticPods && !o.DryRun {
		if err := checkDir("--manifests-dir", o.ManifestsDir); err != nil {
			return err
		}
	}
	return nil
}

// Run renews, prints what was done and returns the exit status.
func (o *RenewOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	if !o.DryRun {
		unlock, err := lockDir(o.PKIDir)
		if err != nil {
			return fmt.Errorf("--pki-dir %w", err)
		}
		defer unlock()
	}
	r := &renewal{o: o, now: o.now().UTC()}
	res := r.run(ctx)
	if err := o.printer.PrintObj(res, o.Out); err != nil {
		return err
	}
	if !o.PrintFlags.Machine() {
		o.advise(o.ErrOut, res)
	}
	var bad []string
	for _, c := range res.Certificates {
		if c.Action == api.RenewalError {
			bad = append(bad, fmt.Sprintf("%s (%s)", c.Name, c.Reason))
		}
	}
	var errs []string
	if len(bad) > 0 {
		verb := "renewed"
		if o.CSROnly {
			verb = "given a CSR"
		}
		errs = append(errs, fmt.Sprintf("%d of %d certificates not %s: %s", len(bad), len(res.Certificates), verb, strings.Join(bad, "; ")))
	}
	if r.fatal != nil {
		errs = append(errs, r.fatal.Error())
	}
	if len(errs) > 0 {
		return exitcode.WithStatus(exitcode.Error, errors.New(strings.Join(errs, "; ")))
	}
	return nil
}

// advise writes, for people, the notes and what to do next: which static
// pods to restart and how.
func (o *RenewOptions) advise(w io.Writer, res *api.RenewalResult) {
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if res.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was written.")
	}
	if res.BackupDir != "" {
		fmt.Fprintf(w, "The replaced files were copied to %s first.\n", res.BackupDir)
	}
	if o.CSROnly {
		if n := res.Count(api.RenewalCSRWritten, api.RenewalWouldWriteCSR); n > 0 {
			fmt.Fprintf(w, "Have the external CA sign the CSRs in %s with the usages of the certificates they replace, then install each certificate with its key.\n", o.CSRDir)
		}
		return
	}
	for _, ca := range kubeadm.CAs {
		var names []string
		for _, c := range res.Certificates {
			if c.CAName == ca.Name && c.Action == api.RenewalSkipped && strings.HasPrefix(c.Reason, "external CA mode") {
				names = append(names, c.Name)
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(w, "Skipped %s: %s is in external CA mode (%s absent), so its certificates are renewed by that CA: --csr-only --csr-dir DIR writes their CSRs.\n",
				strings.Join(names, ", "), ca.Name, kubeadm.KeyPath(o.PKIDir, ca.BaseName))
		}
	}
	if renewedAny(res, "admin.conf", "super-admin.conf") {
		verb := "was"
		if res.DryRun {
			verb = "would be"
		}
		fmt.Fprintf(w, "admin.conf or super-admin.conf %s renewed: copies of it elsewhere (cp %s $HOME/.kube/config) must be made again.\n",
			verb, filepath.Join(o.KubeconfigDir, "admin.conf"))
	}
	if len(res.StaticPods) == 0 {
		return
	}
	restarted, pending := 0, []api.StaticPodRestart{}
	for _, p := range res.StaticPods {
		if p.Restarted {
			restarted++
		} else {
			pending = append(pending, p)
		}
	}
	if restarted > 0 {
		fmt.Fprintf(w, "Restarted %d static pods: their manifests were out of %s for %s; kubelet starts them again within its fileCheckFrequency.\n",
			restarted, o.ManifestsDir, duration.Format(o.RestartWait))
	}
	if len(pending) == 0 {
		return
	}
	verb := "must"
	if res.DryRun {
		verb = "would have to"
	}
	var names, manifests []string
	for _, p := range pending {
		names = append(names, p.Name)
		manifests = append(manifests, p.Manifest)
		if p.Reason != "" {
			fmt.Fprintf(w, "note: %s not restarted: %s\n", p.Name, p.Reason)
		}
	}
	if res.DryRun && o.RestartStaticPods {
		fmt.Fprintf(w, "--restart-static-pods would restart %s, moving the manifests out of %s for %s, then back.\n",
			strings.Join(names, ", "), o.ManifestsDir, duration.Format(o.RestartWait))
		return
	}
	hold := renewHoldDir(o.ManifestsDir)
	fmt.Fprintf(w, `These static pods %s restart to load the new certificates: %s.
kubelet stops a static pod when its manifest leaves %s and starts it again when the manifest is back,
noticing within its fileCheckFrequency (20s by default). Run with --restart-static-pods, or:
  mkdir -p %s && mv %s %s/
  sleep 20
  mv %s/*.yaml %s/
`, verb, strings.Join(names, ", "), o.ManifestsDir, hold, strings.Join(manifests, " "), hold, hold, o.ManifestsDir)
}

func renewedAny(res *api.RenewalResult, names ...string) bool {
	for _, c := range res.Certificates {
		if slices.Contains(names, c.Name) && (c.Action == api.RenewalRenewed || c.Action == api.RenewalWouldRenew) {
			return true
		}
	}
	return false
}

func renewQuote(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func renewTime(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.UTC())
	return &mt
}

func renewNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
