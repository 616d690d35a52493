package catrust

import (
	"crypto/x509"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

var (
	syncLong = cli.LongDesc(`
		Make the trust secret hold the certificates of a bundle file: the ones
		missing are added (caN.crt, the lowest free N, as PEM with LF line endings)
		and, with --prune, the ones not in the file are removed, so that the secret
		holds exactly the file's certificates. Without --prune they are kept.

		The file is read as add reads it (PEM with any line endings, DER, base64),
		and its certificates are checked as add checks them; if any is refused,
		nothing is written. What changes (added, removed, kept, by fingerprint) is
		printed first. Keys that are not certificates, labels and annotations are
		kept, and so are certificate keys that do not parse (remove them by name).

		A certificate key stored in a form nodes cannot install (CRLF line endings,
		base64 of PEM, DER) is rewritten as LF PEM. A key whose value holds more
		than certificates (a CRL, a key, other text) is not rewritten, as that would
		lose the rest: when it would be (re-encoded, or --prune removing some of its
		certificates), sync fails naming the key and nothing is written; edit the
		key by hand.` + aksWriteHelp)

	syncExample = templates.Examples(`
		# Make the secret hold exactly the CAs of the node-pool file
		kubectl ca-trust sync cas.pem --prune

		# See first what would change, checked by the API server
		kubectl ca-trust sync cas.pem --prune --dry-run=server`)
)

// SyncOptions is kubectl ca-trust sync.
type SyncOptions struct {
	writeOptions
	Prune        bool
	Max          int
	AllowNonCA   bool
	AllowExpired bool

	file string
	in   *input
}

// NewSyncOptions returns the defaults.
func NewSyncOptions(streams genericiooptions.IOStreams) *SyncOptions {
	return &SyncOptions{writeOptions: newWriteOptions(streams), Max: DefaultMax}
}

// NewCmdSync is kubectl ca-trust sync.
func NewCmdSync(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdSync(f, NewSyncOptions(streams))
}

func newCmdSync(f cmdutil.Factory, o *SyncOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "sync FILE|- [--prune] [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Make the trust secret hold the certificates of a bundle file",
		Long:                  syncLong,
		Example:               syncExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.addFlags(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&o.Prune, "prune", false, "Remove the certificates that are not in the file.")
	fl.IntVar(&o.Max, "max", o.Max, "The most certificates the secret may hold (the node-pool file of az aks takes 10).")
	fl.BoolVar(&o.AllowNonCA, "allow-non-ca", false, "Accept certificates that are not CAs (no basicConstraints CA:TRUE).")
	fl.BoolVar(&o.AllowExpired, "allow-expired", false, "Accept expired certificates.")
	return cmd
}

// Complete resolves the secret, --dry-run and the output.
func (o *SyncOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return cli.UsageErrorf(cmd, "give one bundle FILE, or - for standard input")
	}
	o.file = args[0]
	return o.complete(f, cmd)
}

// Validate checks the flags.
func (o *SyncOptions) Validate(cmd *cobra.Command) error {
	if o.Max < 1 {
		return cli.UsageErrorf(cmd, "--max %d: must be at least 1", o.Max)
	}
	if o.isAKS() && o.Max > AKSMax {
		return cli.UsageErrorf(cmd, "--max %d: an AKS cluster's list holds at most %d", o.Max, AKSMax)
	}
	return o.validate(cmd)
}

// Run reads and checks the file, then prints the change and writes it.
func (o *SyncOptions) Run(cmd *cobra.Command) error {
	var err error
	if o.in, err = readInput(o.file, o.In); err != nil {
		return err
	}
	if err := (admission{o.AllowNonCA, o.AllowExpired}).check([]*input{o.in}, o.now()); err != nil {
		return err
	}
	return o.write(cmd.Context(), o.mutate, true, o.in.notes)
}

// mutate makes current hold the file's certificates: a mutation.
func (o *SyncOptions) mutate(current *corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
	desired := o.baseSecret(current)
	change := &api.CATrustChange{Operation: "sync"}
	wanted := map[string]bool{}
	var file []*x509.Certificate
	for _, c := range o.in.certs {
		fp := certificate.Fingerprint(c)
		if wanted[fp] {
			change.Skipped = append(change.Skipped, changeItem(o.in.name, c, "given twice in the file"))
			continue
		}
		wanted[fp] = true
		file = append(file, c)
	}
	present, err := o.reconcile(readKeys(current), desired, wanted, change)
	if err != nil {
		return nil, nil, err
	}
	// A key removed by this change is not reused by it, so that each row of
	// the change names one certificate.
	used := map[string][]byte{}
	for k := range desired.Data {
		used[k] = nil
	}
	if current != nil {
		for k := range current.Data {
			used[k] = nil
		}
	}
	for _, c := range file {
		if _, ok := present[certificate.Fingerprint(c)]; ok {
			continue
		}
		key := nextFreeKey(used)
		used[key] = nil
		desired.Data[key] = encodePEM(c)
		change.Added = append(change.Added, changeItem(key, c, ""))
	}
	if total := countChanged(change); total > o.Max && change.Changed() {
		return nil, nil, fmt.Errorf("%s would hold %d certificates, over --max %d (the node-pool file's limit): "+
			"remove some from the file (or use --prune) or raise --max; nothing was written", &o.secretOptions, total, o.Max)
	}
	return desired, change, nil
}

// reconcile goes through the certificates stored: those in the file are
// kept, the others removed with --prune (and so are second copies of one
// certificate) or else kept. It returns the certificates left, by
// fingerprint, with their key. A key that holds more than certificates is
// not rewritten (re-encoded, or pruned): that is an error.
func (o *SyncOptions) reconcile(contents []keyContent, desired *corev1.Secret, wanted map[string]bool, change *api.CATrustChange) (map[string]string, error) {
	present := map[string]string{}
	for _, kc := range contents {
		if kc.err != nil {
			keepKey(kc, change)
			for _, c := range kc.certs {
				present[certificate.Fingerprint(c)] = kc.key
			}
			continue
		}
		var keep []*x509.Certificate
		for _, c := range kc.certs {
			fp := certificate.Fingerprint(c)
			first, seen := present[fp]
			switch {
			case o.Prune && seen:
				change.Removed = append(change.Removed, changeItem(kc.key, c, "a second copy of "+first))
			case o.Prune && !wanted[fp]:
				change.Removed = append(change.Removed, changeItem(kc.key, c, "not in "+o.in.name))
			default:
				keep = append(keep, c)
				if !seen {
					present[fp] = kc.key
				}
			}
		}
		if len(keep) == len(kc.certs) {
			if err := o.reencode(desired, kc, change, func(c *x509.Certificate) string { return o.keptReason(c, wanted) }); err != nil {
				return nil, err
			}
			continue
		}
		if err := o.checkRewrite(kc, rewriteDoing("pruning", len(kc.certs)-len(keep), len(keep))); err != nil {
			return nil, err
		}
		rewriteKey(desired, kc.key, keep, change)
	}
	return present, nil
}

// keptReason says why a certificate not in the file is kept.
func (o *SyncOptions) keptReason(c *x509.Certificate, wanted map[string]bool) string {
	if wanted[certificate.Fingerprint(c)] {
		return ""
	}
	return "not in " + o.in.name + "; --prune removes it"
}

// countChanged counts the certificates the secret holds after change: those
// kept and those added.
func countChanged(change *api.CATrustChange) int {
	n := len(change.Added) + len(change.Reencoded)
	for _, k := range change.Kept {
		if k.SHA256Fingerprint != "" {
			n++
		}
	}
	return n
}
