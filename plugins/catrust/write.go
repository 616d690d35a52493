package catrust

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/tools/clientcmd"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/printing"
)

// reminder is printed after a write: how nodes pick the change up.
const reminder = "nodes poll the secret and install the change into their trust store within minutes, " +
	"without being recreated; on a node that does not pick it up, restart containerd (systemctl restart containerd)"

// lastApplied is kubectl apply's annotation; it may hold every value of the
// secret, so it is never printed.
const lastApplied = corev1.LastAppliedConfigAnnotation

// writeOptions are what add, remove and sync share: the secret, --dry-run,
// and the output: the change as a table (default), secret/<name> (-o name),
// or the Secret written or, under --dry-run, that would be written (-o
// json|yaml and templates).
type writeOptions struct {
	secretOptions
	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams
	// Yes sends a write to the aks store; without it the change is printed
	// as a plan (exit 1). NoWait returns once AKS accepted the update.
	Yes, NoWait bool

	dryRun  cmdutil.DryRunStrategy
	printer printers.ResourcePrinter
	// requestTimeout is --request-timeout when given (0: no bound).
	requestTimeout *time.Duration
}

func newWriteOptions(streams genericiooptions.IOStreams) writeOptions {
	return writeOptions{PrintFlags: printing.NewPrintFlags(), IOStreams: streams}
}

// addFlags binds --secret, --dry-run and the output flags.
func (w *writeOptions) addFlags(cmd *cobra.Command) {
	w.secretOptions.addFlags(cmd)
	cmdutil.AddDryRunFlag(cmd)
	w.PrintFlags.AddFlags(cmd)
	cmd.Flags().BoolVar(&w.Yes, "yes", false, "Store aks: send the update. It makes AKS replace every Linux node of the cluster; without --yes the change is printed as a plan and nothing is sent (exit 1). The secret store does not need it.")
	cmd.Flags().BoolVar(&w.NoWait, "no-wait", false, "Store aks: return once AKS accepted the update, without waiting for the nodes to be replaced.")
}

// complete resolves the secret, the dry-run strategy and the printer.
func (w *writeOptions) complete(f cmdutil.Factory, cmd *cobra.Command) error {
	w.secretOptions.complete(f)
	var err error
	if w.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return cli.UsageErrorf(cmd, "--dry-run: %v", err)
	}
	w.printer, err = w.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	if v, err := cmd.Flags().GetString("request-timeout"); err == nil && v != "" && cmd.Flags().Changed("request-timeout") {
		// Checked by the root command already.
		if d, err := clientcmd.ParseTimeout(v); err == nil {
			w.requestTimeout = &d
		}
	}
	return nil
}

// validate checks the store's flags and those only one store takes.
func (w *writeOptions) validate(cmd *cobra.Command) error {
	if err := w.secretOptions.validate(cmd); err != nil {
		return err
	}
	if !w.isAKS() {
		if w.NoWait {
			return cli.UsageErrorf(cmd, "--no-wait applies to --store aks; the store is secret (%s)", w.storeReasonOr())
		}
		return nil
	}
	if w.dryRun == cmdutil.DryRunServer {
		return cli.UsageErrorf(cmd, "--dry-run=server: AKS has no server-side dry run; use --dry-run=client to see the plan")
	}
	return nil
}

// printsSecret reports whether the output is the Secret rather than the
// change: -o json, yaml, jsonpath and go-template.
func (w *writeOptions) printsSecret() bool {
	if w.isAKS() {
		return false
	}
	switch w.printer.(type) {
	case *printing.TablePrinter, printing.NamePrinter:
		return false
	}
	return true
}

// write applies m with retries (see apply). When plan is true and the output
// is the table, the change is printed before the secret is written; should a
// concurrent writer make the applied change differ, the applied one is
// printed after it.
func (w *writeOptions) write(ctx context.Context, m mutation, plan bool, notes []string) error {
	w.printStoreNotes(w.ErrOut, w.PrintFlags.Machine())
	if w.isAKS() {
		return w.writeAKS(ctx, m, notes)
	}
	var planned *api.CATrustChange
	if plan && !w.printsSecret() {
		m = w.printPlan(ctx, m, &planned)
	}
	res, err := w.apply(ctx, w.dryRun, m)
	if err != nil {
		return err
	}
	if planned != nil && sameChange(planned, res.Change) {
		w.printNotes(res.Change, notes)
		return nil
	}
	if planned != nil {
		fmt.Fprintln(w.ErrOut, "note: the secret changed while it was being written; the change applied:")
	}
	return w.report(res, notes)
}

// printPlan wraps m to print the first change it computes, before any write.
// When the secret does not exist, a namespace that does not exist either is
// an error before the plan is printed: no plan of a write that cannot be.
func (w *writeOptions) printPlan(ctx context.Context, m mutation, planned **api.CATrustChange) mutation {
	return func(current *corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
		if current == nil && *planned == nil && w.dryRun != cmdutil.DryRunClient {
			if err := w.checkNamespace(ctx); err != nil {
				return nil, nil, err
			}
		}
		desired, change, err := m(current)
		if err == nil && *planned == nil {
			c := change.DeepCopy()
			c.Secret, c.Created, c.DryRun = w.ref, current == nil && c.Changed(), dryRunName(w.dryRun)
			*planned = c
			if perr := w.printer.PrintObj(c, w.Out); perr != nil {
				return nil, nil, perr
			}
		}
		return desired, change, err
	}
}

// report prints the outcome of a write per -o, then the notes.
func (w *writeOptions) report(res *writeResult, notes []string) error {
	if w.printsSecret() {
		if res.Secret == nil {
			return fmt.Errorf("%s does not exist: no Secret to print", &w.secretOptions)
		}
		sec, left := printableSecret(res.Secret)
		if len(left) == 1 {
			fmt.Fprintf(w.ErrOut, "warning: %s: key %s is not a certificate and is left out of the printed Secret; the cluster keeps it, but applying or replacing the Secret with this manifest may delete it\n",
				&w.secretOptions, left[0])
		} else if len(left) > 1 {
			fmt.Fprintf(w.ErrOut, "warning: %s: keys %s are not certificates and are left out of the printed Secret; the cluster keeps them, but applying or replacing the Secret with this manifest may delete them\n",
				&w.secretOptions, strings.Join(left, ", "))
		}
		return w.printer.PrintObj(sec, w.Out)
	}
	if err := w.printer.PrintObj(res.Change, w.Out); err != nil {
		return err
	}
	w.printNotes(res.Change, notes)
	return nil
}

// printNotes tells people, on stderr, what was converted or skipped, and
// what the write did: nothing, a dry run, or a write nodes will pick up.
// Scripts (-o other than the table) get none.
func (w *writeOptions) printNotes(c *api.CATrustChange, notes []string) {
	if w.PrintFlags.Machine() {
		return
	}
	for _, n := range notes {
		fmt.Fprintln(w.ErrOut, "note: "+n)
	}
	for _, s := range c.Skipped {
		fmt.Fprintf(w.ErrOut, "note: %s (sha256 %s) from %s: %s; skipped\n", s.Subject, api.ShortFingerprint(s.SHA256Fingerprint), s.Key, s.Reason)
	}
	switch {
	case !c.Changed():
		fmt.Fprintf(w.ErrOut, "note: nothing to change; %s was not written\n", &w.secretOptions)
	case c.DryRun != "":
		fmt.Fprintf(w.ErrOut, "note: --dry-run=%s: %s was not written\n", c.DryRun, &w.secretOptions)
	default:
		verb := "updated"
		if c.Created {
			verb = "created"
		}
		fmt.Fprintf(w.ErrOut, "note: %s %s; %s\n", &w.secretOptions, verb, reminder)
	}
}

// sameChange reports whether a and b add and remove the same certificates
// under the same keys.
func sameChange(a, b *api.CATrustChange) bool {
	sig := func(c *api.CATrustChange) string {
		var parts []string
		for _, it := range c.Added {
			parts = append(parts, "+"+it.Key+"="+it.SHA256Fingerprint)
		}
		for _, it := range c.Removed {
			parts = append(parts, "-"+it.Key+"="+it.SHA256Fingerprint)
		}
		for _, it := range c.Reencoded {
			parts = append(parts, "~"+it.Key+"="+it.SHA256Fingerprint)
		}
		sort.Strings(parts)
		return strings.Join(parts, ",")
	}
	return sig(a) == sig(b)
}

// printableSecret is s as a manifest to print: name, namespace, labels,
// annotations (without kubectl's last-applied configuration, which may hold
// every value), type and the certificate keys whose values are certificates
// and nothing else. The keys left out are returned, sorted.
func printableSecret(s *corev1.Secret) (*corev1.Secret, []string) {
	out := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      s.Name,
			Namespace: s.Namespace,
			Labels:    s.Labels,
		},
		Immutable: s.Immutable,
		Type:      s.Type,
		Data:      map[string][]byte{},
	}
	for k, v := range s.Annotations {
		if k != lastApplied {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	var left []string
	for k, v := range s.Data {
		if isCertKey(k) && onlyCertificates(v) {
			out.Data[k] = v
		} else {
			left = append(left, k)
		}
	}
	sort.Strings(left)
	return out, left
}

// onlyCertificates reports whether v holds certificates and nothing else
// that could be secret: no key, no block of another type, and (in PEM, also
// under base64) no text outside the blocks.
func onlyCertificates(v []byte) bool {
	if containsPrivateKey(v) {
		return false
	}
	b, err := certificate.Parse(v)
	return err == nil && len(besidesCertificates(v, b)) == 0
}
