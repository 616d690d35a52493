package catrust

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/lazyregexp"
)

// The trust secret AKS reads, and the limit of its node-pool file.
const (
	DefaultSecretName = "custom-ca-trust-secret"
	DefaultNamespace  = "kube-system"
	DefaultMax        = 10
)

// certKeySuffix ends the name of every data key that holds a certificate;
// other keys are not ca-trust's and are kept untouched.
const certKeySuffix = ".crt"

// isCertKey reports whether key is a certificate key (ca1.crt, root.crt, …).
func isCertKey(key string) bool { return strings.HasSuffix(key, certKeySuffix) }

var numberedKey = lazyregexp.New(`^ca([1-9][0-9]{0,8})\.crt$`)

// keyNumber is N of caN.crt, or 0 for another key.
func keyNumber(key string) int {
	m := numberedKey.FindStringSubmatch(key)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// keyLess orders keys as people count: ca1.crt, ca2.crt, …, ca10.crt, then
// other keys by name.
func keyLess(a, b string) bool {
	na, nb := keyNumber(a), keyNumber(b)
	switch {
	case na > 0 && nb > 0:
		return na < nb
	case na > 0 || nb > 0:
		return na > 0
	}
	return a < b
}

// certKeys lists the certificate keys of data in key order.
func certKeys(data map[string][]byte) []string {
	var keys []string
	for k := range data {
		if isCertKey(k) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	return keys
}

// nextFreeKey is caN.crt for the lowest N ≥ 1 not in use.
func nextFreeKey(data map[string][]byte) string {
	for n := 1; ; n++ {
		k := fmt.Sprintf("ca%d.crt", n)
		if _, used := data[k]; !used {
			return k
		}
	}
}

// keyContent is what one certificate key of the secret holds.
type keyContent struct {
	key   string
	certs []*x509.Certificate
	// err says why the value could not be read (fully); certs then holds
	// what could.
	err error
	// misencoded says how a readable value departs from the PEM nodes
	// install ("as base64 of PEM", "as DER", "with CRLF line endings"), ""
	// when it does not.
	misencoded string
	// besides lists what a readable value holds besides certificates: PEM
	// blocks of other types (by type and position) and text outside the
	// blocks. A rewrite stores certificates only, so a key that holds any
	// of these is not rewritten (see checkRewrite). Never the content.
	besides []string
}

// readKeys reads every certificate key of s (nil: none) in key order.
func readKeys(s *corev1.Secret) []keyContent {
	if s == nil {
		return nil
	}
	var out []keyContent
	for _, k := range certKeys(s.Data) {
		kc := keyContent{key: k}
		if b, err := certificate.Parse(s.Data[k]); err != nil {
			kc.err = fmt.Errorf("%s", safeMessage(err.Error()))
			if b != nil {
				kc.certs = b.Certificates
			}
		} else {
			kc.certs = b.Certificates
			kc.misencoded = misencoding(b)
			kc.besides = besidesCertificates(s.Data[k], b)
		}
		out = append(out, kc)
	}
	return out
}

// misencoding says how b's encoding departs from the LF PEM nodes install,
// "" when it does not.
func misencoding(b *certificate.Bundle) string {
	var what []string
	if b.Base64Layers > 0 {
		what = append(what, "as "+strings.Repeat("base64 of ", b.Base64Layers)+strings.ToUpper(strings.TrimPrefix(string(b.Format), "base64-")))
	} else if b.Format == certificate.FormatDER {
		what = append(what, "as DER")
	}
	if b.CRLF {
		what = append(what, "with CRLF line endings")
	}
	return strings.Join(what, " and ")
}

// besidesCertificates lists what v, read as b, holds besides certificates:
// the PEM blocks of other types (a CRL; a private key, named and never
// read) and non-blank text outside the PEM blocks, under base64 too. The
// items name what is there, never what it says: text outside the blocks
// may be a password.
func besidesCertificates(v []byte, b *certificate.Bundle) []string {
	var out []string
	for _, s := range b.Skipped {
		out = append(out, strings.TrimSuffix(s, ", not read"))
	}
	if b.Format == certificate.FormatPEM || b.Format == certificate.FormatBase64PEM {
		for range b.Base64Layers {
			v, _ = decodeBase64(v)
		}
		if hasTextOutsideBlocks(v) {
			out = append(out, "text outside its PEM blocks")
		}
	}
	return out
}

// checkRewrite refuses a rewrite of kc, which stores its certificates
// alone, when kc holds anything else: doing says what the rewrite does, in
// words followed by ", which would lose it". Nothing of the value is quoted.
func (s *secretOptions) checkRewrite(kc keyContent, doing string) error {
	if len(kc.besides) == 0 {
		return nil
	}
	it := "it"
	if len(kc.besides) > 1 {
		it = "them"
	}
	return fmt.Errorf("key %q of %s holds, besides certificates, %s: %s, which would lose %s; "+
		"edit the key by hand so that it holds certificates only (move the rest to a key whose name does not end in %s, which ca-trust leaves alone), "+
		"then run this again; nothing was written", kc.key, s, andList(kc.besides), doing, it, certKeySuffix)
}

// andList joins items as people list them: "a, b and c".
func andList(items []string) string {
	if n := len(items); n > 1 {
		return strings.Join(items[:n-1], ", ") + " and " + items[n-1]
	}
	return strings.Join(items, "")
}

// reencode rewrites kc's value as LF PEM when nodes could not install it as
// stored, recording its certificates as reencoded; else it records them as
// kept, with keptReason's reason. A value that holds more than certificates
// is not rewritten: that is an error.
func (s *secretOptions) reencode(desired *corev1.Secret, kc keyContent, change *api.CATrustChange, keptReason func(*x509.Certificate) string) error {
	if kc.err == nil && kc.misencoded != "" {
		if err := s.checkRewrite(kc, "rewriting it as PEM (it is stored "+kc.misencoded+") keeps its certificates only"); err != nil {
			return err
		}
		desired.Data[kc.key] = encodePEMs(kc.certs)
		for _, c := range kc.certs {
			change.Reencoded = append(change.Reencoded, changeItem(kc.key, c, "stored "+kc.misencoded+"; rewritten as PEM"))
		}
		return nil
	}
	for _, c := range kc.certs {
		change.Kept = append(change.Kept, changeItem(kc.key, c, keptReason(c)))
	}
	return nil
}

// countCerts counts the certificates of contents.
func countCerts(contents []keyContent) int {
	n := 0
	for _, kc := range contents {
		n += len(kc.certs)
	}
	return n
}

// changeItem describes cert stored under key for a CATrustChange.
func changeItem(key string, cert *x509.Certificate, reason string) api.CATrustChangeItem {
	return api.CATrustChangeItem{
		Key:               key,
		SHA256Fingerprint: certificate.Fingerprint(cert),
		Subject:           cert.Subject.String(),
		NotAfter:          metav1.NewTime(cert.NotAfter.UTC()),
		Reason:            reason,
	}
}

// secretOptions names the trust secret (--secret, and -n which defaults to
// kube-system here rather than to the context's namespace) and reaches it.
type secretOptions struct {
	SecretName string
	storeFlags

	// store is the store resolved from --store: secret or aks;
	// storeReason says why, for --store auto.
	store, storeReason string
	// serverHost is the kubeconfig's API server host (no port).
	serverHost string
	// aks reaches the AKS managed cluster's list (store aks).
	aks *aksStore

	ref       api.CATrustSecretRef
	newClient func() (kubernetes.Interface, error)
	client    kubernetes.Interface
	now       func() time.Time
}

// addFlags binds --secret.
func (s *secretOptions) addFlags(cmd *cobra.Command) {
	if s.SecretName == "" {
		s.SecretName = DefaultSecretName
	}
	cmd.Flags().StringVar(&s.SecretName, "secret", s.SecretName,
		"Name of the trust secret. Its namespace is -n/--namespace, kube-system when not given.")
	s.addStoreFlags(cmd)
}

// complete resolves the namespace: -n when given explicitly, else
// kube-system, whatever the context's namespace.
func (s *secretOptions) complete(f cmdutil.Factory) {
	s.ref = api.CATrustSecretRef{Namespace: DefaultNamespace, Name: s.SecretName}
	if ns, explicit, err := f.ToRawKubeConfigLoader().Namespace(); err == nil && explicit && ns != "" {
		s.ref.Namespace = ns
	}
	if s.newClient == nil {
		s.newClient = func() (kubernetes.Interface, error) { return f.KubernetesClientSet() }
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.completeStore(f)
}

// validate checks the secret's name and namespace.
func (s *secretOptions) validate(cmd *cobra.Command) error {
	if errs := validation.IsDNS1123Subdomain(s.ref.Name); len(errs) > 0 {
		return cli.UsageErrorf(cmd, "--secret %q: %s", s.ref.Name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(s.ref.Namespace); len(errs) > 0 {
		return cli.UsageErrorf(cmd, "--namespace %q: %s", s.ref.Namespace, strings.Join(errs, "; "))
	}
	return s.validateStore(cmd)
}

// String names the store in messages: secret kube-system/custom-ca-trust-secret,
// or the CA list of AKS cluster RG/NAME.
func (s *secretOptions) String() string {
	if s.isAKS() {
		return s.aks.String()
	}
	return "secret " + s.ref.String()
}

// clientset connects on first use.
func (s *secretOptions) clientset() (kubernetes.Interface, error) {
	if s.client == nil {
		c, err := s.newClient()
		if err != nil {
			return nil, err
		}
		s.client = c
	}
	return s.client, nil
}

// get reads the secret; nil without error when it does not exist. On the
// aks store it reads the managed cluster and returns its list as a secret
// (see aksStore.get), which always exists.
func (s *secretOptions) get(ctx context.Context) (*corev1.Secret, error) {
	if s.isAKS() {
		return s.aks.get(ctx)
	}
	return s.getSecret(ctx)
}

// getSecret reads the trust secret, whatever the store; nil without error
// when it does not exist.
func (s *secretOptions) getSecret(ctx context.Context) (*corev1.Secret, error) {
	c, err := s.clientset()
	if err != nil {
		return nil, err
	}
	sec, err := c.CoreV1().Secrets(s.ref.Namespace).Get(ctx, s.ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", s.ref, err)
	}
	return sec, nil
}

// checkNamespace is called when the secret does not exist: a namespace
// that does not exist either (a typo in -n) is an error, so that it is not
// taken for a namespace without custom CAs. When the namespace cannot be
// read (forbidden, say) it is not an error: the secret is just missing.
func (s *secretOptions) checkNamespace(ctx context.Context) error {
	if s.isAKS() {
		return nil
	}
	c, err := s.clientset()
	if err != nil {
		return err
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, s.ref.Namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: namespace %q not found (-n/--namespace)", s, s.ref.Namespace)
	}
	return nil
}

// mustGet reads the secret; it not existing is an error.
func (s *secretOptions) mustGet(ctx context.Context) (*corev1.Secret, error) {
	sec, err := s.get(ctx)
	if err == nil && sec == nil {
		err = fmt.Errorf("%s not found", s)
	}
	return sec, err
}

// mutation computes the secret to write from the one read (nil when it does
// not exist) and describes the change. It must not modify current; it is
// called again, on a fresh read, after a conflict. An error stops the write:
// nothing is written.
type mutation func(current *corev1.Secret) (desired *corev1.Secret, change *api.CATrustChange, err error)

// writeResult is the outcome of apply.
type writeResult struct {
	// Secret is the secret as written, or as it would be written under
	// --dry-run, or as it is when nothing changed (nil if it does not exist).
	Secret *corev1.Secret
	Change *api.CATrustChange
}

// writeBackoff paces the retries after a conflict: jittered and growing,
// so that many writers racing for one secret spread out; 60 attempts in
// at most about a minute.
var writeBackoff = wait.Backoff{Steps: 60, Duration: 20 * time.Millisecond, Factor: 1.5, Jitter: 1.0, Cap: time.Second}

// apply reads the secret, applies m and writes the result with the
// resourceVersion read (optimistic concurrency). When another writer got
// there first (Conflict, or AlreadyExists when both create it), it re-reads
// and re-applies m, so that no writer's change is lost. Under client dry-run
// nothing is written; under server dry-run the API server validates the
// write without persisting it.
func (s *secretOptions) apply(ctx context.Context, dryRun cmdutil.DryRunStrategy, m mutation) (*writeResult, error) {
	c, err := s.clientset()
	if err != nil {
		return nil, err
	}
	secrets := c.CoreV1().Secrets(s.ref.Namespace)
	var res *writeResult
	attempts := 0
	retriable := func(err error) bool {
		if ctx.Err() != nil || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) {
			return false
		}
		klog.V(2).Infof("%s: attempt %d lost a race (%v); re-reading and re-applying", s, attempts, err)
		return true
	}
	err = retryWrites(ctx, writeBackoff, retriable, func() error {
		attempts++
		current, err := s.get(ctx)
		if err != nil {
			return err
		}
		if err := s.checkWritable(current); err != nil {
			return &mutationError{err}
		}
		desired, change, err := m(current)
		if err != nil {
			return &mutationError{err}
		}
		change.Secret, change.Attempts, change.Created = s.ref, attempts, current == nil && change.Changed()
		change.DryRun = dryRunName(dryRun)
		res = &writeResult{Secret: desired, Change: change}
		if !change.Changed() {
			res.Secret = current
			return nil
		}
		if dryRun == cmdutil.DryRunClient {
			return nil
		}
		var opts []string
		if dryRun == cmdutil.DryRunServer {
			opts = []string{metav1.DryRunAll}
		}
		var written *corev1.Secret
		if current == nil {
			written, err = secrets.Create(ctx, desired, metav1.CreateOptions{DryRun: opts})
		} else {
			written, err = secrets.Update(ctx, desired, metav1.UpdateOptions{DryRun: opts})
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		res.Secret = written
		return nil
	})
	var me *mutationError
	switch {
	case errors.As(err, &me):
		return nil, me.err
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err() // interrupted: not another writer's doing
	case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
		return nil, fmt.Errorf("gave up after %d attempts, other writers kept changing it: %w", attempts, err)
	case err != nil:
		return nil, err
	}
	return res, nil
}

// checkWritable refuses to write a secret that is not a trust secret: one
// of a built-in type Kubernetes gives another meaning (a TLS secret or a
// service account token named by mistake, say). Opaque and custom types
// (other platforms' trust secrets) are written, keeping their type.
func (s *secretOptions) checkWritable(current *corev1.Secret) error {
	if current == nil || !builtinSecretTypes[current.Type] {
		return nil
	}
	return fmt.Errorf("%s is of type %s, not Opaque: it is not a trust secret (check --secret and -n); nothing was written", s, current.Type)
}

// builtinSecretTypes are Kubernetes' secret types other than Opaque.
var builtinSecretTypes = map[corev1.SecretType]bool{
	corev1.SecretTypeServiceAccountToken: true,
	corev1.SecretTypeDockercfg:           true,
	corev1.SecretTypeDockerConfigJson:    true,
	corev1.SecretTypeBasicAuth:           true,
	corev1.SecretTypeSSHAuth:             true,
	corev1.SecretTypeTLS:                 true,
	corev1.SecretTypeBootstrapToken:      true,
}

// retryWrites runs fn until it succeeds, fails with an error retriable does
// not accept, or b.Steps attempts were made. Between attempts it sleeps
// b.Duration, growing by b.Factor up to b.Cap, with b.Jitter. Unlike
// wait.Backoff (and so retry.OnError), reaching the cap does not end the
// retries: with many writers racing, the attempts are what count.
func retryWrites(ctx context.Context, b wait.Backoff, retriable func(error) bool, fn func() error) error {
	delay := b.Duration
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= b.Steps || !retriable(err) {
			return err
		}
		d := delay
		if b.Jitter > 0 {
			d = wait.Jitter(d, b.Jitter)
		}
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
		if b.Factor > 0 {
			delay = time.Duration(float64(delay) * b.Factor)
		}
		if b.Cap > 0 && delay > b.Cap {
			delay = b.Cap
		}
	}
}

// mutationError carries a mutation's error through the retry loop
// unchanged: it is never retried.
type mutationError struct{ err error }

func (e *mutationError) Error() string { return e.err.Error() }

// baseSecret is what a mutation starts from: a copy of current, keeping its
// resourceVersion, labels, annotations, type and every key, or a new Opaque
// secret.
func (s *secretOptions) baseSecret(current *corev1.Secret) *corev1.Secret {
	if current != nil {
		out := current.DeepCopy()
		if out.Data == nil {
			out.Data = map[string][]byte{}
		}
		return out
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.ref.Name, Namespace: s.ref.Namespace},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{},
	}
}

// dryRunName is client, server or "" for the CATrustChange.
func dryRunName(d cmdutil.DryRunStrategy) string {
	switch d {
	case cmdutil.DryRunClient:
		return "client"
	case cmdutil.DryRunServer:
		return "server"
	}
	return ""
}
