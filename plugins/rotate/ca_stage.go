package rotate

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/atomicfile"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/pki"
	"github.com/kubecerts/kubecerts/shared/printing"
)

// CAStageOptions is kubectl rotate ca stage.
type CAStageOptions struct {
	From      string
	To        string
	Layout    string
	CrossSign bool
	Validity  time.Duration
	DryRun    bool

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	layout  layout
	printer printers.ResourcePrinter
	now     func() time.Time
}

// NewCmdCAStage is kubectl rotate ca stage.
func NewCmdCAStage(streams genericiooptions.IOStreams) *cobra.Command {
	o := &CAStageOptions{Validity: 10 * duration.Year, PrintFlags: printing.NewPrintFlags(), IOStreams: streams, now: time.Now}
	cmd := &cobra.Command{
		Use:   "stage --from DIR --to STAGING",
		Short: "Write a new set of CAs into a staging directory",
		Long: cli.LongDesc(`
			Write a new set of CAs, with new keys of the same type, into a staging
			directory, never into the live one: for k3s the files "k3s certificate
			rotate-ca --path" expects (server-ca, client-ca, request-header-ca,
			etcd/peer-ca, etcd/server-ca, .crt and .key, and service.key), for kubeadm
			ca, front-proxy-ca and etcd/ca with sa.key and sa.pub.

			Each new CA file lists, in this order:

			* the new CA: the certificate its key file pairs with, which kubeadm,
			  kube-controller-manager, k3s and kubectl rotate renew sign with, valid
			  for --validity; self-signed, or with --cross-sign signed by a new root

			* with --cross-sign, that new self-signed root, then the same root signed
			  by the old CA (the cross-signed copy); the key file holds the root's
			  key after the new CA's

			* the old CA(s): every certificate of the live file, so that what the
			  old CA issued (kubelet and users' client certificates, etcd peers)
			  still verifies against the new file until it is replaced

			With --cross-sign what the new CA signs verifies against the old CA too,
			through the cross-signed root, so trust stays continuous while clients
			still hold only the old CA; an old CA that has expired cannot sign and is
			refused. Without it the rotation is disruptive for clients that hold only
			the old CA (kubectl rotate ca verify says so).`),
		Example: templates.Examples(`
			# Stage cross-signed CAs for k3s, then verify and load them
			kubectl rotate ca stage --from /var/lib/rancher/k3s/server/tls --to /opt/k3s-new-ca --cross-sign
			kubectl rotate ca verify --old /var/lib/rancher/k3s/server/tls --new /opt/k3s-new-ca
			k3s certificate rotate-ca --path=/opt/k3s-new-ca`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.From, "from", "", "The live PKI directory (kubeadm: /etc/kubernetes/pki; k3s: /var/lib/rancher/k3s/server/tls).")
	fl.StringVar(&o.To, "to", "", "The staging directory to write the new CAs into (created 0700 when missing); never the live one. It must be yours, writable by you alone, in directories only you and root can change.")
	fl.StringVar(&o.Layout, "layout", "", "kubeadm or k3s; detected from --from when empty.")
	fl.BoolVar(&o.CrossSign, "cross-sign", false, "Sign each new CA with a new root that the old CA cross-signs, so trust stays continuous.")
	fl.Var(duration.NewValue(&o.Validity), "validity", "Validity of the new CAs.")
	fl.BoolVar(&o.DryRun, "dry-run", false, "Print what would be written; write nothing.")
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Complete checks the flags and detects the layout.
func (o *CAStageOptions) Complete(cmd *cobra.Command) error {
	if o.From == "" || o.To == "" {
		return cli.UsageErrorf(cmd, "--from and --to are required")
	}
	if err := refuseLive(o.To, o.From); err != nil {
		return cli.UsageErrorf(cmd, "%v", err)
	}
	if o.Validity < duration.Day {
		return cli.UsageErrorf(cmd, "--validity %s: too short for a CA", duration.Format(o.Validity))
	}
	var err error
	if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
		return err
	}
	if err := checkDir("--from", o.From); err != nil {
		return err
	}
	if err := checkStagingDir(o.To, true); err != nil {
		return err
	}
	o.layout, err = layoutFor(o.Layout, "--from", o.From)
	return err
}

// stagedCA is one new CA ready to write.
type stagedCA struct {
	files   caFiles
	certPEM []byte
	keyPEM  []byte
	first   *x509.Certificate
	what    string
	keyWhat string
}

// Run makes every new CA in memory first, and writes only when all were
// made: a failure writes nothing.
func (o *CAStageOptions) Run() error {
	now := o.now()
	var staged []stagedCA
	for _, ca := range o.layout.CAs {
		s, err := o.stageCA(ca, now)
		if err != nil {
			return err
		}
		staged = append(staged, s)
	}
	result := &api.StagedFiles{From: o.From, To: o.To, Layout: o.layout.Name, CrossSigned: o.CrossSign, DryRun: o.DryRun}
	type write struct {
		rel  string
		data []byte
		perm os.FileMode
	}
	var writes []write
	for _, s := range staged {
		na := metav1.NewTime(s.first.NotAfter)
		result.Files = append(result.Files,
			api.StagedFile{Path: s.files.Cert, Kind: "certificate", What: s.what, Subject: s.first.Subject.String(), NotAfter: &na, SHA256Fingerprint: certificate.Fingerprint(s.first)},
			api.StagedFile{Path: s.files.Key, Kind: "key", What: s.keyWhat})
		writes = append(writes, write{s.files.Cert, s.certPEM, 0o644}, write{s.files.Key, s.keyPEM, 0o600})
	}
	// The service-account key(s) are carried over as they are: rotate them
	// with kubectl rotate sa-key.
	for _, sa := range []string{o.layout.SAKey, o.layout.SAPub} {
		if sa == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(o.From, sa))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		perm := os.FileMode(0o600)
		if sa == o.layout.SAPub {
			perm = 0o644
		}
		writes = append(writes, write{sa, data, perm})
		result.Files = append(result.Files, api.StagedFile{Path: sa, Kind: "copy", What: "service-account key, unchanged (kubectl rotate sa-key rotates it)"})
	}
	if !o.DryRun {
		if err := makePrivateDir("--to", o.To); err != nil {
			return err
		}
		for _, w := range writes {
			path := filepath.Join(o.To, w.rel)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			if err := atomicfile.Write(path, w.data, w.perm); err != nil {
				return err
			}
		}
	}
	return o.printer.PrintObj(result, o.Out)
}

func (o *CAStageOptions) stageCA(ca caFiles, now time.Time) (stagedCA, error) {
	oldCertPath := filepath.Join(o.From, ca.Cert)
	oldBundle, err := certificate.ReadFile(oldCertPath)
	if err != nil {
		return stagedCA{}, err
	}
	old := oldBundle.Certificates[0]
	if o.CrossSign && !old.NotAfter.After(now) {
		return stagedCA{}, fmt.Errorf("%s: the old CA expired on %s: --cross-sign cannot sign with an expired CA; stage without --cross-sign (a disruptive rotation)",
			oldCertPath, old.NotAfter.UTC().Format(time.RFC3339))
	}
	// The old CA(s) go after the new ones, so that what they issued
	// (kubelet and users' client certificates, etcd peers) still verifies
	// against the new file until it is replaced.
	olds := dedupCerts(oldBundle.Certificates)
	key, err := pki.NewKeyLike(old.PublicKey)
	if err != nil {
		return stagedCA{}, fmt.Errorf("%s: %w", oldCertPath, err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return stagedCA{}, err
	}
	subject := old.Subject
	base := baseCN(old.Subject.CommonName)
	subject.CommonName = fmt.Sprintf("%s@%d", base, now.Unix())
	if !o.CrossSign {
		newCA, err := pki.NewCA(subject, key, now, o.Validity)
		if err != nil {
			return stagedCA{}, err
		}
		return stagedCA{
			files: ca, keyPEM: keyPEM, first: newCA,
			certPEM: pki.EncodeCert(append([]*x509.Certificate{newCA}, olds...)...),
			what:    fmt.Sprintf("new self-signed CA, then the old CA (%d); disruptive: not signed by the old CA", len(olds)),
			keyWhat: "the new CA's key (0600)",
		}, nil
	}
	oldKeyPath := filepath.Join(o.From, ca.Key)
	oldKey, err := pki.ReadKeyFile(oldKeyPath)
	if err != nil {
		return stagedCA{}, fmt.Errorf("--cross-sign needs the old CA's key: %w", err)
	}
	if !pki.KeyMatches(old, oldKey) {
		return stagedCA{}, fmt.Errorf("%s does not match %s", oldKeyPath, oldCertPath)
	}
	// k3s's topology: a new self-signed root, the same root cross-signed by
	// the old CA, and the CA that signs (the one the key file pairs with)
	// issued by the new root. Its validity is the new root's, not capped
	// at the old CA's; it verifies against the old CA through the
	// cross-signed root, which k3s certificate rotate-ca checks.
	rootKey, err := pki.NewKeyLike(old.PublicKey)
	if err != nil {
		return stagedCA{}, fmt.Errorf("%s: %w", oldCertPath, err)
	}
	rootSubject := old.Subject
	rootSubject.CommonName = fmt.Sprintf("%s-root@%d", base, now.Unix())
	root, err := pki.NewCA(rootSubject, rootKey, now, o.Validity)
	if err != nil {
		return stagedCA{}, err
	}
	cross, err := pki.CrossSign(root, old, oldKey, now, o.Validity)
	if err != nil {
		return stagedCA{}, fmt.Errorf("%s: %w", oldCertPath, err)
	}
	newCA, err := pki.NewIntermediateCA(subject, key, root, rootKey, now, o.Validity)
	if err != nil {
		return stagedCA{}, err
	}
	rootKeyPEM, err := pki.EncodeKey(rootKey)
	if err != nil {
		return stagedCA{}, err
	}
	return stagedCA{
		files: ca, keyPEM: append(keyPEM, rootKeyPEM...), first: newCA,
		certPEM: pki.EncodeCert(append([]*x509.Certificate{newCA, root, cross}, olds...)...),
		what:    fmt.Sprintf("new CA (signed by a new root), the new self-signed root, the new root cross-signed by the old CA, then the old CA (%d)", len(olds)),
		keyWhat: "the new CA's key, then the new root's key (0600)",
	}, nil
}

// dedupCerts is certs without repeats (by fingerprint), in order.
func dedupCerts(certs []*x509.Certificate) []*x509.Certificate {
	seen := map[string]bool{}
	var out []*x509.Certificate
	for _, c := range certs {
		if fp := certificate.Fingerprint(c); !seen[fp] {
			seen[fp] = true
			out = append(out, c)
		}
	}
	return out
}

// baseCN strips a previous rotation's @timestamp from a CA's common name.
func baseCN(cn string) string {
	for i := len(cn) - 1; i >= 0; i-- {
		if cn[i] == '@' {
			return cn[:i]
		}
	}
	return cn
}
