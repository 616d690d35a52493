package catrust

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

var (
	addLong = cli.LongDesc(`
		Add CA certificates to the trust secret, creating it when it does not exist.

		Each FILE (- for standard input) may hold one or many certificates as PEM
		(any line endings), DER, or base64 of either. Each certificate must parse,
		be a CA (basicConstraints CA:TRUE; --allow-non-ca accepts others) and not be
		expired (--allow-expired). A file that holds a private key is refused, and
		the key is never printed. A certificate already in the secret (same SHA-256)
		is skipped with a note.

		Each certificate is stored under its own key, caN.crt for the lowest free N
		(--key names it when adding one certificate), as PEM with LF line endings.
		The secret holds at most --max certificates (10, the limit of the node-pool
		file of az aks --custom-ca-trust-certificates). Keys that are not
		certificates, labels and annotations are kept. When another writer changes
		the secret at the same time, the change is re-applied to what it wrote:
		nothing is lost. If any certificate is refused, nothing is written. A secret
		of a built-in type other than Opaque (kubernetes.io/tls, say) is not a trust
		secret and is not written.

		A certificate key stored in a form nodes cannot install (CRLF line endings,
		base64 of PEM, DER) is rewritten as LF PEM. When that key also holds more
		than certificates (a CRL, a key, other text), which the rewrite would lose,
		add fails naming the key and nothing is written: edit the key by hand.` + aksWriteHelp)

	addExample = templates.Examples(`
		# Add a CA: on AKS to the managed cluster's list (first the plan, then
		# for real), elsewhere to custom-ca-trust-secret in kube-system
		kubectl ca-trust add corp-root.pem
		kubectl ca-trust add corp-root.pem --yes

		# Add every CA of a bundle, and one from standard input
		kubectl ca-trust add bundle.pem - < proxy-ca.der

		# Show the Secret that would be written, for a GitOps repository
		kubectl ca-trust add corp-root.pem --dry-run=client -o yaml

		# The same pattern on another platform: another secret and namespace
		kubectl ca-trust add corp-root.pem --secret node-ca-trust -n platform-system`)
)

// AddOptions is kubectl ca-trust add.
type AddOptions struct {
	writeOptions
	Key          string
	Max          int
	AllowNonCA   bool
	AllowExpired bool

	files  []string
	inputs []*input
}

// NewAddOptions returns the defaults.
func NewAddOptions(streams genericiooptions.IOStreams) *AddOptions {
	return &AddOptions{writeOptions: newWriteOptions(streams), Max: DefaultMax}
}

// NewCmdAdd is kubectl ca-trust add.
func NewCmdAdd(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdAdd(f, NewAddOptions(streams))
}

func newCmdAdd(f cmdutil.Factory, o *AddOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "add FILE|- [FILE...] [--key NAME] [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Add CA certificates to the trust secret",
		Long:                  addLong,
		Example:               addExample,
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
	fl.StringVar(&o.Key, "key", "", "The data key to store the certificate under (ending in .crt); only when adding one certificate. Default: caN.crt, the lowest free N.")
	fl.IntVar(&o.Max, "max", o.Max, "The most certificates the secret may hold (the node-pool file of az aks takes 10).")
	fl.BoolVar(&o.AllowNonCA, "allow-non-ca", false, "Accept certificates that are not CAs (no basicConstraints CA:TRUE).")
	fl.BoolVar(&o.AllowExpired, "allow-expired", false, "Accept expired certificates.")
	return cmd
}

// Complete resolves the secret, --dry-run and the output.
func (o *AddOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.files = args
	return o.complete(f, cmd)
}

// Validate checks the arguments and flags before anything is read.
func (o *AddOptions) Validate(cmd *cobra.Command) error {
	if len(o.files) == 0 {
		return cli.UsageErrorf(cmd, "give at least one FILE, or - for standard input")
	}
	if stdin := countOf(o.files, "-"); stdin > 1 {
		return cli.UsageErrorf(cmd, "- (standard input) is given %d times", stdin)
	}
	if o.Max < 1 {
		return cli.UsageErrorf(cmd, "--max %d: must be at least 1", o.Max)
	}
	if o.isAKS() && o.Max > AKSMax {
		return cli.UsageErrorf(cmd, "--max %d: an AKS cluster's list holds at most %d", o.Max, AKSMax)
	}
	if o.Key == "" && cmd.Flags().Changed("key") {
		return cli.UsageErrorf(cmd, "--key \"\": give the data key to store the certificate under, ending in %s", certKeySuffix)
	}
	if o.Key != "" {
		if errs := validation.IsConfigMapKey(o.Key); len(errs) > 0 {
			return cli.UsageErrorf(cmd, "--key %q: %s", o.Key, strings.Join(errs, "; "))
		}
		if !isCertKey(o.Key) {
			return cli.UsageErrorf(cmd, "--key %q: must end in %s, as certificate keys do", o.Key, certKeySuffix)
		}
	}
	return o.validate(cmd)
}

// Run reads and checks every input, then adds the certificates in one write.
func (o *AddOptions) Run(cmd *cobra.Command) error {
	var err error
	if o.inputs, err = readInputs(o.files, o.In); err != nil {
		return err
	}
	if n := o.certCount(); o.Key != "" && n != 1 {
		return fmt.Errorf("--key %s names one certificate; the input holds %d", o.Key, n)
	}
	if err := (admission{o.AllowNonCA, o.AllowExpired}).check(o.inputs, o.now()); err != nil {
		return err
	}
	var notes []string
	for _, in := range o.inputs {
		notes = append(notes, in.notes...)
	}
	return o.write(cmd.Context(), o.mutate, false, notes)
}

// certCount counts the certificates of every input.
func (o *AddOptions) certCount() int {
	n := 0
	for _, in := range o.inputs {
		n += len(in.certs)
	}
	return n
}

// mutate adds the inputs' certificates to current: a mutation.
func (o *AddOptions) mutate(current *corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
	desired := o.baseSecret(current)
	change := &api.CATrustChange{Operation: "add"}
	contents := readKeys(current)
	stored, err := o.keepAll(contents, desired, change)
	if err != nil {
		return nil, nil, err
	}
	for _, in := range o.inputs {
		for _, c := range in.certs {
			fp := certificate.Fingerprint(c)
			if where, ok := stored[fp]; ok {
				change.Skipped = append(change.Skipped, changeItem(in.name, c, where))
				continue
			}
			key := o.Key
			if key == "" {
				key = nextFreeKey(desired.Data)
			} else if _, used := desired.Data[key]; used {
				return nil, nil, fmt.Errorf("--key %s: %s already has that key; remove it first or choose another; nothing was written", key, &o.secretOptions)
			}
			desired.Data[key] = encodePEM(c)
			stored[fp] = "given twice; added as " + key
			change.Added = append(change.Added, changeItem(key, c, ""))
		}
	}
	if total := countCerts(contents) + len(change.Added); total > o.Max && len(change.Added) > 0 {
		return nil, nil, fmt.Errorf("%s would hold %d certificates, over --max %d (the node-pool file's limit): "+
			"remove some first (kubectl ca-trust remove) or raise --max; nothing was written", &o.secretOptions, total, o.Max)
	}
	return desired, change, nil
}

// keepAll records every certificate of contents as kept (reencoded when
// rewritten as PEM) and returns, by fingerprint, why a certificate already
// stored is skipped.
func (s *secretOptions) keepAll(contents []keyContent, desired *corev1.Secret, change *api.CATrustChange) (map[string]string, error) {
	stored := map[string]string{}
	for _, kc := range contents {
		if kc.err != nil && len(kc.certs) == 0 {
			change.Kept = append(change.Kept, api.CATrustChangeItem{Key: kc.key, Reason: "does not hold a readable certificate; left alone"})
		}
		for _, c := range kc.certs {
			fp := certificate.Fingerprint(c)
			if _, ok := stored[fp]; !ok {
				stored[fp] = "already in the secret as " + kc.key
			}
		}
		if len(kc.certs) > 0 {
			if err := s.reencode(desired, kc, change, func(*x509.Certificate) string { return "" }); err != nil {
				return nil, err
			}
		}
	}
	return stored, nil
}

// countOf counts s in list.
func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
