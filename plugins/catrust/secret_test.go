package catrust

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	k8stesting "k8s.io/client-go/testing"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

func TestKeyOrderAndNextFreeKey(t *testing.T) {
	data := map[string][]byte{"ca10.crt": nil, "ca2.crt": nil, "root.crt": nil, "ca1.crt": nil, "token": nil, "ca01.crt": nil}
	if got, want := certKeys(data), []string{"ca1.crt", "ca2.crt", "ca10.crt", "ca01.crt", "root.crt"}; !reflect.DeepEqual(got, want) {
		t.Errorf("certKeys = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		keys []string
		want string
	}{
		{nil, "ca1.crt"},
		{[]string{"ca1.crt", "ca2.crt"}, "ca3.crt"},
		{[]string{"ca1.crt", "ca3.crt"}, "ca2.crt"},
		{[]string{"ca2.crt", "token"}, "ca1.crt"},
	} {
		d := map[string][]byte{}
		for _, k := range tt.keys {
			d[k] = []byte("x")
		}
		if got := nextFreeKey(d); got != tt.want {
			t.Errorf("nextFreeKey(%v) = %s, want %s", tt.keys, got, tt.want)
		}
	}
}

// addKey is a mutation that stores value under key, as add does.
func addKey(key, value string) mutation {
	return func(current *corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
		s := (&secretOptions{ref: api.CATrustSecretRef{Namespace: DefaultNamespace, Name: DefaultSecretName}}).baseSecret(current)
		s.Data[key] = []byte(value)
		return s, &api.CATrustChange{Added: []api.CATrustChangeItem{{Key: key}}}, nil
	}
}

func testSecretOptions(c kubernetes.Interface) *secretOptions {
	return &secretOptions{
		ref:       api.CATrustSecretRef{Namespace: DefaultNamespace, Name: DefaultSecretName},
		newClient: func() (kubernetes.Interface, error) { return c, nil },
		now:       func() time.Time { return fixedNow },
	}
}

// fastRetries makes the retry backoff instant for the test.
func fastRetries(t *testing.T) {
	saved := writeBackoff
	writeBackoff = wait.Backoff{Steps: 5, Duration: time.Millisecond}
	t.Cleanup(func() { writeBackoff = saved })
}

// TestApplyAPICalls pins the API calls of a read-modify-write: the update
// carries the resourceVersion read; a Conflict or AlreadyExists re-reads and
// re-applies; a dry run writes nothing (client) or asks the server not to
// persist (server); a failed mutation writes nothing.
func TestApplyAPICalls(t *testing.T) {
	fastRetries(t)
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, DefaultSecretName, errors.New("the object has been modified"))
	exists := apierrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, DefaultSecretName)
	for _, tt := range []struct {
		name     string
		existing *corev1.Secret
		dryRun   cmdutil.DryRunStrategy
		// failFirst makes the first call of this verb fail with err, and
		// before that stores race (another writer's secret).
		failFirst string
		err       error
		race      *corev1.Secret
		m         mutation
		want      []string
		wantErr   string
		wantKeys  string
	}{
		{name: "update with the resourceVersion read", existing: trustSecret(map[string][]byte{"token": []byte("x")}),
			m: addKey("ca1.crt", "A"), want: []string{"get secrets", "update secrets rv=7"}, wantKeys: "ca1.crt,token"},
		{name: "create when missing", m: addKey("ca1.crt", "A"),
			want: []string{"get secrets", "create secrets"}, wantKeys: "ca1.crt"},
		{name: "conflict: re-read and re-apply", existing: trustSecret(map[string][]byte{}),
			failFirst: "update", err: conflict, race: trustSecret(map[string][]byte{"ca1.crt": []byte("B")}),
			m: func(c *corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
				return addKey(nextFreeKey(dataOf(c)), "A")(c)
			},
			want: []string{"get secrets", "update secrets rv=7", "get secrets", "update secrets rv=8"}, wantKeys: "ca1.crt,ca2.crt"},
		{name: "both create: AlreadyExists is a conflict too",
			failFirst: "create", err: exists, race: trustSecret(map[string][]byte{"ca1.crt": []byte("B")}),
			m: func(c *corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
				return addKey(nextFreeKey(dataOf(c)), "A")(c)
			},
			want: []string{"get secrets", "create secrets", "get secrets", "update secrets rv=8"}, wantKeys: "ca1.crt,ca2.crt"},
		{name: "other errors are not retried", existing: trustSecret(map[string][]byte{}),
			failFirst: "update", err: apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, DefaultSecretName, errors.New("no")),
			m: addKey("ca1.crt", "A"), want: []string{"get secrets", "update secrets rv=7"}, wantErr: "secret kube-system/custom-ca-trust-secret: secrets \"custom-ca-trust-secret\" is forbidden"},
		{name: "client dry run reads only", existing: trustSecret(map[string][]byte{}), dryRun: cmdutil.DryRunClient,
			m: addKey("ca1.crt", "A"), want: []string{"get secrets"}, wantKeys: ""},
		{name: "server dry run", existing: trustSecret(map[string][]byte{}), dryRun: cmdutil.DryRunServer,
			m: addKey("ca1.crt", "A"), want: []string{"get secrets", "update secrets rv=7 dryRun=All"}},
		{name: "a failed mutation writes nothing", existing: trustSecret(map[string][]byte{}),
			m: func(*corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
				return nil, nil, errors.New("ca.pem: not a CA")
			}, want: []string{"get secrets"}, wantErr: "ca.pem: not a CA", wantKeys: ""},
		{name: "nothing to change: no write", existing: trustSecret(map[string][]byte{}),
			m: func(c *corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
				return c, &api.CATrustChange{}, nil
			}, want: []string{"get secrets"}, wantKeys: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c = fakeClient()
			if tt.existing != nil {
				c = fakeClient(tt.existing)
			}
			failed := false
			if tt.failFirst != "" {
				c.PrependReactor(tt.failFirst, "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
					if failed {
						return false, nil, nil
					}
					failed = true
					if tt.race != nil {
						r := tt.race.DeepCopy()
						r.ResourceVersion = "8"
						if err := c.Tracker().Add(r); err != nil {
							_ = c.Tracker().Update(corev1.SchemeGroupVersion.WithResource("secrets"), r, DefaultNamespace)
						}
					}
					return true, nil, tt.err
				})
			}
			res, err := testSecretOptions(c).apply(context.Background(), tt.dryRun, tt.m)
			if got := actionsWithDryRun(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("API calls = %q, want %q", got, tt.want)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tt.wantKeys != "" || tt.name == "client dry run reads only" {
				s := getSecret(t, c)
				got := ""
				if s != nil {
					got = strings.Join(certKeys(s.Data), ",")
					if s.Data["token"] != nil {
						got += ",token"
					}
				}
				if tt.name == "client dry run reads only" && res.Secret.Data["ca1.crt"] == nil {
					t.Error("the dry run's result lacks the change")
				}
				if got != tt.wantKeys && !(tt.wantKeys == "" && got == "") {
					t.Errorf("keys stored = %q, want %q", got, tt.wantKeys)
				}
			}
			if err == nil && res.Change.Attempts != len(filter(tt.want, "get")) {
				t.Errorf("attempts = %d, want %d", res.Change.Attempts, len(filter(tt.want, "get")))
			}
		})
	}
}

// TestApplyKeepsWhatIsNotItsOwn: labels, annotations, the type and keys
// that are not certificates survive a write.
func TestApplyKeepsWhatIsNotItsOwn(t *testing.T) {
	existing := trustSecret(map[string][]byte{"token": []byte("s3cr3t-value"), "ca1.crt": []byte("A")})
	existing.Type = "example.com/custom"
	c := fakeClient(existing)
	if _, err := testSecretOptions(c).apply(context.Background(), cmdutil.DryRunNone, addKey("ca2.crt", "B")); err != nil {
		t.Fatal(err)
	}
	s := getSecret(t, c)
	if string(s.Data["token"]) != "s3cr3t-value" || string(s.Data["ca1.crt"]) != "A" || string(s.Data["ca2.crt"]) != "B" {
		t.Errorf("data = %q", s.Data)
	}
	if !reflect.DeepEqual(s.Labels, existing.Labels) || !reflect.DeepEqual(s.Annotations, existing.Annotations) || s.Type != existing.Type {
		t.Errorf("metadata changed: labels %v, annotations %v, type %s", s.Labels, s.Annotations, s.Type)
	}
}

// TestApplyGivesUp: a conflict on every attempt ends in an error naming the
// secret and the attempts.
func TestApplyGivesUp(t *testing.T) {
	fastRetries(t)
	c := fakeClient(trustSecret(map[string][]byte{}))
	c.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, DefaultSecretName, errors.New("modified"))
	})
	_, err := testSecretOptions(c).apply(context.Background(), cmdutil.DryRunNone, addKey("ca1.crt", "A"))
	if err == nil || !strings.Contains(err.Error(), "gave up after 5 attempts") || !strings.Contains(err.Error(), "secret kube-system/custom-ca-trust-secret") {
		t.Errorf("err = %v", err)
	}
}

// TestApplyRetriesPastTheCap: the delay reaching writeBackoff's Cap does not
// end the retries (as it would with wait.Backoff): every one of Steps
// attempts is made.
func TestApplyRetriesPastTheCap(t *testing.T) {
	saved := writeBackoff
	writeBackoff = wait.Backoff{Steps: 8, Duration: time.Millisecond, Factor: 2, Jitter: 0.5, Cap: 2 * time.Millisecond}
	t.Cleanup(func() { writeBackoff = saved })
	c := fakeClient(trustSecret(map[string][]byte{}))
	c.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, DefaultSecretName, errors.New("modified"))
	})
	_, err := testSecretOptions(c).apply(context.Background(), cmdutil.DryRunNone, addKey("ca1.crt", "A"))
	if err == nil || !strings.Contains(err.Error(), "gave up after 8 attempts") {
		t.Errorf("err = %v", err)
	}
	if got := len(filter(verbs(c), "update")); got != 8 {
		t.Errorf("%d updates, want 8", got)
	}
}

// TestApplyInterrupted: an interrupt while waiting to retry stops at once.
func TestApplyInterrupted(t *testing.T) {
	saved := writeBackoff
	writeBackoff = wait.Backoff{Steps: 60, Duration: time.Hour}
	t.Cleanup(func() { writeBackoff = saved })
	c := fakeClient(trustSecret(map[string][]byte{}))
	ctx, cancel := context.WithCancel(context.Background())
	c.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		cancel()
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, DefaultSecretName, errors.New("modified"))
	})
	if _, err := testSecretOptions(c).apply(ctx, cmdutil.DryRunNone, addKey("ca1.crt", "A")); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func dataOf(s *corev1.Secret) map[string][]byte {
	if s == nil {
		return map[string][]byte{}
	}
	return s.Data
}

func filter(list []string, prefix string) []string {
	var out []string
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// actionsWithDryRun is verbs plus the dry-run option of writes.
func actionsWithDryRun(c interface{ Actions() []k8stesting.Action }) []string {
	var out []string
	for _, a := range c.Actions() {
		s := a.GetVerb() + " " + a.GetResource().Resource
		var obj runtime.Object
		var dry []string
		switch x := a.(type) {
		case k8stesting.UpdateActionImpl:
			obj, dry = x.GetObject(), x.UpdateOptions.DryRun
		case k8stesting.CreateActionImpl:
			obj, dry = x.GetObject(), x.CreateOptions.DryRun
		}
		if sec, ok := obj.(*corev1.Secret); ok && sec.ResourceVersion != "" && a.GetVerb() == "update" {
			s += " rv=" + sec.ResourceVersion
		}
		if len(dry) > 0 {
			sort.Strings(dry)
			s += " dryRun=" + strings.Join(dry, ",")
		}
		out = append(out, s)
	}
	return out
}

// conflictErr is the API server's answer to an update with a stale
// resourceVersion.
func conflictErr() error {
	return apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, DefaultSecretName, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
}

// TestNamespaceDefault: the secret's namespace is -n when given, else
// kube-system, not the context's namespace.
func TestNamespaceDefault(t *testing.T) {
	tf := cmdtesting.NewTestFactory()
	defer tf.Cleanup()
	s := &secretOptions{SecretName: DefaultSecretName}
	s.complete(tf)
	if s.ref.Namespace != DefaultNamespace {
		t.Errorf("without -n: namespace %s, want kube-system", s.ref.Namespace)
	}
	tf.WithNamespace("platform")
	s.complete(tf)
	if s.ref.Namespace != "platform" || s.String() != "secret platform/custom-ca-trust-secret" {
		t.Errorf("with -n platform: %s", s)
	}
}

// TestRewriteOfMoreThanCertificatesRefused (issue 15): remove and sync
// --prune rewrite a key with the certificates left in it, or delete it when
// none is; add and sync rewrite a key nodes cannot install (CRLF, base64)
// as PEM. Each stores certificates only, so a key that holds anything else
// (a CRL, a private key, text outside its PEM blocks) would lose it: the
// command fails with one error naming the key and what it holds, never the
// content itself, and writes nothing, under --dry-run too. A key of
// certificates only is rewritten as before, and a key with more in it that
// the command does not rewrite is left as it is.
func TestRewriteOfMoreThanCertificatesRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	crl := crlPEM(t)
	const note = "db_password: hunter2-planted\n" // text outside the blocks
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	crlf := func(v []byte) []byte { return bytes.ReplaceAll(v, []byte("\n"), []byte("\r\n")) }
	b64 := func(v []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(v)) }
	c, warn := fixturePEM(t, "ca-c"), fixturePEM(t, "ca-warn")
	addWarn := filepath.Join(testdata, "ca-warn.pem")
	for name, certs := range map[string][]string{"abc.pem": {"ca-a", "ca-b", "ca-c"}, "ab.pem": {"ca-a", "ca-b"}} {
		var list []*x509.Certificate
		for _, n := range certs {
			list = append(list, fixture(t, n))
		}
		if err := os.WriteFile(name, FormatBundle(list), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// never may appear in any output: what ca3.crt holds besides certificates.
	never := []string{midLine(crl), "hunter2", "db_password", midLine([]byte(testKey))}
	const key = `key "ca3.crt" of secret kube-system/custom-ca-trust-secret holds, besides certificates, `
	onlyPEM := func(names ...string) []byte {
		var list []*x509.Certificate
		for _, n := range names {
			list = append(list, fixture(t, n))
		}
		return encodePEMs(list)
	}

	for _, tt := range []struct {
		name  string
		value []byte   // ca3.crt's; ca1.crt and ca2.crt hold ca-a and ca-b
		args  []string // the verb and its arguments
		// refused: what the error says ca3.crt holds and what the command
		// would do to it; "" when the command succeeds.
		refused string
		// after is ca3.crt once the command succeeded (nil: deleted).
		after []byte
	}{
		// remove: a certificate goes, the key is rewritten with the others.
		{name: "remove one of two certificates from a key that also holds a CRL", value: cat(c, warn, crl),
			args:    []string{"remove", "--subject", "kubecerts-trust-warn"},
			refused: "a X509 CRL (PEM block 3): removing a certificate from it rewrites it with its other certificates only, which would lose it"},
		{name: "remove the last certificate of a key that also holds a CRL", value: cat(c, crl),
			args:    []string{"remove", "--fingerprint", fp(t, "ca-c")[:16]},
			refused: "a X509 CRL (PEM block 2): removing its last certificate deletes the key, which would lose it"},
		{name: "remove from a key with text outside its PEM blocks", value: cat(c, []byte(note), warn),
			args:    []string{"remove", "--subject", "kubecerts-trust-warn"},
			refused: "text outside its PEM blocks: removing a certificate from it"},
		{name: "remove from a key that also holds a private key, under --dry-run=server", value: cat(c, []byte(testKey), warn),
			args:    []string{"remove", "--subject", "kubecerts-trust-c", "--dry-run=server"},
			refused: "a private key (PEM block 2): removing a certificate from it"},
		{name: "remove of certificates only: rewritten", value: cat(c, warn),
			args: []string{"remove", "--subject", "kubecerts-trust-warn"}, after: onlyPEM("ca-c")},
		{name: "remove from another key: a key with a CRL is left as it is", value: cat(c, crl, []byte(note)),
			args: []string{"remove", "ca1.crt"}, after: cat(c, crl, []byte(note))},
		{name: "remove by key name: the key goes, as named", value: cat(c, crl),
			args: []string{"remove", "ca3.crt"}, after: nil},

		// add: a key nodes cannot install is re-encoded as PEM.
		{name: "add, re-encoding a CRLF key that also holds a CRL", value: crlf(cat(c, crl)),
			args:    []string{"add", addWarn},
			refused: "a X509 CRL (PEM block 2): rewriting it as PEM (it is stored with CRLF line endings) keeps its certificates only, which would lose it"},
		{name: "add under --dry-run=client -o yaml, re-encoding a CRLF key that also holds a CRL", value: crlf(cat(c, crl)),
			args:    []string{"add", addWarn, "--dry-run=client", "-o", "yaml"},
			refused: "a X509 CRL (PEM block 2): rewriting it as PEM (it is stored with CRLF line endings)"},
		{name: "add, re-encoding a base64 key with text outside its PEM blocks", value: b64(cat(c, []byte(note))),
			args:    []string{"add", addWarn},
			refused: "text outside its PEM blocks: rewriting it as PEM (it is stored as base64 of PEM) keeps its certificates only, which would lose it"},
		{name: "add, re-encoding a CRLF key of certificates only: rewritten", value: crlf(cat(c, warn)),
			args: []string{"add", addWarn}, after: onlyPEM("ca-c", "ca-warn")},
		{name: "add leaves a LF key with a CRL as it is", value: cat(c, crl),
			args: []string{"add", addWarn}, after: cat(c, crl)},

		// sync: re-encoding as add does, and --prune removing as remove does.
		{name: "sync, re-encoding a CRLF key that also holds a CRL", value: crlf(cat(c, crl)),
			args:    []string{"sync", "abc.pem"},
			refused: "a X509 CRL (PEM block 2): rewriting it as PEM (it is stored with CRLF line endings)"},
		{name: "sync --prune, re-encoding a base64 key with text outside its PEM blocks", value: b64(cat(c, []byte(note))),
			args:    []string{"sync", "abc.pem", "--prune"},
			refused: "text outside its PEM blocks: rewriting it as PEM (it is stored as base64 of PEM)"},
		{name: "sync --prune of the last certificate of a key that also holds a CRL", value: cat(c, crl),
			args:    []string{"sync", "ab.pem", "--prune"},
			refused: "a X509 CRL (PEM block 2): pruning its last certificate deletes the key, which would lose it"},
		{name: "sync --prune of one of two certificates, under --dry-run=server", value: cat(c, warn, crl, []byte(note)),
			args:    []string{"sync", "abc.pem", "--prune", "--dry-run=server"},
			refused: "a X509 CRL (PEM block 3) and text outside its PEM blocks: pruning a certificate from it rewrites it with its other certificates only, which would lose them"},
		{name: "sync --prune of certificates only: rewritten", value: cat(c, warn),
			args: []string{"sync", "abc.pem", "--prune"}, after: onlyPEM("ca-c")},
		{name: "sync --prune keeps a key with a CRL whose certificates are in the file", value: cat(c, crl, []byte(note)),
			args: []string{"sync", "abc.pem", "--prune"}, after: cat(c, crl, []byte(note))},
		{name: "sync without --prune leaves a key with a CRL as it is", value: cat(c, warn, crl),
			args: []string{"sync", "ab.pem"}, after: cat(c, warn, crl)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := secretWith(t, "ca-a", "ca-b")
			s.Data["ca3.crt"] = tt.value
			cl := fakeClient(s.DeepCopy())
			cl.PrependReactor("update", "secrets", dryRunEcho)
			code, out, errOut := run(t, cl, "", tt.args[0], tt.args[1:]...)
			for _, n := range never {
				if strings.Contains(out+errOut, n) {
					t.Errorf("output shows %q, which ca3.crt holds besides certificates:\nstdout:\n%s\nstderr:\n%s", n, out, errOut)
				}
			}
			if tt.refused == "" {
				if code != 0 {
					t.Fatalf("exit %d; stderr:\n%s", code, errOut)
				}
				if got, ok := getSecret(t, cl).Data["ca3.crt"]; !bytes.Equal(got, tt.after) || ok != (tt.after != nil) {
					t.Errorf("ca3.crt = %q, want %q", got, tt.after)
				}
				return
			}
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			if code != 1 || out != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], "error: "+key+tt.refused) ||
				!strings.HasSuffix(lines[0], "; edit the key by hand so that it holds certificates only "+
					"(move the rest to a key whose name does not end in .crt, which ca-trust leaves alone), then run this again; nothing was written") {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant 1, no output and one line: error: %s%s…", code, out, errOut, key, tt.refused)
			}
			for _, v := range verbs(cl) {
				if v != "get secrets" {
					t.Errorf("API call %s: a refused rewrite must write nothing, not even a dry run", v)
				}
			}
			if got := getSecret(t, cl); !reflect.DeepEqual(got.Data, s.Data) {
				t.Errorf("the secret changed: %v", keysOf(got))
			}
		})
	}
}

// crlPEM is a CRL (an X509 CRL PEM block), signed by a CA of its own.
func crlPEM(t *testing.T) []byte {
	t.Helper()
	ca := certtest.CA(t, "kubecerts-crl-issuer")
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: fixedNow, NextUpdate: fixedNow.Add(24 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(42), RevocationTime: fixedNow}},
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// midLine is a line from the middle of a PEM block: if it shows up in
// output, the block was printed.
func midLine(p []byte) string {
	lines := strings.Split(strings.TrimSpace(string(p)), "\n")
	return lines[len(lines)/2]
}
