package rotate

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/pki"
	"github.com/kubecerts/kubecerts/shared/printing"
)

// CAVerifyOptions is kubectl rotate ca verify.
type CAVerifyOptions struct {
	Old    string
	New    string
	Layout string

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	layout  layout
	printer printers.ResourcePrinter
}

// NewCmdCAVerify is kubectl rotate ca verify.
func NewCmdCAVerify(streams genericiooptions.IOStreams) *cobra.Command {
	o := &CAVerifyOptions{PrintFlags: printing.NewPrintFlags(), IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "verify --old DIR --new DIR",
		Short: "Check a staged CA set the way k3s rotate-ca does",
		Long: cli.LongDesc(`
			Run the integrity checks k3s certificate rotate-ca runs before it accepts
			new CAs: no expected file missing; each certificate matches its key; each
			new CA (the first certificate of its file) verifies against the old roots
			(cross-signed) or the rotation is flagged disruptive (clients holding only
			the old CA will not trust what it signs, nodes joined with a secure token
			need the new CA hash, pods must restart to trust the new root); the old
			service-account key is still there so existing tokens stay valid. Also
			each old CA must still be in the new file, after the new ones, so that
			what it issued (kubelet and users' client certificates, etcd peers) still
			verifies; a file without it is flagged disruptive too. Prints the new server CA's
			hash as k3s secure join tokens (K10<hash>::…) or kubeadm's
			--discovery-token-ca-cert-hash carry it.

			Exit status: 0 all checks pass; 1 a check failed; 2 the rotation is
			disruptive.`),
		Example: templates.Examples(`
			kubectl rotate ca verify --old /var/lib/rancher/k3s/server/tls --new /opt/k3s-new-ca`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Old == "" || o.New == "" {
				return cli.UsageErrorf(cmd, "--old and --new are required")
			}
			if sameDir(o.Old, o.New) {
				return cli.UsageErrorf(cmd, "--new %s is the live directory --old: give the staging directory", o.New)
			}
			var err error
			if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
				return err
			}
			if err := checkDir("--old", o.Old); err != nil {
				return err
			}
			if err := checkDir("--new", o.New); err != nil {
				return err
			}
			if o.layout, err = layoutFor(o.Layout, "--old", o.Old); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVar(&o.Old, "old", "", "The live PKI directory.")
	cmd.Flags().StringVar(&o.New, "new", "", "The staging directory with the new CAs.")
	cmd.Flags().StringVar(&o.Layout, "layout", "", "kubeadm or k3s; detected from --old when empty.")
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Run runs every check, prints them and sets the exit status.
func (o *CAVerifyOptions) Run() error {
	v := o.Verify()
	if err := o.printer.PrintObj(v, o.Out); err != nil {
		return err
	}
	if !o.PrintFlags.Machine() && v.ServerCAHash != "" {
		fmt.Fprintf(o.ErrOut, "new server CA hash: %s (%s)\n", v.ServerCAHash, v.JoinTokenPrefix)
	}
	var failed []string
	for _, c := range v.Checks {
		if !c.Passed && c.Severity == "error" {
			failed = append(failed, fmt.Sprintf("%s (%s)", c.Name, c.Message))
		}
	}
	if len(failed) > 0 {
		return exitcode.WithStatus(exitcode.Error, fmt.Errorf("%s: %d of %d checks failed: %s", o.New, len(failed), len(v.Checks), strings.Join(failed, "; ")))
	}
	if v.Disruptive {
		if !o.PrintFlags.Machine() {
			var notSigned, notKept []string
			for _, c := range v.Checks {
				if c.Passed || c.Severity != "warning" {
					continue
				}
				switch {
				case strings.HasSuffix(c.Name, "/trusted-by-old"):
					notSigned = append(notSigned, strings.TrimSuffix(c.Name, "/trusted-by-old"))
				case strings.HasSuffix(c.Name, "/old-ca-kept"):
					notKept = append(notKept, strings.TrimSuffix(c.Name, "/old-ca-kept"))
				}
			}
			var why []string
			if len(notSigned) > 0 {
				why = append(why, fmt.Sprintf("%s not signed by the old CA: clients holding only the old CA will not trust what the new CA signs (stage with --cross-sign to keep trust continuous)", strings.Join(notSigned, ", ")))
			}
			if len(notKept) > 0 {
				why = append(why, fmt.Sprintf("%s without the old CA: what the old CA issued will not verify against the new file (kubectl rotate ca stage keeps it after the new ones)", strings.Join(notKept, ", ")))
			}
			fmt.Fprintf(o.ErrOut, "warning: %s: disruptive rotation: %s\n", o.New, strings.Join(why, "; "))
		}
		return exitcode.WithStatus(exitcode.Warning, nil)
	}
	return nil
}

// Verify runs the checks.
func (o *CAVerifyOptions) Verify() *api.CAVerification {
	v := &api.CAVerification{Old: o.Old, New: o.New, Layout: o.layout.Name}
	add := func(name string, passed bool, severity, format string, args ...interface{}) {
		c := api.Check{Name: name, Passed: passed, Message: fmt.Sprintf(format, args...)}
		if !passed {
			c.Severity = severity
		}
		v.Checks = append(v.Checks, c)
	}
	for _, ca := range o.layout.CAs {
		newBundle, err := certificate.ReadFile(filepath.Join(o.New, ca.Cert))
		if err != nil {
			add(ca.Name+"/present", false, "error", "%v", err)
			continue
		}
		newKey, err := pki.ReadKeyFile(filepath.Join(o.New, ca.Key))
		if err != nil {
			add(ca.Name+"/present", false, "error", "%v", err)
			continue
		}
		add(ca.Name+"/present", true, "", "%s and %s", ca.Cert, ca.Key)
		first := newBundle.Certificates[0]
		if pki.KeyMatches(first, newKey) {
			add(ca.Name+"/key-matches", true, "", "%s matches %s", ca.Key, ca.Cert)
		} else {
			add(ca.Name+"/key-matches", false, "error", "%s does not match %s", filepath.Join(o.New, ca.Key), filepath.Join(o.New, ca.Cert))
		}
		if first.IsCA {
			add(ca.Name+"/is-ca", true, "", "basicConstraints CA:TRUE")
		} else {
			add(ca.Name+"/is-ca", false, "error", "%s: %q is not a CA (basicConstraints CA:TRUE missing)", filepath.Join(o.New, ca.Cert), first.Subject.String())
		}
		oldBundle, err := certificate.ReadFile(filepath.Join(o.Old, ca.Cert))
		if err != nil {
			add(ca.Name+"/trusted-by-old", false, "error", "old CA: %v", err)
			continue
		}
		// As k3s does: the file's first certificate, through the others.
		if err := chainsTo(first, newBundle.Certificates[1:], oldBundle.Certificates, x509.ExtKeyUsageAny); err != nil {
			v.Disruptive = true
			add(ca.Name+"/trusted-by-old", false, "warning",
				"the new CA does not verify against the old root (%v): disruptive; clients holding only the old CA will not trust what it signs, nodes joined with a secure token need the new CA hash, and pods must restart to trust the new root", err)
		} else {
			add(ca.Name+"/trusted-by-old", true, "", "the new CA verifies against the old root (cross-signed): trust stays continuous")
		}
		if missing := missingCerts(oldBundle.Certificates, newBundle.Certificates); len(missing) > 0 {
			v.Disruptive = true
			add(ca.Name+"/old-ca-kept", false, "warning",
				"the old CA %q is not in %s: what it issued (kubelet and users' client certificates, etcd peers) would no longer verify against the new file; keep the old CA after the new ones until those are replaced",
				missing[0].Subject.String(), filepath.Join(o.New, ca.Cert))
		} else {
			add(ca.Name+"/old-ca-kept", true, "", "the old CA (%d) is still in %s: what it issued still verifies", len(oldBundle.Certificates), ca.Cert)
		}
	}
	o.checkServiceAccountKeys(add)
	v.ServerCAHash, v.JoinTokenPrefix = o.serverCAHash()
	return v
}

// missingCerts lists the certificates of olds that are in none of news:
// not the same certificate, nor one with the same subject and key (which
// verifies what it issued alike).
func missingCerts(olds, news []*x509.Certificate) []*x509.Certificate {
	var missing []*x509.Certificate
	for _, old := range olds {
		found := false
		for _, c := range news {
			if bytes.Equal(c.Raw, old.Raw) || bytes.Equal(c.RawSubject, old.RawSubject) && pki.SamePublicKey(c.PublicKey, old.PublicKey) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, old)
		}
	}
	return missing
}

// chainsTo verifies cert against roots with intermediates, for usage
// (x509.ExtKeyUsageAny: whatever it is for).
func chainsTo(cert *x509.Certificate, intermediates, roots []*x509.Certificate, usage x509.ExtKeyUsage) error {
	rootPool, interPool := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		rootPool.AddCert(r)
	}
	for _, i := range intermediates {
		interPool.AddCert(i)
	}
	_, err := cert.Verify(x509.VerifyOptions{Roots: rootPool, Intermediates: interPool, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

// checkServiceAccountKeys: every old service-account key must still be
// accepted after the rotation, or the tokens it signed stop working.
func (o *CAVerifyOptions) checkServiceAccountKeys(add func(string, bool, string, string, ...interface{})) {
	accepted := func(dir string) ([]crypto.PublicKey, error) {
		data, err := os.ReadFile(o.saFile(dir))
		if err != nil {
			return nil, err
		}
		keys, err := publicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.saFile(dir), err)
		}
		return keys, nil
	}
	oldKeys, err := accepted(o.Old)
	if err != nil {
		add("service-account/old-key-kept", false, "error", "old service-account keys: %v", err)
		return
	}
	newKeys, err := accepted(o.New)
	if err != nil {
		add("service-account/old-key-kept", false, "error", "new service-account keys: %v", err)
		return
	}
	for i, old := range oldKeys {
		if !containsKey(newKeys, old) {
			add("service-account/old-key-kept", false, "error",
				"old service-account key %d of %s is not in %s: tokens it signed would stop working (append it after the new key: kubectl rotate sa-key)", i+1, o.saFile(o.Old), o.saFile(o.New))
			return
		}
	}
	add("service-account/old-key-kept", true, "", "all %d old service-account key(s) are still accepted", len(oldKeys))
}

// saFile is the file of dir that lists the service-account keys the API
// server accepts.
func (o *CAVerifyOptions) saFile(dir string) string {
	if o.layout.SAPub != "" {
		return filepath.Join(dir, o.layout.SAPub)
	}
	return filepath.Join(dir, o.layout.SAKey)
}

// serverCAHash is the hash nodes join with: for k3s the SHA-256 of the
// server CA file (the K10 token prefix), for kubeadm the SHA-256 of the CA's
// public key (--discovery-token-ca-cert-hash).
func (o *CAVerifyOptions) serverCAHash() (hash, prefix string) {
	for _, ca := range o.layout.CAs {
		if ca.Name != o.layout.ServerCA {
			continue
		}
		data, err := os.ReadFile(filepath.Join(o.New, ca.Cert))
		if err != nil {
			return "", ""
		}
		if o.layout.Name == "k3s" {
			sum := sha256.Sum256(data)
			h := hex.EncodeToString(sum[:])
			return h, "K10" + h + "::"
		}
		b, err := certificate.Parse(data)
		if err != nil {
			return "", ""
		}
		sum := sha256.Sum256(b.Certificates[0].RawSubjectPublicKeyInfo)
		h := hex.EncodeToString(sum[:])
		return h, "--discovery-token-ca-cert-hash sha256:" + h
	}
	return "", ""
}
