package rotate

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/atomicfile"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/pki"
	"github.com/kubecerts/kubecerts/shared/printing"
)

// SAKeyOptions is kubectl rotate sa-key.
type SAKeyOptions struct {
	From   string
	To     string
	Layout string
	DryRun bool

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	layout  layout
	printer printers.ResourcePrinter
}

// NewCmdSAKey is kubectl rotate sa-key.
func NewCmdSAKey(streams genericiooptions.IOStreams) *cobra.Command {
	o := &SAKeyOptions{PrintFlags: printing.NewPrintFlags(), IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "sa-key --from DIR --to STAGING",
		Short: "Stage a new service-account signing key, keeping the old ones",
		Long: cli.LongDesc(`
			Stage a new RSA 2048 service-account signing key with the old key(s)
			still accepted, so that existing tokens stay valid: for k3s, service.key
			holds the new key first and the old keys after it (then "k3s certificate
			rotate-ca --path=STAGING" and restart the servers); for kubeadm, sa.key
			is the new key and sa.pub holds the new public key followed by the old
			ones (kube-apiserver's --service-account-key-file accepts several).`),
		Example: templates.Examples(`
			kubectl rotate sa-key --from /var/lib/rancher/k3s/server/tls --to /opt/k3s-new-ca`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.From == "" || o.To == "" {
				return cli.UsageErrorf(cmd, "--from and --to are required")
			}
			if err := refuseLive(o.To, o.From); err != nil {
				return cli.UsageErrorf(cmd, "%v", err)
			}
			var err error
			if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
				return err
			}
			if err := checkDir("--from", o.From); err != nil {
				return err
			}
			// The staging directory may hold what ca stage wrote there.
			if err := checkStagingDir(o.To, false); err != nil {
				return err
			}
			if o.layout, err = layoutFor(o.Layout, "--from", o.From); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVar(&o.From, "from", "", "The live PKI directory.")
	cmd.Flags().StringVar(&o.To, "to", "", "The staging directory (created 0700 when missing). It must be yours, writable by you alone, in directories only you and root can change.")
	cmd.Flags().StringVar(&o.Layout, "layout", "", "kubeadm or k3s; detected from --from when empty.")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "Print what would be written; write nothing.")
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Run stages the keys.
func (o *SAKeyOptions) Run() error {
	oldPath := filepath.Join(o.From, o.layout.SAKey)
	oldData, err := os.ReadFile(oldPath)
	if err != nil {
		return err
	}
	oldKeys, err := pki.ParseKeys(oldData)
	if err != nil {
		return fmt.Errorf("%s: %w", oldPath, err)
	}
	newKey, err := pki.NewRSAKey(2048)
	if err != nil {
		return err
	}
	newPEM, err := pki.EncodeKey(newKey)
	if err != nil {
		return err
	}
	result := &api.StagedFiles{From: o.From, To: o.To, Layout: o.layout.Name, DryRun: o.DryRun}
	writes := map[string][]byte{}
	if o.layout.SAPub == "" {
		// k3s: one file, new key first, every old key after it.
		writes[o.layout.SAKey] = append(append([]byte{}, newPEM...), oldData...)
		result.Files = append(result.Files, api.StagedFile{Path: o.layout.SAKey, Kind: "key",
			What: fmt.Sprintf("new RSA 2048 service-account key first, %d old key(s) after it (0600)", len(oldKeys))})
	} else {
		// kubeadm: sa.key signs; sa.pub lists the keys tokens may be signed with.
		pubs := [][]byte{}
		for _, k := range append([]crypto.Signer{newKey}, oldKeys...) {
			p, err := pki.EncodePublicKey(k.Public())
			if err != nil {
				return err
			}
			pubs = append(pubs, p)
		}
		pubPath := filepath.Join(o.From, o.layout.SAPub)
		data, err := os.ReadFile(pubPath)
		switch {
		case err == nil:
			// Keep public keys already accepted (an earlier rotation's): a
			// file that does not parse would lose them.
			olds, err := publicKeys(data)
			if err != nil {
				return fmt.Errorf("%s: %w", pubPath, err)
			}
			for _, p := range olds {
				if !containsKey(publicOf(append([]crypto.Signer{newKey}, oldKeys...)), p) {
					enc, err := pki.EncodePublicKey(p)
					if err != nil {
						return fmt.Errorf("%s: %w", pubPath, err)
					}
					pubs = append(pubs, enc)
				}
			}
		case !os.IsNotExist(err):
			return err
		}
		writes[o.layout.SAKey] = newPEM
		var all []byte
		for _, p := range pubs {
			all = append(all, p...)
		}
		writes[o.layout.SAPub] = all
		result.Files = append(result.Files,
			api.StagedFile{Path: o.layout.SAKey, Kind: "key", What: "new RSA 2048 service-account signing key (0600)"},
			api.StagedFile{Path: o.layout.SAPub, Kind: "public-key", What: fmt.Sprintf("new public key first, then %d accepted old one(s)", len(pubs)-1)})
	}
	if !o.DryRun {
		if err := makePrivateDir("--to", o.To); err != nil {
			return err
		}
		for _, f := range result.Files {
			perm := os.FileMode(0o600)
			if f.Kind == "public-key" {
				perm = 0o644
			}
			if err := atomicfile.Write(filepath.Join(o.To, f.Path), writes[f.Path], perm); err != nil {
				return err
			}
		}
	}
	return o.printer.PrintObj(result, o.Out)
}

// publicKeys reads every public key of a PEM file: PUBLIC KEY blocks, or the
// public halves of private keys.
func publicKeys(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("a PUBLIC KEY does not parse")
			}
			keys = append(keys, k)
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("an RSA PUBLIC KEY does not parse")
			}
			keys = append(keys, k)
		default:
			priv, err := pki.ParseKeys(pem.EncodeToMemory(block))
			if err == nil {
				keys = append(keys, priv[0].Public())
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key found")
	}
	return keys, nil
}

func publicOf(keys []crypto.Signer) []crypto.PublicKey {
	out := make([]crypto.PublicKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.Public())
	}
	return out
}

func containsKey(keys []crypto.PublicKey, k crypto.PublicKey) bool {
	for _, x := range keys {
		if pki.SamePublicKey(x, k) {
			return true
		}
	}
	return false
}
