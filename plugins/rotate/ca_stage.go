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
		Long: templates.LongDesc(`
			Write a new set of CAs, with new keys of the same type, into a staging
			directory, never into the live one: for k3s the files "k3s certificate
			rotate-ca --path" expects (server-ca, client-ca, request-header-ca,
			etcd/peer-ca, etcd/server-ca, .crt and .key, and service.key), for kubeadm
			ca, front-proxy-ca and etcd/ca with sa.key and sa.pub.

			With --cross-sign each new CA's file starts with a copy of the new CA
			signed by the old one, followed by the new self-signed CA: what the new
			CA signs verifies against the old root and the new one, so trust stays
			continuous while clients still hold the old CA. Without it the rotation
			is disruptive (kubectl rotate ca verify says so).`),
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
	fl.StringVar(&o.To, "to", "", "The staging directory to write the new CAs into; never the live one.")
	fl.StringVar(&o.Layout, "layout", "", "kubeadm or k3s; detected from --from when empty.")
	fl.BoolVar(&o.CrossSign, "cross-sign", false, "Also sign each new CA with the old one, so trust stays continuous.")
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
			api.StagedFile{Path: s.files.Key, Kind: "key", What: "the new CA's key (0600)"})
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
	old, err := pki.ReadCertFile(oldCertPath)
	if err != nil {
		return stagedCA{}, err
	}
	key, err := pki.NewKeyLike(old.PublicKey)
	if err != nil {
		return stagedCA{}, fmt.Errorf("%s: %w", oldCertPath, err)
	}
	subject := old.Subject
	subject.CommonName = fmt.Sprintf("%s@%d", baseCN(old.Subject.CommonName), now.Unix())
	newCA, err := pki.NewCA(subject, key, now, o.Validity)
	if err != nil {
		return stagedCA{}, err
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return stagedCA{}, err
	}
	s := stagedCA{files: ca, keyPEM: keyPEM, first: newCA, what: "new self-signed CA (disruptive: not signed by the old CA)"}
	if !o.CrossSign {
		s.certPEM = pki.EncodeCert(newCA)
		return s, nil
	}
	oldKeyPath := filepath.Join(o.From, ca.Key)
	oldKey, err := pki.ReadKeyFile(oldKeyPath)
	if err != nil {
		return stagedCA{}, fmt.Errorf("--cross-sign needs the old CA's key: %w", err)
	}
	if !pki.KeyMatches(old, oldKey) {
		return stagedCA{}, fmt.Errorf("%s does not match %s", oldKeyPath, oldCertPath)
	}
	cross, err := pki.CrossSign(newCA, old, oldKey, now, o.Validity)
	if err != nil {
		return stagedCA{}, err
	}
	s.certPEM = pki.EncodeCert(cross, newCA)
	s.first = cross
	s.what = "new CA cross-signed by the old one, then the new self-signed CA"
	return s, nil
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
