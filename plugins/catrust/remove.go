package catrust

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

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
	removeLong = cli.LongDesc(`
		Remove certificates from the trust secret: by data key, by SHA-256
		fingerprint (the whole of it or at least its first 8 hex digits, as list
		shows them; colons allowed), by subject (the whole subject as list shows it,
		or its common name), or every expired one. Selectors add up.

		A selector that matches nothing is an error (exit 1) and nothing is written.
		Keys that are not certificates, labels and annotations are kept, and so is
		the secret itself when its last certificate goes.

		A key whose value holds more than certificates (a CRL, a key, other text)
		is not rewritten, as that would lose the rest: removing some of its
		certificates by --fingerprint, --subject or --expired is an error (exit 1)
		naming the key, and nothing is written. Edit the key by hand, or remove the
		whole key by name.

		A key names a place, not a certificate: add reuses the lowest free caN.crt,
		so between a list and a remove another writer may have put a different
		certificate under the same key. Scripts should remove by --fingerprint,
		which names the certificate itself.` + aksWriteHelp)

	removeExample = templates.Examples(`
		# Remove the certificate stored under ca2.crt
		kubectl ca-trust remove ca2.crt

		# Remove a certificate by fingerprint, as kubectl ca-trust list shows it
		kubectl ca-trust remove --fingerprint 3f1c0a9be27d

		# Remove every expired certificate; see first what would change
		kubectl ca-trust remove --expired --dry-run=server`)
)

// minFingerprintPrefix is the fewest hex digits --fingerprint takes.
const minFingerprintPrefix = 8

// RemoveOptions is kubectl ca-trust remove.
type RemoveOptions struct {
	writeOptions
	Fingerprints []string
	Subjects     []string
	Expired      bool

	keys []string
}

// NewRemoveOptions returns the defaults.
func NewRemoveOptions(streams genericiooptions.IOStreams) *RemoveOptions {
	return &RemoveOptions{writeOptions: newWriteOptions(streams)}
}

// NewCmdRemove is kubectl ca-trust remove.
func NewCmdRemove(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdRemove(f, NewRemoveOptions(streams))
}

func newCmdRemove(f cmdutil.Factory, o *RemoveOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "remove KEY... | --fingerprint F | --subject S | --expired [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Remove certificates from the trust secret",
		Long:                  removeLong,
		Example:               removeExample,
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
	fl.StringArrayVar(&o.Fingerprints, "fingerprint", nil, "Remove the certificate with this SHA-256 fingerprint (at least its first 8 hex digits); repeatable.")
	fl.StringArrayVar(&o.Subjects, "subject", nil, "Remove the certificates with this subject (as list shows it) or common name; repeatable.")
	fl.BoolVar(&o.Expired, "expired", false, "Remove every expired certificate.")
	return cmd
}

// Complete resolves the secret, --dry-run and the output.
func (o *RemoveOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.keys = args
	return o.complete(f, cmd)
}

// Validate checks that something is selected and the fingerprints are hex.
func (o *RemoveOptions) Validate(cmd *cobra.Command) error {
	if len(o.keys) == 0 && len(o.Fingerprints) == 0 && len(o.Subjects) == 0 && !o.Expired {
		return cli.UsageErrorf(cmd, "say what to remove: KEY..., --fingerprint, --subject or --expired")
	}
	for i, fp := range o.Fingerprints {
		norm := normalizeFingerprint(fp)
		if _, err := hex.DecodeString(norm + strings.Repeat("0", len(norm)%2)); err != nil || len(norm) < minFingerprintPrefix || len(norm) > 64 {
			return cli.UsageErrorf(cmd, "--fingerprint %q: give 8 to 64 hex digits of the SHA-256 fingerprint", fp)
		}
		o.Fingerprints[i] = norm
	}
	for _, subj := range o.Subjects {
		if strings.TrimSpace(subj) == "" {
			return cli.UsageErrorf(cmd, "--subject %q: give a subject (as list shows it) or a common name", subj)
		}
	}
	for _, k := range o.keys {
		if strings.HasPrefix(k, "-") {
			return cli.UsageErrorf(cmd, "%q is not a key", k)
		}
	}
	return o.validate(cmd)
}

// Run removes the matches in one write.
func (o *RemoveOptions) Run(cmd *cobra.Command) error {
	now := o.now()
	return o.write(cmd.Context(), func(current *corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
		return o.mutate(current, now)
	}, false, nil)
}

// mutate removes the selected certificates from current: a mutation.
func (o *RemoveOptions) mutate(current *corev1.Secret, now time.Time) (*corev1.Secret, *api.CATrustChange, error) {
	if current == nil {
		return nil, nil, fmt.Errorf("%s not found", &o.secretOptions)
	}
	if err := o.checkKeys(current); err != nil {
		return nil, nil, err
	}
	desired := o.baseSecret(current)
	change := &api.CATrustChange{Operation: "remove"}
	matched := map[string]map[string]bool{} // selector → fingerprints matched
	for _, kc := range readKeys(current) {
		byKey := countOf(o.keys, kc.key) > 0
		if byKey {
			delete(desired.Data, kc.key)
			removeKey(kc, change)
		}
		var keep []*x509.Certificate
		for _, c := range kc.certs {
			sel := o.selectors(c, now)
			for _, s := range sel {
				if matched[s] == nil {
					matched[s] = map[string]bool{}
				}
				matched[s][certificate.Fingerprint(c)] = true
			}
			switch {
			case byKey:
			case len(sel) > 0:
				change.Removed = append(change.Removed, changeItem(kc.key, c, strings.Join(sel, ", ")))
			default:
				keep = append(keep, c)
			}
		}
		if byKey {
			continue
		}
		if len(keep) == len(kc.certs) {
			keepKey(kc, change)
			continue
		}
		if kc.err != nil {
			return nil, nil, fmt.Errorf("%s key %s also holds data that does not parse (%v): remove the key by name; nothing was written", &o.secretOptions, kc.key, kc.err)
		}
		if err := o.checkRewrite(kc, rewriteDoing("removing", len(kc.certs)-len(keep), len(keep))); err != nil {
			return nil, nil, err
		}
		rewriteKey(desired, kc.key, keep, change)
	}
	if err := o.checkMatched(matched); err != nil {
		return nil, nil, err
	}
	return desired, change, nil
}

// checkKeys checks that every KEY given is a certificate key of current.
func (o *RemoveOptions) checkKeys(current *corev1.Secret) error {
	for _, k := range o.keys {
		if _, ok := current.Data[k]; !ok {
			return fmt.Errorf("%s has no key %s; nothing was written", &o.secretOptions, k)
		}
		if !isCertKey(k) {
			return fmt.Errorf("key %s of %s is not a certificate key (its name does not end in %s): ca-trust leaves it alone; nothing was written",
				k, &o.secretOptions, certKeySuffix)
		}
	}
	return nil
}

// checkMatched fails when a selector matched nothing, or a fingerprint
// prefix matched different certificates.
func (o *RemoveOptions) checkMatched(matched map[string]map[string]bool) error {
	var sels []string
	for _, fp := range o.Fingerprints {
		sels = append(sels, "--fingerprint "+fp)
	}
	for _, s := range o.Subjects {
		sels = append(sels, "--subject "+s)
	}
	if o.Expired {
		sels = append(sels, "--expired")
	}
	for _, s := range sels {
		switch n := len(matched[s]); {
		case n == 0:
			return fmt.Errorf("no certificate in %s matches %s; nothing was written", &o.secretOptions, s)
		case n > 1 && strings.HasPrefix(s, "--fingerprint"):
			return fmt.Errorf("%s matches %d different certificates in %s: give more of the fingerprint; nothing was written", s, n, &o.secretOptions)
		}
	}
	return nil
}

// selectors lists the selectors (--fingerprint F, --subject S, --expired)
// that match cert at now.
func (o *RemoveOptions) selectors(cert *x509.Certificate, now time.Time) []string {
	var out []string
	fp := certificate.Fingerprint(cert)
	for _, f := range o.Fingerprints {
		if strings.HasPrefix(fp, f) {
			out = append(out, "--fingerprint "+f)
		}
	}
	for _, s := range o.Subjects {
		if s == cert.Subject.String() || s == cert.Subject.CommonName {
			out = append(out, "--subject "+s)
		}
	}
	if o.Expired && now.After(cert.NotAfter) {
		out = append(out, "--expired")
	}
	return out
}

// removeKey records every certificate of kc as removed with its key.
func removeKey(kc keyContent, change *api.CATrustChange) {
	if len(kc.certs) == 0 {
		change.Removed = append(change.Removed, api.CATrustChangeItem{Key: kc.key, Reason: "KEY; did not hold a readable certificate"})
	}
	for _, c := range kc.certs {
		change.Removed = append(change.Removed, changeItem(kc.key, c, "KEY"))
	}
}

// keepKey records every certificate of kc as kept.
func keepKey(kc keyContent, change *api.CATrustChange) {
	if len(kc.certs) == 0 {
		change.Kept = append(change.Kept, api.CATrustChangeItem{Key: kc.key, Reason: "does not hold a readable certificate; left alone"})
	}
	for _, c := range kc.certs {
		change.Kept = append(change.Kept, changeItem(kc.key, c, ""))
	}
}

// rewriteDoing says, for checkRewrite, what removing (the verb: removing,
// pruning) gone of a key's certificates, keeping kept, does to the key:
// rewrites it with the certificates kept, or deletes it.
func rewriteDoing(removing string, gone, kept int) string {
	switch {
	case kept == 0 && gone == 1:
		return removing + " its last certificate deletes the key"
	case kept == 0:
		return fmt.Sprintf("%s its %d certificates deletes the key", removing, gone)
	case gone == 1:
		return removing + " a certificate from it rewrites it with its other certificates only"
	}
	return fmt.Sprintf("%s %d certificates from it rewrites it with its other certificates only", removing, gone)
}

// rewriteKey stores keep under key (deleting the key when keep is empty)
// and records them as kept. The caller has checked the rewrite
// (checkRewrite).
func rewriteKey(desired *corev1.Secret, key string, keep []*x509.Certificate, change *api.CATrustChange) {
	if len(keep) == 0 {
		delete(desired.Data, key)
		return
	}
	desired.Data[key] = encodePEMs(keep)
	for _, c := range keep {
		change.Kept = append(change.Kept, changeItem(key, c, ""))
	}
}

// normalizeFingerprint lower-cases a fingerprint and drops colons and
// spaces, as openssl prints it with them.
func normalizeFingerprint(fp string) string {
	fp = strings.ToLower(strings.TrimSpace(fp))
	fp = strings.TrimPrefix(fp, "sha256:")
	fp = strings.TrimPrefix(fp, "sha256 fingerprint=")
	return strings.NewReplacer(":", "", " ", "").Replace(fp)
}
