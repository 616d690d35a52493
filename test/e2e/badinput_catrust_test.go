package e2e_test

// The bad-input tables of kubectl ca-trust (issue 7's list, through the
// harness of badinput_test.go): one per verb.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// ctBadFixture is what every ca-trust table starts from: a namespace of its
// own holding a trust secret (two CAs and a key that is not ca-trust's, with
// a planted value), a directory of bad input files, and two RBAC-limited
// users: one who may do nothing, one who may only read secrets there.
type ctBadFixture struct {
	ns  string
	dir string // the input files; protected
	// a and b are the CAs of the trust secret, ca1.crt and ca2.crt.
	a, b *certtest.Cert
	// token is the planted value of the secret's key token.
	token string
	// keyPEM is the private key in key.pem, cert-and-key.pem, key.b64 and
	// the TLS secret tls-secret; ecKeyPEM the same key in SEC 1 form.
	keyPEM, ecKeyPEM []byte
	// nobody and reader are kubeconfigs of the RBAC-limited users.
	nobody, reader string
	// missing is a path that does not exist; adir a directory.
	missing, adir string
	// the files.
	key, certAndKey, b64Key, ecKey, withCSR, empty, leaf, expired, garbage, truncated, nine, eleven, fresh, two,
	aCRLF, bDER, aB64, aB64B64, big, ab string
}

// secretRef is "secret NS/custom-ca-trust-secret", as errors name it.
func (f *ctBadFixture) secretRef() string { return "secret " + f.ns + "/" + ctSecretName }

// never is what no row may print: the key's body and the planted value.
func (f *ctBadFixture) never() []string {
	return []string{keyBody(f.keyPEM), keyBody(f.ecKeyPEM), f.token, base64.StdEncoding.EncodeToString([]byte(f.token))}
}

// args is verb, the row's arguments and -n NS.
func (f *ctBadFixture) args(verb string, args ...string) []string {
	return append(append([]string{"ca-trust", verb}, args...), "-n", f.ns)
}

// ctDefaultArgs is verb and the row's arguments without -n: kube-system.
func ctDefaultArgs(verb string, args ...string) []string {
	return append([]string{"ca-trust", verb}, args...)
}

func newCTBadFixture(t *testing.T, prefix string) *ctBadFixture {
	t.Helper()
	c := framework.Shared(t)
	admin := c.Clientset()
	f := &ctBadFixture{ns: createNamespace(t, admin, admin, prefix), dir: t.TempDir()}
	f.a, f.b = certtest.CA(t, "bad-input-root-a"), certtest.CA(t, "bad-input-root-b")
	planted := make([]byte, 12)
	if _, err := rand.Read(planted); err != nil {
		t.Fatal(err)
	}
	f.token = "planted-" + hex.EncodeToString(planted)
	if _, err := admin.CoreV1().Secrets(f.ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ctSecretName},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"ca1.crt": f.a.PEM(), "ca2.crt": f.b.PEM(), "token": []byte(f.token)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	other := certtest.CA(t, "bad-input-with-key")
	ctPutSecret(t, admin, f.ns, "tls-secret", corev1.SecretTypeTLS, map[string][]byte{
		corev1.TLSCertKey: certtest.New(t, certtest.Template{CommonName: "tls.example"}, f.a).PEM(), corev1.TLSPrivateKeyKey: other.KeyPEM(t)})
	f.keyPEM = other.KeyPEM(t)
	w := func(name string, data []byte) string { return writeFile(t, f.dir, name, data) }
	f.key = w("key.pem", f.keyPEM)
	f.certAndKey = w("cert-and-key.pem", append(other.PEM(), f.keyPEM...))
	f.b64Key = w("key.b64", []byte(base64.StdEncoding.EncodeToString(f.keyPEM)))
	ecDER, err := x509.MarshalECPrivateKey(other.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	f.ecKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	f.ecKey = w("ec-key.pem", append(other.PEM(), f.ecKeyPEM...))
	f.withCSR = w("with-csr.pem", append(f.a.PEM(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte("not really a CSR")})...))
	f.empty = w("empty.pem", nil)
	f.leaf = w("leaf.pem", certtest.New(t, certtest.Template{CommonName: "registry.example", DNSNames: []string{"registry.example"}}, f.a).PEM())
	f.expired = w("expired.pem", certtest.New(t, certtest.Template{CommonName: "old-root", IsCA: true,
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, nil).PEM())
	f.garbage = w("garbage.txt", []byte("issuer=CN = corp-root\nnot a certificate\n"))
	f.truncated = w("truncated.pem", f.a.PEM()[:200])
	var nine, eleven bytes.Buffer
	for i := 1; i <= 11; i++ {
		p := certtest.CA(t, fmt.Sprintf("bad-input-many-%02d", i)).PEM()
		if i <= 9 {
			nine.Write(p)
		}
		eleven.Write(p)
		eleven.WriteString("\n")
	}
	f.nine = w("nine.pem", nine.Bytes())
	f.eleven = w("eleven.pem", eleven.Bytes())
	f.fresh = w("fresh.pem", certtest.CA(t, "bad-input-fresh").PEM())
	f.two = w("two.pem", append(certtest.CA(t, "bad-input-two-1").PEM(), certtest.CA(t, "bad-input-two-2").PEM()...))
	f.aCRLF = w("a-crlf.pem", bytes.ReplaceAll(f.a.PEM(), []byte("\n"), []byte("\r\n")))
	f.bDER = w("b.der", f.b.Cert.Raw)
	f.aB64 = w("a.b64", []byte(base64.StdEncoding.EncodeToString(f.a.PEM())))
	f.aB64B64 = w("a.b64b64", []byte(base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString(f.a.PEM())))))
	// Outside dir: hashing 9 MiB twice for every row of every table costs
	// more than it proves (nothing writes to an input file).
	f.big = writeFile(t, t.TempDir(), "big.pem", bytes.Repeat(f.a.PEM(), 9<<20/len(f.a.PEM())+1))
	f.ab = w("ab.pem", append(append(f.a.PEM(), '\n'), f.b.PEM()...))
	f.missing = filepath.Join(f.dir, "no-such-file.pem")
	f.adir = filepath.Join(f.dir, "a-directory")
	if err := os.Mkdir(f.adir, 0o755); err != nil {
		t.Fatal(err)
	}

	if f.nobody, err = c.UserKubeconfig("catrust-nobody-" + f.ns); err != nil {
		t.Fatal(err)
	}
	reader := "catrust-reader-" + f.ns
	if f.reader, err = c.UserKubeconfig(reader); err != nil {
		t.Fatal(err)
	}
	chkGrant(t, admin, f.ns, reader, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}})
	ctWaitCanGet(t, f.reader, f.ns)
	return f
}

// ctKlogLines are the stderr lines of -v=9: klog's (I1128 …), and the
// indented lines of its request dumps.
var ctKlogLines = []string{"I0", "I1", "\t", " >"}

// ctWaitCanGet waits until the user of kubeconfig may read the trust secret
// of ns: RBAC takes a moment to see a new binding.
func ctWaitCanGet(t *testing.T, kubeconfig, ns string) {
	t.Helper()
	client, err := framework.ClientsetFromKubeconfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, last = client.CoreV1().Secrets(ns).Get(t.Context(), ctSecretName, metav1.GetOptions{}); last == nil {
			return
		}
	}
	t.Fatalf("the reader cannot read the trust secret: %v", last)
}

// ctPutSecret creates a secret named name in ns holding data, of type typ
// (Opaque when empty).
func ctPutSecret(t *testing.T, admin kubernetes.Interface, ns, name string, typ corev1.SecretType, data map[string][]byte) {
	t.Helper()
	if typ == "" {
		typ = corev1.SecretTypeOpaque
	}
	if _, err := admin.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Type: typ, Data: data,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// ctMoreThanCerts puts in ns the trust secrets of issue 15, whose ca1.crt
// holds more than certificates, beside ca2.crt (b) and a token:
//
//   - with-crl: a, an expired CA (CN=bad-input-old-root) and a CRL, LF PEM;
//   - crlf-crl: a and a CRL, with CRLF line endings;
//   - b64-text: base64 of a and a line of text holding the planted token;
//   - with-text: a and that line of text, LF PEM.
//
// ca-trust must not rewrite these keys, which would keep their certificates
// only. It returns a line of the CRL, which no output may show.
func (f *ctBadFixture) ctMoreThanCerts(t *testing.T) (crlLine string) {
	t.Helper()
	admin := framework.Shared(t).Clientset()
	now := time.Now()
	old := certtest.New(t, certtest.Template{CommonName: "bad-input-old-root", IsCA: true,
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, nil)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(42), RevocationTime: now}},
	}, f.a.Cert, f.a.Key)
	if err != nil {
		t.Fatal(err)
	}
	crl := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	text := []byte("password: " + f.token + "\n")
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for name, ca1 := range map[string][]byte{
		"with-crl":  cat(f.a.PEM(), old.PEM(), crl),
		"crlf-crl":  bytes.ReplaceAll(cat(f.a.PEM(), crl), []byte("\n"), []byte("\r\n")),
		"b64-text":  []byte(base64.StdEncoding.EncodeToString(cat(f.a.PEM(), text))),
		"with-text": cat(f.a.PEM(), text),
	} {
		ctPutSecret(t, admin, f.ns, name, "", map[string][]byte{"ca1.crt": ca1, "ca2.crt": f.b.PEM(), "token": []byte(f.token)})
	}
	lines := strings.Split(strings.TrimSpace(string(crl)), "\n")
	return lines[len(lines)/2]
}

// ctMoreThanCertsErr is the start of the error for a rewrite of ca1.crt of
// the secret name in ns that holds what, besides certificates.
func ctMoreThanCertsErr(ns, name, what string) string {
	return `key "ca1.crt" of secret ` + ns + "/" + name + " holds, besides certificates, " + what
}

// ctForbidden is the start of the error an RBAC-limited user gets for the
// trust secret of ns.
func ctForbidden(ns string) string {
	return fmt.Sprintf(`secret %s/%s: secrets "%s" is forbidden: User "`, ns, ctSecretName, ctSecretName)
}

// ctForbiddenVerb is the part of the Forbidden error naming the verb and
// namespace.
func ctForbiddenVerb(ns, verb string) string {
	return fmt.Sprintf(`cannot %s resource "secrets" in API group "" in the namespace "%s"`, verb, ns)
}

// table makes the table of rows: the fixture's never strings added to
// every row, its files, namespace and the disk paths given protected.
func (f *ctBadFixture) table(rows []badInput, disk ...string) badInputTable {
	for i := range rows {
		rows[i].never = append(rows[i].never, f.never()...)
	}
	return badInputTable{disk: append([]string{f.dir}, disk...), namespaces: []string{f.ns}, rows: rows}
}

func TestBadInputCATrustAdd(t *testing.T) {
	f := newCTBadFixture(t, "catrust-bad-add-")
	crl := f.ctMoreThanCerts(t)
	ref := f.secretRef()
	rows := []badInput{
		{name: "--no-wait on the secret store", args: f.args("add", f.fresh, "--no-wait"), code: 1, err: "--no-wait applies to --store aks; the store is secret"},
		{name: "--dry-run=server on the aks store", args: ctDefaultArgs("add", f.fresh, "--aks-resource-group", "rg", "--aks-name", "aks1", "--dry-run=server"), code: 1,
			err: "--dry-run=server: AKS has no server-side dry run"},
		{name: "--max over AKS's 10 on the aks store", args: ctDefaultArgs("add", f.fresh, "--aks-resource-group", "rg", "--aks-name", "aks1", "--max", "11"), code: 1,
			err: "--max 11: an AKS cluster's list holds at most 10"},
		{name: "--store aks without the Azure CLI, --yes", args: ctDefaultArgs("add", f.fresh, "--aks-resource-group", "rg", "--aks-name", "aks1", "--yes"), code: 1,
			err: `the Azure CLI is needed and "az" is not found`},
		{name: "a private key", args: f.args("add", f.key), code: 1, err: f.key + ": holds a private key; refused"},
		{name: "a certificate with its key", args: f.args("add", f.certAndKey), code: 1, err: f.certAndKey + ": holds a private key; refused"},
		{name: "a private key on stdin", args: f.args("add", "-"), stdin: f.keyPEM, code: 1, err: "stdin: holds a private key; refused"},
		{name: "a base64-encoded private key", args: f.args("add", f.b64Key), code: 1, err: f.b64Key + ": holds a private key; refused"},
		{name: "an EC PRIVATE KEY", args: f.args("add", f.ecKey, "--allow-non-ca"), code: 1, err: f.ecKey + ": holds a private key; refused"},
		{name: "an empty file", args: f.args("add", f.empty), code: 1, err: f.empty + ": empty: no certificate found"},
		{name: "the 11th certificate", args: f.args("add", f.nine), code: 1, err: ref + " would hold 11 certificates, over --max 10"},
		{name: "a leaf", args: f.args("add", f.leaf), code: 1, err: f.leaf + ": CN=registry.example is not a CA"},
		{name: "an expired CA", args: f.args("add", f.expired), code: 1, err: f.expired + ": CN=old-root expired on "},
		{name: "a leaf and an expired CA: one line", args: f.args("add", f.leaf, f.expired), code: 1, err: f.expired + ": CN=old-root expired on "},
		{name: "a good CA with a leaf: all or nothing", args: f.args("add", f.fresh, f.leaf), code: 1, err: f.leaf + ": CN=registry.example is not a CA"},
		{name: "a missing file", args: f.args("add", f.missing), code: 1, err: f.missing + ": no such file or directory"},
		{name: "a directory", args: f.args("add", f.adir), code: 1, err: f.adir + ": is a directory"},
		{name: "text, not a certificate", args: f.args("add", f.garbage), code: 1, err: f.garbage + ": text without a PEM block"},
		{name: "a truncated PEM", args: f.args("add", f.truncated), code: 1, err: f.truncated + ": "},
		{name: "over 8 MiB", args: f.args("add", f.big), code: 1, err: f.big + ": over the 8388608-byte limit"},
		{name: "garbage on stdin", args: f.args("add", "-"), stdin: []byte("\x00\x01garbage\xff\n"), code: 1, err: "stdin: "},
		{name: "nothing on stdin", args: f.args("add", "-"), stdin: []byte{}, code: 1, err: "stdin: empty"},
		{name: "stdin twice", args: f.args("add", "-", "-"), code: 1, err: "- (standard input) is given 2 times"},
		{name: "no FILE", args: f.args("add"), code: 1, err: "give at least one FILE"},
		{name: "--max 0", args: f.args("add", "--max", "0", f.fresh), code: 1, err: "--max 0: must be at least 1"},
		{name: "--max -1", args: f.args("add", "--max", "-1", f.fresh), code: 1, err: "--max -1: must be at least 1"},
		{name: "--max abc", args: f.args("add", "--max", "abc", f.fresh), code: 1, err: `invalid argument "abc" for "--max" flag`},
		{name: "--key not a key name", args: f.args("add", "--key", "bad/name.crt", f.fresh), code: 1, err: `--key "bad/name.crt": a valid config key`},
		{name: "--key not .crt", args: f.args("add", "--key", "root.pem", f.fresh), code: 1, err: `--key "root.pem": must end in .crt`},
		{name: "--key for two certificates", args: f.args("add", "--key", "corp.crt", f.two), code: 1, err: "--key corp.crt names one certificate; the input holds 2"},
		{name: "--key empty", args: f.args("add", "--key", "", f.fresh), code: 1, err: `--key "": give the data key`},
		{name: "a TLS secret", args: f.args("add", "--secret", "tls-secret", f.fresh), code: 1,
			err: "secret " + f.ns + "/tls-secret is of type kubernetes.io/tls, not Opaque: it is not a trust secret"},
		{name: "--key taken", args: f.args("add", "--key", "ca1.crt", f.fresh), code: 1, err: "--key ca1.crt: " + ref + " already has that key"},
		{name: "--secret not a name", args: f.args("add", "--secret", "Custom_CA", f.fresh), code: 1, err: `--secret "Custom_CA": a lowercase RFC 1123 subdomain`},
		{name: "--namespace not a name", args: append(ctDefaultArgs("add", f.fresh), "-n", "Kube_System"), code: 1, err: `--namespace "Kube_System": a lowercase RFC 1123 label`},
		{name: "--namespace that does not exist", args: append(ctDefaultArgs("add", f.fresh), "-n", "no-such-namespace"), code: 1,
			err: `secret no-such-namespace/` + ctSecretName + `: namespaces "no-such-namespace" not found`},
		{name: "--dry-run bogus", args: f.args("add", "--dry-run=bogus", f.fresh), code: 1, err: "--dry-run: Invalid dry-run value (bogus)"},
		{name: "-o bogus", args: f.args("add", "-o", "bogus", f.fresh), code: 1, err: `--output "bogus": unknown format`},
		{name: "an unknown flag", args: f.args("add", "--force", f.fresh), code: 1, err: "unknown flag: --force"},
		{name: "--context that does not exist", args: f.args("add", "--context", "no-such-context", f.fresh), code: 1, err: `context "no-such-context"`},
		{name: "forbidden to read", args: f.args("add", f.fresh), kubeconfig: f.nobody, code: 1, err: ctForbidden(f.ns)},
		{name: "forbidden to update", args: f.args("add", f.fresh), kubeconfig: f.reader, code: 1, err: ctForbiddenVerb(f.ns, "update")},
		{name: "default secret: a leaf", args: ctDefaultArgs("add", f.leaf), code: 1, err: f.leaf + ": CN=registry.example is not a CA"},
		{name: "default secret: a private key", args: ctDefaultArgs("add", f.certAndKey), code: 1, err: f.certAndKey + ": holds a private key; refused"},
		// Accepted: the same CAs again in the forms add converts, skipped as
		// duplicates, so nothing is written.
		{name: "CRLF (accepted, a duplicate)", args: f.args("add", f.aCRLF), code: 0,
			stdout: []string{"skipped", f.aCRLF}, stderr: []string{"CRLF line endings; stored with LF", "nothing to change"}},
		{name: "DER (accepted, a duplicate)", args: f.args("add", f.bDER), code: 0,
			stdout: []string{"skipped", f.bDER}, stderr: []string{"DER; stored as PEM", "nothing to change"}},
		{name: "base64 of PEM (accepted, a duplicate)", args: f.args("add", f.aB64), code: 0,
			stdout: []string{"skipped"}, stderr: []string{f.aB64 + ": base64-encoded", "nothing to change"}},
		{name: "base64 of base64 (accepted, a duplicate)", args: f.args("add", f.aB64B64), code: 0,
			stdout: []string{"skipped"}, stderr: []string{f.aB64B64 + ": base64-encoded", "nothing to change"}},
		{name: "another PEM block (accepted, a duplicate)", args: f.args("add", f.withCSR), code: 0,
			stdout: []string{"skipped"}, stderr: []string{f.withCSR + ": skipped", "nothing to change"}},
		{name: "--request-timeout abc", args: f.args("add", f.fresh, "--request-timeout", "abc"), code: 1, err: `--request-timeout "abc"`},
		{name: "-v=9 under --dry-run=server", args: f.args("add", f.fresh, "--dry-run=server", "-v=9"), code: 0,
			stdout: []string{"added"}, extraStderr: ctKlogLines},
		{name: "-o yaml leaves the password out", args: f.args("add", f.fresh, "--dry-run=client", "-o", "yaml"), code: 0,
			stdout: []string{"kind: Secret", "ca3.crt"}, stderr: []string{"warning: " + ref + ": key token is not a certificate"}},
		{name: "a new CA under --dry-run=server", args: f.args("add", f.fresh, "--dry-run=server"), code: 0,
			stdout: []string{"added", "ca3.crt", "CN=bad-input-fresh"}, stderr: []string{"--dry-run=server: " + ref + " was not written"}},
		{name: "the 11th with --max 11 under --dry-run=client", args: f.args("add", f.nine, "--max", "11", "--dry-run=client"), code: 0,
			stdout: []string{"ca11.crt"}, stderr: []string{"--dry-run=client"}},

		// Issue 15: add re-encodes a key nodes cannot install as PEM, which
		// keeps its certificates only: refused for a key holding more.
		{name: "re-encoding a CRLF key that also holds a CRL", args: f.args("add", "--secret", "crlf-crl", f.fresh), code: 1, never: []string{crl},
			err: ctMoreThanCertsErr(f.ns, "crlf-crl", "a X509 CRL (PEM block 2): rewriting it as PEM (it is stored with CRLF line endings) keeps its certificates only")},
		{name: "re-encoding a CRLF key that also holds a CRL, under --dry-run=server", args: f.args("add", "--secret", "crlf-crl", f.fresh, "--dry-run=server"),
			code: 1, never: []string{crl}, err: ctMoreThanCertsErr(f.ns, "crlf-crl", "a X509 CRL (PEM block 2)")},
		{name: "re-encoding a CRLF key that also holds a CRL, -o yaml under --dry-run=client", args: f.args("add", "--secret", "crlf-crl", f.fresh, "--dry-run=client", "-o", "yaml"),
			code: 1, never: []string{crl, "kind: Secret"}, err: ctMoreThanCertsErr(f.ns, "crlf-crl", "a X509 CRL (PEM block 2)")},
		{name: "re-encoding a base64 key with text outside its blocks", args: f.args("add", "--secret", "b64-text", f.fresh), code: 1,
			err: ctMoreThanCertsErr(f.ns, "b64-text", "text outside its PEM blocks: rewriting it as PEM (it is stored as base64 of PEM)")},
		{name: "a LF key with a CRL is not rewritten (accepted, --dry-run=server)", args: f.args("add", "--secret", "with-crl", f.fresh, "--dry-run=server"), code: 0,
			never: []string{crl}, stdout: []string{"added", "ca3.crt"}, stderr: []string{"--dry-run=server"}},
	}
	runBadInputs(t, f.table(rows))
}

func TestBadInputCATrustList(t *testing.T) {
	f := newCTBadFixture(t, "catrust-bad-list-")
	admin := framework.Shared(t).Clientset()
	ref := f.secretRef()
	ctPutSecret(t, admin, f.ns, "with-garbage", "", map[string][]byte{"ca1.crt": f.a.PEM(), "ca2.crt": []byte("not a certificate"), "password": []byte(f.token)})
	ctPutSecret(t, admin, f.ns, "with-key", "", map[string][]byte{"ca1.crt": append(f.a.PEM(), f.keyPEM...)})
	rows := []badInput{
		{name: "a secret that does not exist", args: f.args("list", "--secret", "no-such-secret"), code: 0,
			stderr: []string{"note: no custom CAs: secret " + f.ns + "/no-such-secret does not exist"}},
		{name: "a namespace that does not exist", args: append(ctDefaultArgs("list"), "-n", "no-such-namespace"), code: 1,
			err: `secret no-such-namespace/` + ctSecretName + `: namespace "no-such-namespace" not found`},
		{name: "a namespace that does not exist, as JSON", args: append(ctDefaultArgs("list", "-o", "json"), "-n", "no-such-namespace"), code: 1,
			err: `namespace "no-such-namespace" not found`},
		{name: "--secret not a name", args: f.args("list", "--secret", "-bad-"), code: 1, err: `--secret "-bad-"`},
		{name: "--namespace not a name", args: append(ctDefaultArgs("list"), "-n", "a/b"), code: 1, err: `--namespace "a/b"`},
		{name: "a key that does not parse", args: f.args("list", "--secret", "with-garbage"), code: 1,
			err: "secret " + f.ns + "/with-garbage key ca2.crt: ", stdout: []string{"ca1.crt", "CN=bad-input-root-a"}},
		{name: "a TLS secret", args: f.args("list", "--secret", "tls-secret"), code: 0, stdout: []string{"tls.crt", "CN=tls.example"}},
		{name: "a key that holds a private key", args: f.args("list", "--secret", "with-key"), code: 0,
			stdout: []string{"ca1.crt", "CN=bad-input-root-a"}},
		{name: "--warn-within abc", args: f.args("list", "--warn-within", "abc"), code: 1, err: `invalid argument "abc" for "--warn-within" flag`},
		{name: "--critical-within over --warn-within", args: f.args("list", "--critical-within", "40d"), code: 1, err: "--critical-within (40d) must not be longer than --warn-within (30d)"},
		{name: "-o bogus", args: f.args("list", "-o", "bogus"), code: 1, err: `--output "bogus"`},
		{name: "an argument", args: f.args("list", "ca1.crt"), code: 1, err: `unexpected argument "ca1.crt"`},
		{name: "--context that does not exist", args: f.args("list", "--context", "no-such-context"), code: 1, err: `context "no-such-context"`},
		{name: "forbidden", args: f.args("list"), kubeconfig: f.nobody, code: 1, err: ctForbidden(f.ns)},
		{name: "--kubeconfig that does not exist", args: f.args("list", "--kubeconfig", f.missing), code: 1, err: f.missing},
		{name: "an API server that does not answer", args: f.args("list", "--server", "https://127.0.0.1:1"), code: 1,
			err: ref + ": Get \"https://127.0.0.1:1/api/v1/namespaces/" + f.ns + "/secrets/" + ctSecretName + "\""},
		{name: "--request-timeout abc", args: f.args("list", "--request-timeout", "abc"), code: 1, err: `--request-timeout "abc"`},
		{name: "-v=9 on a secret with a key and a password", args: f.args("list", "--secret", "with-garbage", "-v=9"), code: 1,
			err: "secret " + f.ns + "/with-garbage key ca2.crt: ", extraStderr: ctKlogLines},
		{name: "-v=9 on a secret with a private key", args: f.args("list", "--secret", "with-key", "-v=9"), code: 0, extraStderr: ctKlogLines},
		{name: "the secret (what could be checked)", args: f.args("list", "-o", "json"), code: 0, stdout: []string{`"ca1.crt"`, `"ca2.crt"`}},
		{name: "default secret: forbidden", args: ctDefaultArgs("list"), kubeconfig: f.nobody, code: 1,
			err: `secret kube-system/` + ctSecretName + `: secrets "` + ctSecretName + `" is forbidden`},
		{name: "default secret: -o bogus", args: ctDefaultArgs("list", "-o", "bogus"), code: 1, err: `--output "bogus"`},
		// The store flags (issue 16). The harness's PATH has no az.
		{name: "--store bogus", args: f.args("list", "--store", "bogus"), code: 1, err: `--store "bogus": give secret, aks or auto`},
		{name: "--store secret with an --aks-* flag", args: f.args("list", "--store", "secret", "--aks-name", "aks1"), code: 1,
			err: "--aks-resource-group, --aks-name and --aks-id name an AKS cluster, for --store aks; --store is secret"},
		{name: "--aks-name without --aks-resource-group", args: ctDefaultArgs("list", "--aks-name", "aks1"), code: 1,
			err: "give --aks-resource-group and --aks-name together"},
		{name: "--aks-name with an @", args: ctDefaultArgs("list", "--aks-resource-group", "rg", "--aks-name", "@token"), code: 1,
			err: `--aks-name: AKS cluster "@token": starts with '@', which would make az read the file it names`},
		{name: "--aks-resource-group with a /", args: ctDefaultArgs("list", "--aks-resource-group", "rg/x", "--aks-name", "aks1"), code: 1,
			err: `--aks-resource-group: resource group "rg/x": has '/'`},
		{name: "--aks-id that is not a cluster's", args: ctDefaultArgs("list", "--aks-id", "/subscriptions/x/resourceGroups/rg"), code: 1,
			err: `--aks-id: AKS cluster ID "/subscriptions/x/resourceGroups/rg": not of the form`},
		{name: "--aks-id with --aks-name", args: ctDefaultArgs("list", "--aks-id", "/subscriptions/8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a", "--aks-resource-group", "rg", "--aks-name", "a"), code: 1,
			err: "--aks-id and --aks-resource-group/--aks-name exclude each other"},
		{name: "--subscription not a GUID", args: ctDefaultArgs("list", "--aks-resource-group", "rg", "--aks-name", "aks1", "--subscription", "@sub"), code: 1,
			err: `--subscription: subscription "@sub"`},
		{name: "--secret with --store aks", args: f.args("list", "--store", "aks", "--secret", ctSecretName, "--aks-resource-group", "rg", "--aks-name", "aks1"), code: 1,
			err: "--secret names the trust secret; the store is aks (--store aks), which has none"},
		{name: "--store aks without the Azure CLI", args: ctDefaultArgs("list", "--aks-resource-group", "rg", "--aks-name", "aks1"), code: 1,
			err: `the Azure CLI is needed and "az" is not found: install it (https://aka.ms/azure-cli) or give --az-path`},
		{name: "--az-path that does not exist", args: ctDefaultArgs("list", "--aks-resource-group", "rg", "--aks-name", "aks1", "--az-path", f.missing), code: 1,
			err: f.missing},
		{name: "--az-path empty", args: ctDefaultArgs("list", "--aks-resource-group", "rg", "--aks-name", "aks1", "--az-path", ""), code: 1,
			err: "--az-path must not be empty"},
	}
	runBadInputs(t, f.table(rows))
}

func TestBadInputCATrustRemove(t *testing.T) {
	f := newCTBadFixture(t, "catrust-bad-remove-")
	crl := f.ctMoreThanCerts(t)
	admin := framework.Shared(t).Clientset()
	ctPutSecret(t, admin, f.ns, "with-garbage", "", map[string][]byte{"ca1.crt": append(f.a.PEM(), []byte("-----BEGIN CERTIFICATE-----\nnot base64\n")...)})
	ctPutSecret(t, admin, f.ns, "with-key", "", map[string][]byte{"ca1.crt": append(f.a.PEM(), f.keyPEM...), "ca2.crt": f.b.PEM(), "token": []byte(f.token)})
	ref := f.secretRef()
	rows := []badInput{
		{name: "a key that is not there", args: f.args("remove", "ca9.crt"), code: 1, err: ref + " has no key ca9.crt; nothing was written"},
		{name: "one key there, one not", args: f.args("remove", "ca1.crt", "ca9.crt"), code: 1, err: ref + " has no key ca9.crt"},
		{name: "a key that is not a certificate", args: f.args("remove", "token"), code: 1, err: "key token of " + ref + " is not a certificate key"},
		{name: "a fingerprint that is not there", args: f.args("remove", "--fingerprint", "00000000deadbeef"), code: 1,
			err: "no certificate in " + ref + " matches --fingerprint 00000000deadbeef"},
		{name: "a fingerprint that is not hex", args: f.args("remove", "--fingerprint", "zz:zz:zz:zz:zz"), code: 1, err: `--fingerprint "zz:zz:zz:zz:zz"`},
		{name: "a fingerprint too short", args: f.args("remove", "--fingerprint", "ab12"), code: 1, err: `--fingerprint "ab12": give 8 to 64 hex digits`},
		{name: "a fingerprint too long", args: f.args("remove", "--fingerprint", strings.Repeat("ab", 33)), code: 1, err: `--fingerprint "` + strings.Repeat("ab", 33) + `"`},
		{name: "a subject that is not there", args: f.args("remove", "--subject", "CN=nobody"), code: 1, err: "no certificate in " + ref + " matches --subject CN=nobody"},
		{name: "--expired, none expired", args: f.args("remove", "--expired"), code: 1, err: "no certificate in " + ref + " matches --expired"},
		{name: "a match and a miss: all or nothing", args: f.args("remove", "--subject", "bad-input-root-a", "--subject", "nobody"), code: 1,
			err: "matches --subject nobody"},
		{name: "nothing selected", args: f.args("remove"), code: 1, err: "say what to remove"},
		{name: "an empty subject", args: f.args("remove", "--subject", ""), code: 1, err: `--subject "": give a subject`},
		{name: "a TLS secret", args: f.args("remove", "--secret", "tls-secret", "tls.crt"), code: 1,
			err: "secret " + f.ns + "/tls-secret is of type kubernetes.io/tls, not Opaque"},
		{name: "a flag-like key", args: f.args("remove", "--", "-ca1.crt"), code: 1, err: `"-ca1.crt" is not a key`},
		{name: "a secret that does not exist", args: f.args("remove", "--secret", "no-such-secret", "ca1.crt"), code: 1,
			err: "secret " + f.ns + "/no-such-secret not found"},
		{name: "a namespace that does not exist", args: append(ctDefaultArgs("remove", "ca1.crt"), "-n", "no-such-namespace"), code: 1,
			err: "secret no-such-namespace/" + ctSecretName + " not found"},
		{name: "--secret not a name", args: f.args("remove", "--secret", "UPPER", "ca1.crt"), code: 1, err: `--secret "UPPER"`},
		{name: "--namespace not a name", args: append(ctDefaultArgs("remove", "ca1.crt"), "-n", "-x-"), code: 1, err: `--namespace "-x-"`},
		{name: "a subject in a key that also holds garbage", args: f.args("remove", "--secret", "with-garbage", "--subject", "bad-input-root-a"), code: 1,
			err: "secret " + f.ns + "/with-garbage key ca1.crt also holds data that does not parse"},
		{name: "--dry-run bogus", args: f.args("remove", "ca1.crt", "--dry-run=maybe"), code: 1, err: "--dry-run: Invalid dry-run value (maybe)"},
		{name: "-o bogus", args: f.args("remove", "ca1.crt", "-o", "bogus"), code: 1, err: `--output "bogus"`},
		{name: "forbidden to read", args: f.args("remove", "ca1.crt"), kubeconfig: f.nobody, code: 1, err: ctForbidden(f.ns)},
		{name: "forbidden to update", args: f.args("remove", "ca1.crt"), kubeconfig: f.reader, code: 1, err: ctForbiddenVerb(f.ns, "update")},
		{name: "default secret: does not exist", args: ctDefaultArgs("remove", "ca1.crt"), code: 1, err: "secret kube-system/" + ctSecretName + " not found"},
		{name: "-o yaml of a secret holding a key and a password", args: f.args("remove", "ca2.crt", "--secret", "with-key", "--dry-run=client", "-o", "yaml"), code: 0,
			stdout: []string{"kind: Secret", "name: with-key"}, stderr: []string{"warning: secret " + f.ns + "/with-key: keys ca1.crt, token are not certificates"}},
		{name: "accepted under --dry-run=client", args: f.args("remove", "ca1.crt", "--dry-run=client"), code: 0,
			stdout: []string{"removed", "ca1.crt"}, stderr: []string{"--dry-run=client: " + ref + " was not written"}},

		// Issue 15: removing some of a key's certificates rewrites it with
		// the others only: refused for a key holding more.
		{name: "one of two certificates of a key that also holds a CRL", args: f.args("remove", "--secret", "with-crl", "--subject", "bad-input-root-a"),
			code: 1, never: []string{crl},
			err: ctMoreThanCertsErr(f.ns, "with-crl", "a X509 CRL (PEM block 3): removing a certificate from it rewrites it with its other certificates only, which would lose it")},
		{name: "--expired in a key that also holds a CRL, under --dry-run=server", args: f.args("remove", "--secret", "with-crl", "--expired", "--dry-run=server"),
			code: 1, never: []string{crl}, err: ctMoreThanCertsErr(f.ns, "with-crl", "a X509 CRL (PEM block 3): removing a certificate from it")},
		{name: "the last certificate of a key with text outside its blocks", args: f.args("remove", "--secret", "with-text", "--subject", "bad-input-root-a"),
			code: 1, err: ctMoreThanCertsErr(f.ns, "with-text", "text outside its PEM blocks: removing its last certificate deletes the key")},
		{name: "a CRLF key with a CRL, by fingerprint", args: f.args("remove", "--secret", "crlf-crl", "--fingerprint", certificate.Fingerprint(f.a.Cert)[:16]),
			code: 1, never: []string{crl}, err: ctMoreThanCertsErr(f.ns, "crlf-crl", "a X509 CRL (PEM block 2): removing its last certificate deletes the key")},
		{name: "another key: a key with a CRL is left alone (accepted, --dry-run=server)", args: f.args("remove", "--secret", "with-crl", "ca2.crt", "--dry-run=server"),
			code: 0, never: []string{crl}, stdout: []string{"removed", "ca2.crt", "kept", "ca1.crt"}, stderr: []string{"--dry-run=server"}},
		{name: "the whole key by name (accepted, --dry-run=client)", args: f.args("remove", "--secret", "with-crl", "ca1.crt", "--dry-run=client"),
			code: 0, never: []string{crl}, stdout: []string{"removed", "ca1.crt"}, stderr: []string{"--dry-run=client"}},
	}
	runBadInputs(t, f.table(rows))
}

func TestBadInputCATrustValidate(t *testing.T) {
	f := newCTBadFixture(t, "catrust-bad-validate-")
	admin := framework.Shared(t).Clientset()
	now := time.Now()
	leaf := certtest.New(t, certtest.Template{CommonName: "registry.example"}, f.a)
	expired := certtest.New(t, certtest.Template{CommonName: "old-root", IsCA: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, nil)
	soon := certtest.New(t, certtest.Template{CommonName: "soon-root", IsCA: true, NotAfter: now.Add(3 * 24 * time.Hour)}, nil)
	warn := certtest.New(t, certtest.Template{CommonName: "warn-root", IsCA: true, NotAfter: now.Add(20 * 24 * time.Hour)}, nil)
	crlf := func(p []byte) []byte { return bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n")) }
	b64 := func(p []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(p)) }
	eleven := map[string][]byte{}
	for i := 1; i <= 11; i++ {
		eleven[fmt.Sprintf("ca%d.crt", i)] = certtest.CA(t, fmt.Sprintf("validate-many-%d", i)).PEM()
	}
	secrets := map[string]struct {
		typ  corev1.SecretType
		data map[string][]byte
	}{
		"crlf":        {"", map[string][]byte{"ca1.crt": crlf(f.a.PEM())}},
		"b64b64":      {"", map[string][]byte{"ca1.crt": b64(f.a.PEM())}},
		"der":         {"", map[string][]byte{"ca1.crt": f.a.Cert.Raw}},
		"text":        {"", map[string][]byte{"ca1.crt": []byte("issuer=CN = root-a\n")}},
		"unparseable": {"", map[string][]byte{"ca1.crt": f.a.PEM()[:200]}},
		"leaf":        {"", map[string][]byte{"ca1.crt": leaf.PEM()}},
		"expired":     {"", map[string][]byte{"ca1.crt": expired.PEM()}},
		"soon":        {"", map[string][]byte{"ca1.crt": soon.PEM()}},
		"warn":        {"", map[string][]byte{"ca1.crt": warn.PEM()}},
		"dup":         {"", map[string][]byte{"ca1.crt": f.a.PEM(), "ca2.crt": f.b.PEM(), "ca3.crt": f.a.PEM()}},
		"eleven":      {"", eleven},
		"tls":         {"example.com/ca-bundle", map[string][]byte{"ca1.crt": f.a.PEM()}},
		"key":         {"", map[string][]byte{"ca1.crt": append(f.a.PEM(), f.keyPEM...), "password": []byte(f.token)}},
		"empty":       {"", map[string][]byte{"password": []byte(f.token)}},
	}
	for name, s := range secrets {
		ctPutSecret(t, admin, f.ns, "trust-"+name, s.typ, s.data)
	}
	sec := func(name string, args ...string) []string {
		return f.args("validate", append([]string{"--secret", "trust-" + name}, args...)...)
	}
	good := append(append(f.a.PEM(), '\n'), f.b.PEM()...)
	bundle := func(name string, data []byte) string { return writeFile(t, f.dir, name, data) }
	manifest := func(name, body string) string {
		return writeFile(t, f.dir, name, []byte("apiVersion: v1\nkind: Secret\n"+body))
	}
	meta := "metadata:\n  name: " + ctSecretName + "\n  namespace: kube-system\ntype: Opaque\n"
	b64s := func(p []byte) string { return base64.StdEncoding.EncodeToString(p) }
	mKey := manifest("key.yaml", meta+"data:\n  ca1.crt: "+b64s(append(f.a.PEM(), f.keyPEM...))+"\n")
	mStringKey := manifest("stringdata-key.yaml", meta+"stringData:\n  ca1.crt: |\n"+ctIndent(string(f.keyPEM), "    "))
	mPassword := manifest("password.yaml", meta+"data:\n  ca1.crt: "+b64s(f.a.PEM())+"\n  password: "+b64s([]byte(f.token))+"\n")
	mNotCert := manifest("not-cert.yaml", meta+"stringData:\n  ca1.crt: "+f.token+"\n")
	mNotB64 := manifest("not-b64.yaml", meta+"data:\n  ca1.crt: "+f.token+"!\n")
	mWrong := manifest("wrong.yaml", "metadata:\n  name: ca-trust\n  namespace: default\ntype: kubernetes.io/tls\ndata:\n  ca1.crt: "+b64s(f.a.PEM())+"\n")
	mNoNS := manifest("no-ns.yaml", "metadata:\n  name: "+ctSecretName+"\ndata:\n  ca1.crt: "+b64s(f.a.PEM())+"\n")
	mB64B64 := manifest("b64b64.yaml", meta+"data:\n  ca1.crt: "+b64s(b64(f.a.PEM()))+"\n")
	mCRLF := manifest("crlf.yaml", meta+"data:\n  ca1.crt: "+b64s(crlf(f.a.PEM()))+"\n")
	configMap := writeFile(t, f.dir, "configmap.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  ca1.crt: x\n"))
	notYAML := writeFile(t, f.dir, "not.yaml", []byte("{\"apiVersion\": \"v1\", \"kind\": \n"))

	rows := []badInput{
		// The secret in the cluster: each problem of the list.
		{name: "secret: CRLF", args: sec("crlf"), code: 1, stdout: []string{"ca1.crt", "CRLF"}},
		{name: "secret: base64 of base64", args: sec("b64b64"), code: 1, stdout: []string{"ca1.crt", "Base64Encoded"}},
		{name: "secret: not PEM (DER)", args: sec("der"), code: 1, stdout: []string{"ca1.crt", "NotPEM"}},
		{name: "secret: not PEM (text)", args: sec("text"), code: 1, stdout: []string{"ca1.crt", "NotPEM"}},
		{name: "secret: does not parse", args: sec("unparseable"), code: 1, stdout: []string{"ca1.crt", "Unparseable"}},
		{name: "secret: not a CA", args: sec("leaf"), code: 1, stdout: []string{"ca1.crt", "NotCA", "CN=registry.example"}},
		{name: "secret: expired", args: sec("expired"), code: 3, stdout: []string{"ca1.crt", "Expired", "CN=old-root"}},
		{name: "secret: expiring within 7d", args: sec("soon"), code: 3, stdout: []string{"ca1.crt", "Expiring", "CN=soon-root"}},
		{name: "secret: expiring within 30d", args: sec("warn"), code: 2, stdout: []string{"ca1.crt", "Expiring", "CN=warn-root"}},
		{name: "secret: duplicates", args: sec("dup"), code: 1, stdout: []string{"ca3.crt", "Duplicate", "ca1.crt"}},
		{name: "secret: more than 10", args: sec("eleven"), code: 1, stdout: []string{"TooMany", "11 certificates, over --max 10"}},
		{name: "secret: more than --max 11 allows", args: sec("eleven", "--max", "11"), code: 0, stderr: []string{"note: secret/" + f.ns + "/trust-eleven: 11 certificates, no problems found"}},
		{name: "secret: wrong type", args: sec("tls"), code: 1, stdout: []string{"WrongType", "example.com/ca-bundle"}},
		{name: "secret: a private key and a password", args: sec("key"), code: 1, stdout: []string{"ca1.crt", "PrivateKey", "password", "NotCertificateKey"}},
		{name: "secret: no certificate keys", args: sec("empty"), code: 0, stdout: []string{"NoCertificates"}},
		{name: "secret: a private key, as JSON", args: sec("key", "-o", "json"), code: 1, stdout: []string{`"PrivateKey"`}},
		{name: "a TLS secret", args: f.args("validate", "--secret", "tls-secret"), code: 1, stdout: []string{"WrongType", "NotCA", "tls.key", "NotCertificateKey"}},
		{name: "a secret that does not exist", args: f.args("validate", "--secret", "no-such-secret"), code: 1, err: "secret " + f.ns + "/no-such-secret not found"},
		{name: "a namespace that does not exist", args: append(ctDefaultArgs("validate"), "-n", "no-such-namespace"), code: 1,
			err: "secret no-such-namespace/" + ctSecretName + " not found"},
		{name: "--secret not a name", args: f.args("validate", "--secret", "a..b"), code: 1, err: `--secret "a..b"`},
		{name: "--namespace not a name", args: append(ctDefaultArgs("validate"), "-n", "UPPER"), code: 1, err: `--namespace "UPPER"`},
		{name: "forbidden", args: f.args("validate"), kubeconfig: f.nobody, code: 1, err: ctForbidden(f.ns)},
		{name: "default secret: does not exist", args: ctDefaultArgs("validate"), code: 1, err: "secret kube-system/" + ctSecretName + " not found"},

		// A bundle file.
		{name: "file: CRLF", args: f.args("validate", "--file", bundle("crlf.pem", crlf(good))), code: 1, stdout: []string{"file", "CRLF"}},
		{name: "file: base64 of the bundle", args: f.args("validate", "--file", bundle("b64.pem", b64(good))), code: 1, stdout: []string{"file", "Base64Encoded"}},
		{name: "file: no blank line between blocks", args: f.args("validate", "--file", bundle("tight.pem", append(f.a.PEM(), f.b.PEM()...))), code: 1,
			stdout: []string{"file", "Layout"}},
		{name: "file: DER", args: f.args("validate", "--file", f.bDER), code: 1, stdout: []string{"file", "NotPEM"}},
		{name: "file: text", args: f.args("validate", "--file", f.garbage), code: 1, stdout: []string{"file", "NotPEM"}},
		{name: "file: empty", args: f.args("validate", "--file", f.empty), code: 1, stdout: []string{"file", "Empty"}},
		{name: "file: truncated", args: f.args("validate", "--file", f.truncated), code: 1, stdout: []string{"file", "Unparseable"}},
		{name: "file: a private key", args: f.args("validate", "--file", f.certAndKey), code: 1, stdout: []string{"file", "PrivateKey"}},
		{name: "file: only a private key", args: f.args("validate", "--file", f.key), code: 1, stdout: []string{"file", "PrivateKey"}},
		{name: "file: a base64 private key", args: f.args("validate", "--file", f.b64Key), code: 1, stdout: []string{"file", "PrivateKey"}},
		{name: "file: an EC PRIVATE KEY", args: f.args("validate", "--file", f.ecKey), code: 1, stdout: []string{"file", "PrivateKey"}},
		{name: "file: a leaf", args: f.args("validate", "--file", f.leaf), code: 1, stdout: []string{"#1", "NotCA"}},
		{name: "file: expired", args: f.args("validate", "--file", f.expired), code: 3, stdout: []string{"#1", "Expired"}},
		{name: "file: duplicates", args: f.args("validate", "--file", bundle("dup.pem", append(append(good, '\n'), f.a.PEM()...))), code: 1,
			stdout: []string{"#3", "Duplicate"}},
		{name: "file: more than 10", args: f.args("validate", "--file", f.eleven), code: 1, stdout: []string{"TooMany"}},
		{name: "file: garbage on stdin", args: f.args("validate", "--file", "-"), stdin: []byte("\x00\x01garbage\xff"), code: 1, stdout: []string{"file"}},
		{name: "file: a private key on stdin", args: f.args("validate", "--file", "-"), stdin: f.keyPEM, code: 1, stdout: []string{"PrivateKey"}},
		{name: "file: missing", args: f.args("validate", "--file", f.missing), code: 1, err: f.missing + ": no such file or directory"},
		{name: "file: a directory", args: f.args("validate", "--file", f.adir), code: 1, err: f.adir + ": is a directory"},
		{name: "file: over 8 MiB", args: f.args("validate", "--file", f.big), code: 1, err: f.big + ": over the 8388608-byte limit"},
		{name: "file: the node-pool format", args: f.args("validate", "--file", f.ab), code: 0, stderr: []string{"note: " + f.ab + ": 2 certificates, no problems found"}},

		// A Secret manifest.
		{name: "manifest: a private key in data", args: ctDefaultArgs("validate", "-f", mKey), code: 1, stdout: []string{"data.ca1.crt", "PrivateKey"}},
		{name: "manifest: a private key in stringData", args: ctDefaultArgs("validate", "-f", mStringKey), code: 1, stdout: []string{"stringData.ca1.crt", "PrivateKey"}},
		{name: "manifest: a password", args: ctDefaultArgs("validate", "-f", mPassword), code: 0, stdout: []string{"data.password", "NotCertificateKey"}},
		{name: "manifest: a value that is not a certificate", args: ctDefaultArgs("validate", "-f", mNotCert), code: 1,
			stdout: []string{"stringData.ca1.crt", "does not hold a readable certificate"}},
		{name: "manifest: a value that is not base64", args: ctDefaultArgs("validate", "-f", mNotB64), code: 1, stdout: []string{"data.ca1.crt", "NotBase64"}},
		{name: "manifest: wrong name, namespace and type", args: f.args("validate", "-f", mWrong), code: 1,
			stdout: []string{"WrongName", "WrongNamespace", "WrongType"}},
		{name: "manifest: no namespace", args: ctDefaultArgs("validate", "-f", mNoNS), code: 1, stdout: []string{"metadata.namespace", "WrongNamespace"}},
		{name: "manifest: base64 of base64", args: ctDefaultArgs("validate", "-f", mB64B64), code: 1, stdout: []string{"data.ca1.crt", "Base64Encoded"}},
		{name: "manifest: CRLF", args: ctDefaultArgs("validate", "-f", mCRLF), code: 1, stdout: []string{"data.ca1.crt", "CRLF"}},
		{name: "manifest: not a Secret", args: f.args("validate", "-f", configMap), code: 1, stdout: []string{"NotASecret"}},
		{name: "manifest: not YAML", args: f.args("validate", "-f", notYAML), code: 1, err: notYAML + ": not a YAML or JSON manifest"},
		{name: "manifest: text", args: f.args("validate", "-f", f.garbage), code: 1, err: f.garbage + ": not a YAML or JSON manifest"},
		{name: "manifest: empty", args: f.args("validate", "-f", f.empty), code: 1, err: f.empty + ": empty"},
		{name: "manifest: a PEM file", args: f.args("validate", "-f", f.certAndKey), code: 1, err: f.certAndKey + ": "},
		{name: "manifest: garbage on stdin", args: f.args("validate", "-f", "-"), stdin: []byte("\x00\x01garbage\xff"), code: 1, err: "stdin: "},
		{name: "manifest: missing", args: f.args("validate", "-f", f.missing), code: 1, err: f.missing + ": no such file or directory"},
		{name: "manifest: a directory", args: f.args("validate", "-f", f.adir), code: 1, err: f.adir + ": is a directory"},

		// Flags.
		{name: "--file and -f", args: f.args("validate", "--file", f.ab, "-f", mKey), code: 1, err: "--file and -f/--filename exclude each other"},
		{name: "an argument", args: f.args("validate", f.ab), code: 1, err: `unexpected argument "` + f.ab + `"`},
		{name: "--max 0", args: f.args("validate", "--max", "0"), code: 1, err: "--max 0: must be at least 1"},
		{name: "--max -1", args: f.args("validate", "--max", "-1"), code: 1, err: "--max -1: must be at least 1"},
		{name: "--max abc", args: f.args("validate", "--max", "abc"), code: 1, err: `invalid argument "abc" for "--max" flag`},
		{name: "--warn-within 30 parsecs", args: f.args("validate", "--warn-within", "30parsecs"), code: 1, err: `invalid argument "30parsecs" for "--warn-within" flag`},
		{name: "--critical-within -1d", args: f.args("validate", "--critical-within", "-1d"), code: 1, err: "--critical-within"},
		{name: "-o bogus", args: f.args("validate", "-o", "bogus"), code: 1, err: `--output "bogus"`},
		{name: "-o jsonpath unterminated", args: f.args("validate", "--file", f.ab, "-o", "jsonpath={.problems[0"), code: 1,
			err: `--output "jsonpath={.problems[0": error parsing jsonpath`},
		{name: "-o jsonpath-file missing", args: f.args("validate", "--file", f.ab, "-o", "jsonpath-file="+f.missing), code: 1,
			err: `--output "jsonpath-file=` + f.missing + `": cannot read the template file: no such file or directory`},
		{name: "--request-timeout abc", args: f.args("validate", "--request-timeout", "abc"), code: 1, err: `--request-timeout "abc"`},
	}
	runBadInputs(t, f.table(rows))
}

func TestBadInputCATrustExport(t *testing.T) {
	f := newCTBadFixture(t, "catrust-bad-export-")
	admin := framework.Shared(t).Clientset()
	ctPutSecret(t, admin, f.ns, "with-garbage", "", map[string][]byte{"ca1.crt": f.a.PEM(), "ca2.crt": []byte("garbage")})
	ctPutSecret(t, admin, f.ns, "no-certs", "", map[string][]byte{"password": []byte(f.token)})
	eleven := map[string][]byte{}
	for i := 1; i <= 11; i++ {
		eleven[fmt.Sprintf("ca%d.crt", i)] = certtest.CA(t, fmt.Sprintf("export-many-%d", i)).PEM()
	}
	ctPutSecret(t, admin, f.ns, "eleven", "", eleven)
	out := t.TempDir()
	existing := writeFile(t, out, "cas.pem", []byte("the bundle of yesterday\n"))
	missingDir := filepath.Join(out, "no-such-dir", "cas.pem")
	intoDir := filepath.Join(out, "a-directory")
	if err := os.Mkdir(intoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ref := f.secretRef()
	rows := []badInput{
		{name: "--output-file into a missing directory", args: f.args("export", "--output-file", missingDir), code: 1,
			err: "--output-file " + missingDir + ": directory " + filepath.Dir(missingDir) + " does not exist; nothing was written"},
		{name: "--output-file a directory", args: f.args("export", "--output-file", intoDir), code: 1, err: "--output-file " + intoDir + ": is a directory"},
		{name: "--output-file empty", args: f.args("export", "--output-file="), code: 0, stdout: []string{string(f.a.PEM())}},
		{name: "--output-file - (standard output)", args: f.args("export", "--output-file", "-"), code: 0, stdout: []string{string(f.a.PEM())}},
		{name: "--output-file under a file", args: f.args("export", "--output-file", filepath.Join(existing, "cas.pem")), code: 1,
			err: "--output-file " + filepath.Join(existing, "cas.pem") + ": " + existing + " is not a directory"},
		{name: "--request-timeout abc", args: f.args("export", "--request-timeout", "abc"), code: 1, err: `--request-timeout "abc"`},
		{name: "-v=9", args: f.args("export", "-v=9"), code: 0, stdout: []string{string(f.b.PEM())}, extraStderr: ctKlogLines},
		{name: "-o yaml: not a flag of export", args: f.args("export", "-o", "yaml"), code: 1, err: "unknown shorthand flag: 'o'"},
		{name: "a secret that does not exist", args: f.args("export", "--secret", "no-such-secret", "--output-file", existing), code: 1,
			err: "secret " + f.ns + "/no-such-secret not found"},
		{name: "a namespace that does not exist", args: append(ctDefaultArgs("export", "--output-file", existing), "-n", "no-such-namespace"), code: 1,
			err: "secret no-such-namespace/" + ctSecretName + " not found"},
		{name: "a key that does not parse", args: f.args("export", "--secret", "with-garbage", "--output-file", existing), code: 1,
			err: "secret " + f.ns + "/with-garbage key ca2.crt does not hold a readable certificate"},
		{name: "no certificates", args: f.args("export", "--secret", "no-certs", "--output-file", existing), code: 1,
			err: "secret " + f.ns + "/no-certs holds no certificates"},
		{name: "more than 10", args: f.args("export", "--secret", "eleven", "--output-file", existing), code: 1,
			err: "secret " + f.ns + "/eleven holds 11 certificates, over --max 10"},
		{name: "more than --max 1", args: f.args("export", "--max", "1"), code: 1, err: ref + " holds 2 certificates, over --max 1"},
		{name: "--max 0", args: f.args("export", "--max", "0"), code: 1, err: "--max 0: must be at least 1"},
		{name: "--max -1", args: f.args("export", "--max", "-1"), code: 1, err: "--max -1: must be at least 1"},
		{name: "--max abc", args: f.args("export", "--max", "abc"), code: 1, err: `invalid argument "abc" for "--max" flag`},
		{name: "--secret not a name", args: f.args("export", "--secret", "x_y"), code: 1, err: `--secret "x_y"`},
		{name: "--namespace not a name", args: append(ctDefaultArgs("export"), "-n", "ns."), code: 1, err: `--namespace "ns."`},
		{name: "an argument", args: f.args("export", existing), code: 1, err: `unexpected argument "` + existing + `"`},
		{name: "forbidden", args: f.args("export", "--output-file", existing), kubeconfig: f.nobody, code: 1, err: ctForbidden(f.ns)},
		{name: "default secret: does not exist", args: ctDefaultArgs("export", "--output-file", existing), code: 1,
			err: "secret kube-system/" + ctSecretName + " not found"},
		{name: "the bundle (what could be checked)", args: f.args("export"), code: 0, stdout: []string{string(f.a.PEM()) + "\n" + string(f.b.PEM())}},
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	runBadInputs(t, f.table(rows, out, filepath.Join(cwd, "-")))
}

func TestBadInputCATrustSync(t *testing.T) {
	f := newCTBadFixture(t, "catrust-bad-sync-")
	crl := f.ctMoreThanCerts(t)
	ref := f.secretRef()
	rows := []badInput{
		{name: "a private key", args: f.args("sync", f.key), code: 1, err: f.key + ": holds a private key; refused"},
		{name: "a certificate with its key", args: f.args("sync", f.certAndKey, "--prune"), code: 1, err: f.certAndKey + ": holds a private key; refused"},
		{name: "a private key on stdin", args: f.args("sync", "-"), stdin: append(f.a.PEM(), f.keyPEM...), code: 1, err: "stdin: holds a private key; refused"},
		{name: "a base64-encoded private key", args: f.args("sync", f.b64Key), code: 1, err: f.b64Key + ": holds a private key; refused"},
		{name: "an EC PRIVATE KEY", args: f.args("sync", f.ecKey, "--allow-non-ca"), code: 1, err: f.ecKey + ": holds a private key; refused"},
		{name: "a TLS secret", args: f.args("sync", f.fresh, "--secret", "tls-secret"), code: 1,
			err: "secret " + f.ns + "/tls-secret is of type kubernetes.io/tls, not Opaque"},
		{name: "an empty file", args: f.args("sync", f.empty, "--prune"), code: 1, err: f.empty + ": empty: no certificate found"},
		{name: "a missing file", args: f.args("sync", f.missing), code: 1, err: f.missing + ": no such file or directory"},
		{name: "a directory", args: f.args("sync", f.adir), code: 1, err: f.adir + ": is a directory"},
		{name: "text", args: f.args("sync", f.garbage), code: 1, err: f.garbage + ": text without a PEM block"},
		{name: "truncated", args: f.args("sync", f.truncated), code: 1, err: f.truncated + ": "},
		{name: "over 8 MiB", args: f.args("sync", f.big), code: 1, err: f.big + ": over the 8388608-byte limit"},
		{name: "garbage on stdin", args: f.args("sync", "-", "--prune"), stdin: []byte("\x00\x01garbage\xff"), code: 1, err: "stdin: "},
		{name: "a leaf", args: f.args("sync", f.leaf), code: 1, err: f.leaf + ": CN=registry.example is not a CA"},
		{name: "an expired CA", args: f.args("sync", f.expired), code: 1, err: f.expired + ": CN=old-root expired on "},
		{name: "11 certificates with --prune", args: f.args("sync", f.eleven, "--prune"), code: 1, err: ref + " would hold 11 certificates, over --max 10"},
		{name: "9 more without --prune", args: f.args("sync", f.nine), code: 1, err: ref + " would hold 11 certificates, over --max 10"},
		{name: "no FILE", args: f.args("sync"), code: 1, err: "give one bundle FILE"},
		{name: "two FILEs", args: f.args("sync", f.ab, f.fresh), code: 1, err: "give one bundle FILE"},
		{name: "--max 0", args: f.args("sync", f.ab, "--max", "0"), code: 1, err: "--max 0: must be at least 1"},
		{name: "--max -1", args: f.args("sync", f.ab, "--max", "-1"), code: 1, err: "--max -1: must be at least 1"},
		{name: "--max abc", args: f.args("sync", f.ab, "--max", "abc"), code: 1, err: `invalid argument "abc" for "--max" flag`},
		{name: "--prune=maybe", args: f.args("sync", f.ab, "--prune=maybe"), code: 1, err: `invalid argument "maybe" for "--prune" flag`},
		{name: "--secret not a name", args: f.args("sync", f.ab, "--secret", "ca/trust"), code: 1, err: `--secret "ca/trust"`},
		{name: "--namespace not a name", args: append(ctDefaultArgs("sync", f.ab), "-n", "kube_system"), code: 1, err: `--namespace "kube_system"`},
		{name: "a namespace that does not exist", args: append(ctDefaultArgs("sync", f.ab), "-n", "no-such-namespace"), code: 1,
			err: `secret no-such-namespace/` + ctSecretName + `: namespace "no-such-namespace" not found`, never: []string{"added"}},
		{name: "--dry-run bogus", args: f.args("sync", f.ab, "--dry-run=yes"), code: 1, err: "--dry-run: Invalid dry-run value (yes)"},
		{name: "forbidden to read", args: f.args("sync", f.fresh), kubeconfig: f.nobody, code: 1, err: ctForbidden(f.ns)},
		{name: "forbidden to update", args: f.args("sync", f.fresh, "--prune"), kubeconfig: f.reader, code: 1, err: ctForbiddenVerb(f.ns, "update"),
			stdout: []string{"added", "removed"}},
		{name: "default secret: a private key", args: ctDefaultArgs("sync", f.certAndKey), code: 1, err: f.certAndKey + ": holds a private key; refused"},
		{name: "default secret: a leaf", args: ctDefaultArgs("sync", f.leaf, "--prune"), code: 1, err: f.leaf + ": CN=registry.example is not a CA"},
		// Accepted without a change: the secret's own CAs.
		{name: "the same CAs (nothing to change)", args: f.args("sync", f.ab, "--prune"), code: 0, stdout: []string{"kept", "ca1.crt", "ca2.crt"},
			stderr: []string{"nothing to change"}},
		{name: "CRLF (accepted)", args: f.args("sync", f.aCRLF), code: 0, stdout: []string{"kept"}, stderr: []string{"CRLF line endings; stored with LF", "nothing to change"}},
		{name: "DER (accepted)", args: f.args("sync", f.bDER), code: 0, stdout: []string{"kept"}, stderr: []string{"DER; stored as PEM", "nothing to change"}},
		{name: "--prune under --dry-run=server", args: f.args("sync", f.fresh, "--prune", "--dry-run=server"), code: 0,
			stdout: []string{"added", "removed", "ca1.crt", "ca2.crt"}, stderr: []string{"--dry-run=server: " + ref + " was not written"}},

		// Issue 15: sync re-encodes as add does and prunes as remove does,
		// each keeping a key's certificates only: refused for a key
		// holding more; no plan is printed.
		{name: "re-encoding a CRLF key that also holds a CRL", args: f.args("sync", "--secret", "crlf-crl", f.ab), code: 1, never: []string{crl, "kept"},
			err: ctMoreThanCertsErr(f.ns, "crlf-crl", "a X509 CRL (PEM block 2): rewriting it as PEM (it is stored with CRLF line endings) keeps its certificates only")},
		{name: "re-encoding a base64 key with text outside its blocks, --prune under --dry-run=server", args: f.args("sync", "--secret", "b64-text", f.ab, "--prune", "--dry-run=server"),
			code: 1, never: []string{"kept"}, err: ctMoreThanCertsErr(f.ns, "b64-text", "text outside its PEM blocks: rewriting it as PEM (it is stored as base64 of PEM)")},
		{name: "--prune of one of two certificates of a key that also holds a CRL", args: f.args("sync", "--secret", "with-crl", f.ab, "--prune"), code: 1, never: []string{crl, "removed"},
			err: ctMoreThanCertsErr(f.ns, "with-crl", "a X509 CRL (PEM block 3): pruning a certificate from it rewrites it with its other certificates only, which would lose it")},
		{name: "--prune of every certificate of a key that also holds a CRL", args: f.args("sync", "--secret", "with-crl", f.fresh, "--prune", "--dry-run=client"),
			code: 1, never: []string{crl, "removed"}, err: ctMoreThanCertsErr(f.ns, "with-crl", "a X509 CRL (PEM block 3): pruning its 2 certificates deletes the key")},
		{name: "a key with a CRL that is not rewritten (accepted, nothing to change)", args: f.args("sync", "--secret", "with-crl", f.ab), code: 0,
			never: []string{crl}, stdout: []string{"kept", "ca1.crt"}, stderr: []string{"nothing to change"}},
	}
	runBadInputs(t, f.table(rows))
}
