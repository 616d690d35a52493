package e2e_test

// The bad-input tables of kubectl rotate renew, ca stage, ca verify, sa-key,
// kubeconfig and plan (issue 9; harness in badinput_test.go). Each table
// works on copies of the test cluster's kubeadm-layout PKI in t.TempDir(),
// never on the live one, which is in every table's disk snapshot too.

import (
	"crypto/x509/pkix"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/shared/pki"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// rbWork is the scratch tree of one table: a copy of the cluster's PKI
// (live), the keys planted there, and where the variants go.
type rbWork struct {
	c    *framework.Cluster
	dir  string // t.TempDir(): every row's files are under it
	live string // dir/etc/kubernetes/pki, a copy of c.PKIDir
	// never are the bodies of the private keys of live: no output may show
	// them.
	never []string
}

// rbSetup copies the cluster's PKI into a new scratch tree laid out like a
// kubeadm node (etc/kubernetes/pki, etc/kubernetes/admin.conf).
func rbSetup(t *testing.T) *rbWork {
	t.Helper()
	c := framework.Shared(t)
	w := &rbWork{c: c, dir: t.TempDir()}
	w.live = filepath.Join(w.dir, "etc", "kubernetes", "pki")
	rbCopyTree(t, c.PKIDir, w.live)
	admin, err := os.ReadFile(c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	writePath(t, filepath.Join(w.dir, "etc", "kubernetes", "admin.conf"), admin, 0o600)
	for _, k := range []string{"ca.key", "front-proxy-ca.key", "etcd/ca.key", "sa.key", "apiserver.key"} {
		data, err := os.ReadFile(filepath.Join(w.live, k))
		if err != nil {
			t.Fatal(err)
		}
		w.never = append(w.never, keyBody(data))
	}
	return w
}

// path is a path under the scratch tree.
func (w *rbWork) path(rel ...string) string {
	return filepath.Join(append([]string{w.dir}, rel...)...)
}

// variant copies the live PKI to dir/name and applies change to the copy.
func (w *rbWork) variant(t *testing.T, name string, change func(dir string)) string {
	t.Helper()
	dir := w.path("variants", name)
	rbCopyTree(t, w.live, dir)
	if change != nil {
		change(dir)
	}
	return dir
}

// disk is what the table protects: the scratch tree and the live PKI.
func (w *rbWork) disk() []string { return []string{w.dir, w.c.PKIDir} }

// rows sets never on every row.
func (w *rbWork) rows(rows []badInput) []badInput {
	for i := range rows {
		rows[i].never = append(rows[i].never, w.never...)
	}
	return rows
}

// rbCopyTree copies the files and directories under src to dst, modes
// kept.
func rbCopyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
}

func rbRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rbBadKey is a PEM private key block whose body does not parse; its body
// is recognisable, and must never be printed.
func rbBadKey(typ string) []byte {
	body := base64.StdEncoding.EncodeToString([]byte("kubecerts-planted-garbage-key-body-" + typ + "-0123456789"))
	return []byte("-----BEGIN " + typ + "-----\n" + body + "\n-----END " + typ + "-----\n")
}

// rbK3s writes a k3s server TLS directory (the CAs k3s certificate
// rotate-ca expects, and service.key) under dir, and returns it; the key
// bodies go to w.never.
func (w *rbWork) k3s(t *testing.T, name string) string {
	t.Helper()
	dir := w.path("k3s", name)
	for _, ca := range []string{"server-ca", "client-ca", "request-header-ca", "etcd/peer-ca", "etcd/server-ca"} {
		c := certtest.CA(t, "k3s-"+filepath.Base(ca)+"@1700000000")
		writePath(t, filepath.Join(dir, ca+".crt"), c.PEM(), 0o644)
		writePath(t, filepath.Join(dir, ca+".key"), c.KeyPEM(t), 0o600)
		w.never = append(w.never, keyBody(c.KeyPEM(t)))
	}
	sa := certtest.CA(t, "service-account").KeyPEM(t)
	writePath(t, filepath.Join(dir, "service.key"), sa, 0o600)
	w.never = append(w.never, keyBody(sa))
	return dir
}

// rbKubectl runs kubectl rotate with args (for a table's setup) and fails
// the test unless it exits 0.
func rbKubectl(t *testing.T, args ...string) string {
	t.Helper()
	dir := framework.BuildPlugins(t)
	stdout, stderr, err := framework.Kubectl(t.Context(), dir, "", append([]string{"rotate"}, args...)...)
	if err != nil {
		t.Fatalf("kubectl rotate %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

func rbArgs(args ...string) []string { return append([]string{"rotate"}, args...) }

// rbRenewAdvice are the lines renew prints for people after its table (a
// dry run's): what was not written and how the static pods restart.
var rbRenewAdvice = []string{"Dry run: ", "These static pods ", "kubelet stops ", "noticing within ", "  mkdir ", "  sleep ", "  mv "}

// TestBadInputRotateRenew: kubectl rotate renew on a missing, wrong or
// damaged PKI directory, with wrong names and flags, and a --csr-dir
// others could change (unsafeDirRows). Every refused row exits 1 with one
// error line naming the input, and no file changes (a backup directory
// beside the PKI or a temporary file would show).
func TestBadInputRotateRenew(t *testing.T) {
	w := rbSetup(t)
	kc := w.path("etc", "kubernetes")
	renew := func(pkiDir string, args ...string) []string {
		return rbArgs(append([]string{"renew", "--pki-dir", pkiDir, "--kubeconfig-dir", kc}, args...)...)
	}
	apiserverKey := rbRead(t, filepath.Join(w.live, "apiserver.key"))
	frontProxyKey := rbRead(t, filepath.Join(w.live, "front-proxy-ca.key"))

	badCA := w.variant(t, "bad-ca", func(d string) { writePath(t, filepath.Join(d, "ca.crt"), []byte("not a certificate\n"), 0o644) })
	mismatch := w.variant(t, "mismatch", func(d string) { writePath(t, filepath.Join(d, "ca.key"), frontProxyKey, 0o600) })
	badCAKey := w.variant(t, "bad-ca-key", func(d string) { writePath(t, filepath.Join(d, "ca.key"), rbBadKey("EC PRIVATE KEY"), 0o600) })
	badLeaf := w.variant(t, "bad-leaf", func(d string) {
		writePath(t, filepath.Join(d, "apiserver.crt"), []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"), 0o644)
	})
	keyAsLeaf := w.variant(t, "key-as-leaf", func(d string) { writePath(t, filepath.Join(d, "apiserver.crt"), apiserverKey, 0o644) })
	leafDir := w.variant(t, "leaf-dir", func(d string) {
		if err := os.Remove(filepath.Join(d, "apiserver.crt")); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(d, "apiserver.crt"), 0o755); err != nil {
			t.Fatal(err)
		}
	})
	badLeafKey := w.variant(t, "bad-leaf-key", func(d string) { writePath(t, filepath.Join(d, "apiserver.key"), rbBadKey("PRIVATE KEY"), 0o600) })
	external := w.variant(t, "external", func(d string) {
		if err := os.Remove(filepath.Join(d, "ca.key")); err != nil {
			t.Fatal(err)
		}
	})
	leafOnlyCA := w.variant(t, "leaf-as-ca", func(d string) {
		writePath(t, filepath.Join(d, "ca.crt"), rbRead(t, filepath.Join(w.live, "apiserver.crt")), 0o644)
	})
	// An expired CA and a leaf it signed.
	expired := w.path("variants", "expired-ca")
	{
		now := time.Now()
		ca := certtest.New(t, certtest.Template{CommonName: "kubernetes", IsCA: true, NotBefore: now.Add(-3 * 365 * 24 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, nil)
		leaf := certtest.New(t, certtest.Template{CommonName: "kube-apiserver", DNSNames: []string{"kubernetes"}, NotBefore: now.Add(-2 * 365 * 24 * time.Hour), NotAfter: now.Add(-48 * time.Hour)}, ca)
		writePath(t, filepath.Join(expired, "ca.crt"), ca.PEM(), 0o644)
		writePath(t, filepath.Join(expired, "ca.key"), ca.KeyPEM(t), 0o600)
		writePath(t, filepath.Join(expired, "apiserver.crt"), leaf.PEM(), 0o644)
		writePath(t, filepath.Join(expired, "apiserver.key"), leaf.KeyPEM(t), 0o600)
		w.never = append(w.never, keyBody(ca.KeyPEM(t)), keyBody(leaf.KeyPEM(t)))
	}
	// admin.conf that is not YAML, and one whose certificate is a file.
	badKC := w.path("variants", "bad-kubeconfig")
	writePath(t, filepath.Join(badKC, "admin.conf"), []byte("apiVersion: v1\nclusters: [\n"), 0o600)
	refKC := w.path("variants", "file-kubeconfig")
	writePath(t, filepath.Join(refKC, "admin.conf"), []byte(`apiVersion: v1
kind: Config
clusters:
- name: k
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: admin
  user: {client-certificate: /etc/kubernetes/pki/admin.crt, client-key: /etc/kubernetes/pki/admin.key}
contexts:
- name: admin@k
  context: {cluster: k, user: admin}
current-context: admin@k
`), 0o600)
	emptyDir := w.path("variants", "empty")
	if err := os.MkdirAll(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	aFile := w.path("variants", "a-file")
	writePath(t, aFile, []byte("x\n"), 0o644)
	csrDir := w.path("csrs") // never created: every row that names it is refused or a dry run

	rows := []badInput{
		{name: "no name", args: renew(w.live), code: 1, err: "name the certificates to renew, or all"},
		{name: "unknown name", args: renew(w.live, "apiserverr"), code: 1, err: `unknown certificate names "apiserverr"`},
		{name: "a CA name", args: renew(w.live, "ca"), code: 1, err: `unknown certificate names "ca"`},
		{name: "kubelet.conf", args: renew(w.live, "kubelet.conf"), code: 1, err: `"kubelet.conf"`},
		{name: "all with a name", args: renew(w.live, "all", "apiserver"), code: 1, err: `"all" renews every certificate`},
		{name: "pki-dir missing", args: renew(w.path("no-such-pki"), "all"), code: 1, err: "--pki-dir " + w.path("no-such-pki") + ": no such directory"},
		{name: "pki-dir a file", args: renew(filepath.Join(w.live, "ca.crt"), "all"), code: 1, err: "--pki-dir " + filepath.Join(w.live, "ca.crt") + ": not a directory"},
		{name: "pki-dir not a PKI", args: renew(emptyDir, "all"), code: 1, err: "--pki-dir " + emptyDir + ": not a kubeadm PKI directory"},
		{name: "pki-dir empty", args: renew("", "all"), code: 1, err: "--pki-dir must not be empty"},
		{name: "kubeconfig-dir missing", args: rbArgs("renew", "admin.conf", "--pki-dir", w.live, "--kubeconfig-dir", w.path("no-such-dir")), code: 1, err: "--kubeconfig-dir " + w.path("no-such-dir") + ": no such directory"},
		{name: "kubeconfig-dir a file", args: rbArgs("renew", "admin.conf", "--pki-dir", w.live, "--kubeconfig-dir", aFile), code: 1, err: "--kubeconfig-dir " + aFile + ": not a directory"},
		{name: "validity garbage", args: renew(w.live, "apiserver", "--validity", "forever"), code: 1, err: `invalid argument "forever" for "--validity"`},
		{name: "validity zero", args: renew(w.live, "apiserver", "--validity", "0"), code: 1, err: "--validity 0s: must be positive"},
		{name: "validity negative", args: renew(w.live, "apiserver", "--validity", "-30d"), code: 1, err: `invalid argument "-30d" for "--validity"`},
		{name: "validity unit typo", args: renew(w.live, "apiserver", "--validity", "1yr"), code: 1, err: `invalid argument "1yr" for "--validity"`},
		{name: "csr-only without csr-dir", args: renew(w.live, "all", "--csr-only"), code: 1, err: "--csr-only needs --csr-dir"},
		{name: "csr-dir without csr-only", args: renew(w.live, "all", "--csr-dir", csrDir), code: 1, err: "--csr-dir is only for --csr-only"},
		{name: "csr-dir the PKI dir", args: renew(w.live, "all", "--csr-only", "--csr-dir", w.live), code: 1, err: "--csr-dir " + w.live + " is the PKI directory"},
		{name: "csr-dir inside the PKI dir", args: renew(w.live, "all", "--csr-only", "--csr-dir", filepath.Join(w.live, "csrs")), code: 1, err: "--csr-dir " + filepath.Join(w.live, "csrs") + " is inside the PKI directory"},
		{name: "csr-dir etcd of the PKI dir", args: renew(w.live, "all", "--csr-only", "--csr-dir", filepath.Join(w.live, "etcd")), code: 1, err: "--csr-dir " + filepath.Join(w.live, "etcd") + " is inside the PKI directory"},
		{name: "csr-dir a file", args: renew(w.live, "all", "--csr-only", "--csr-dir", aFile), code: 1, err: "--csr-dir " + aFile + ": not a directory"},
		{name: "csr-only with restart", args: renew(w.live, "all", "--csr-only", "--csr-dir", csrDir, "--restart-static-pods"), code: 1, err: "--restart-static-pods with --csr-only"},
		{name: "restart-wait zero", args: renew(w.live, "apiserver", "--restart-static-pods", "--restart-wait", "0s"), code: 1, err: "--restart-wait 0s: must be positive"},
		{name: "manifests-dir missing", args: renew(w.live, "apiserver", "--restart-static-pods", "--manifests-dir", w.path("no-manifests")), code: 1, err: "--manifests-dir " + w.path("no-manifests") + ": no such directory"},
		{name: "output bogus", args: renew(w.live, "apiserver", "-o", "bogus"), code: 1, err: `--output "bogus"`},
		{name: "corrupt ca.crt", args: renew(badCA, "apiserver"), code: 1, err: filepath.Join(badCA, "ca.crt") + ": text without a PEM block", stdout: []string{"apiserver"}},
		{name: "ca.crt is a leaf", args: renew(leafOnlyCA, "apiserver"), code: 1, err: filepath.Join(leafOnlyCA, "ca.crt") + " is not a CA certificate", stdout: []string{"apiserver"}},
		{name: "ca.key of another CA", args: renew(mismatch, "apiserver"), code: 1, err: filepath.Join(mismatch, "ca.key") + " does not match " + filepath.Join(mismatch, "ca.crt"), stdout: []string{"apiserver"}},
		{name: "corrupt ca.key", args: renew(badCAKey, "apiserver"), code: 1, err: filepath.Join(badCAKey, "ca.key") + ": PEM block 1", stdout: []string{"apiserver"},
			never: []string{keyBody(rbBadKey("EC PRIVATE KEY"))}},
		{name: "expired CA", args: renew(expired, "apiserver"), code: 1, err: "CA ca (" + filepath.Join(expired, "ca.crt") + ") expired", stdout: []string{"apiserver"}},
		{name: "corrupt leaf", args: renew(badLeaf, "apiserver"), code: 1, err: filepath.Join(badLeaf, "apiserver.crt"), stdout: []string{"apiserver"}},
		{name: "leaf holds a key", args: renew(keyAsLeaf, "apiserver"), code: 1, err: filepath.Join(keyAsLeaf, "apiserver.crt") + ": no CERTIFICATE block", stdout: []string{"apiserver"}},
		{name: "leaf is a directory", args: renew(leafDir, "apiserver"), code: 1, err: filepath.Join(leafDir, "apiserver.crt") + ": is a directory", stdout: []string{"apiserver"}},
		{name: "corrupt admin.conf", args: rbArgs("renew", "admin.conf", "--pki-dir", w.live, "--kubeconfig-dir", badKC), code: 1, err: filepath.Join(badKC, "admin.conf"), stdout: []string{"admin.conf"}},
		{name: "admin.conf names files", args: rbArgs("renew", "admin.conf", "--pki-dir", w.live, "--kubeconfig-dir", refKC), code: 1, err: filepath.Join(refKC, "admin.conf") + `: user "admin" names the file`, stdout: []string{"admin.conf"}},
		// Accepted, written nowhere.
		{name: "corrupt leaf key, dry run", args: renew(badLeafKey, "apiserver", "--dry-run", "-o", "json"), code: 0,
			stdout: []string{`"would-renew"`, filepath.Join(badLeafKey, "apiserver.key") + ": PEM block 1"}, never: []string{keyBody(rbBadKey("PRIVATE KEY"))}},
		{name: "external CA skipped", args: renew(external, "apiserver"), code: 0, stdout: []string{"skipped", "external CA mode"}, extraStderr: []string{"Skipped apiserver: ca is in external CA mode"}},
		{name: "dry run of all", args: renew(w.live, "all", "--dry-run", "-o", "json"), code: 0, stdout: []string{`"would-renew"`, `"dryRun": true`}},
		{name: "validity beyond the CA, dry run", args: renew(w.live, "apiserver", "--validity", "100y", "--dry-run", "-o", "json"), code: 0, stdout: []string{"validity capped at the notAfter of ca"}},
		{name: "a name twice, dry run", args: renew(w.live, "apiserver", "apiserver", "--dry-run"), code: 0, stdout: []string{"apiserver"}, extraStderr: rbRenewAdvice},
		{name: "csr-only dry run", args: renew(w.live, "all", "--csr-only", "--csr-dir", csrDir, "--dry-run", "-o", "json"), code: 0, stdout: []string{`"would-write-csr"`}},
	}
	rows = append(rows, w.unsafeDirRows(t, "--csr-dir", func(dir string, more ...string) []string {
		return renew(w.live, append([]string{"all", "--csr-only", "--csr-dir", dir, "-o", "json"}, more...)...)
	})...)
	// An unreadable leaf: as root, whom chmod 000 does not stop, the row runs
	// the plugin as an unprivileged user who owns a copy of the PKI, outside
	// t.TempDir (whose parents are 0700).
	unreadable := rbUnreadableLeaf(t, w.live, "apiserver.crt")
	unreadableArgs := rbArgs("renew", "--pki-dir", unreadable, "--kubeconfig-dir", filepath.Dir(unreadable), "apiserver")
	rows = append(rows, badInput{name: "unreadable leaf", args: unreadableArgs, code: 1,
		before: asNobodyWhenRoot(t, "kubectl-rotate"),
		err:    filepath.Join(unreadable, "apiserver.crt") + ": permission denied", stdout: []string{"apiserver"}})
	disk := append(w.disk(), unreadable)
	runBadInputs(t, badInputTable{disk: disk, rows: w.rows(rows)})
}

// rbUnreadableLeaf copies the PKI at live to a new directory every user may
// reach, owned by the unprivileged user when the tests run as root, with
// the file leaf made unreadable (mode 000).
func rbUnreadableLeaf(t *testing.T, live, leaf string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kubecerts-badinput-renew-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pki := filepath.Join(dir, "pki")
	rbCopyTree(t, live, pki)
	if os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(nobodyUID)
		err := filepath.WalkDir(pki, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, uid)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(pki, leaf), 0); err != nil {
		t.Fatal(err)
	}
	return pki
}

// asNobodyWhenRoot is asNobody when the tests run as root, and nothing
// otherwise (an unprivileged user is already denied).
func asNobodyWhenRoot(t *testing.T, plugin string) func(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	return asNobody(t, plugin)
}

// unsafeDirRows are the rows of a command whose flag names the directory
// its new keys go into (ca stage and sa-key --to, renew --csr-dir): one
// others can write to, one another user owns (when the tests run as
// root), and one to be made in a directory others can write to without
// the sticky bit, where they could put their own first, are refused
// before anything is written, naming the path, its mode and owner
// (issue 15); a new one in a sticky directory like /tmp is accepted.
// args builds the command's arguments for a directory.
func (w *rbWork) unsafeDirRows(t *testing.T, flag string, args func(dir string, more ...string) []string) []badInput {
	t.Helper()
	uid := strconv.Itoa(os.Geteuid())
	base := w.path("unsafe" + flag)
	mkdir := func(name string, mode fs.FileMode) string {
		t.Helper()
		dir := filepath.Join(base, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	group := mkdir("group-writable", 0o770)
	world := mkdir("world-writable", 0o777)
	public := mkdir("public", 0o777)
	sticky := mkdir("sticky", fs.ModeSticky|0o777)
	writable := ": writable by others than its owner, who could swap the new keys"
	rows := []badInput{
		{name: flag + " group-writable", args: args(group), code: 1, err: flag + " " + group + ": mode drwxrwx--- (0770), owner uid " + uid + writable},
		{name: flag + " world-writable", args: args(world), code: 1, err: flag + " " + world + ": mode drwxrwxrwx (0777), owner uid " + uid + writable},
		{name: flag + " world-writable, dry run", args: args(world, "--dry-run"), code: 1, err: flag + " " + world + ": mode drwxrwxrwx (0777)"},
		{name: flag + " new in a world-writable dir", args: args(filepath.Join(public, "new")), code: 1,
			err: flag + " " + filepath.Join(public, "new") + ": " + public + ", a directory on the way: mode drwxrwxrwx (0777), owner uid " + uid + ": writable by others than its owner and not sticky"},
		{name: flag + " new in a sticky dir, dry run", args: args(filepath.Join(sticky, "new"), "--dry-run"), code: 0},
	}
	if os.Geteuid() == 0 {
		other := mkdir("nobodys", 0o700)
		n, _ := strconv.Atoi(nobodyUID)
		if err := os.Chown(other, n, n); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, badInput{name: flag + " owned by another user", args: args(other), code: 1,
			err: flag + " " + other + ": mode drwx------ (0700), owner uid " + nobodyUID + ": owned by another user than you (uid 0)"})
	}
	return rows
}

// TestBadInputRotateCAStage: kubectl rotate ca stage refuses the live
// directory (and anything inside it, symbolic links resolved), a staging
// directory that is not empty or that others could change
// (unsafeDirRows), and a --from it cannot stage from; nothing is written.
func TestBadInputRotateCAStage(t *testing.T) {
	w := rbSetup(t)
	stage := func(args ...string) []string { return rbArgs(append([]string{"ca", "stage"}, args...)...) }
	staging := w.path("staging", "new") // never created
	link := w.path("link-to-pki")
	if err := os.Symlink(w.live, link); err != nil {
		t.Fatal(err)
	}
	full := w.path("staging", "full")
	writePath(t, filepath.Join(full, "ca.crt"), rbRead(t, filepath.Join(w.live, "ca.crt")), 0o644)
	aFile := w.path("staging", "a-file")
	writePath(t, aFile, []byte("x\n"), 0o644)
	emptyDir := w.path("variants", "empty")
	if err := os.MkdirAll(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	badCA := w.variant(t, "bad-etcd-ca", func(d string) {
		writePath(t, filepath.Join(d, "etcd", "ca.crt"), []byte("not a certificate\n"), 0o644)
	})
	noKey := w.variant(t, "no-etcd-ca-key", func(d string) {
		if err := os.Remove(filepath.Join(d, "etcd", "ca.key")); err != nil {
			t.Fatal(err)
		}
	})
	wrongKey := w.variant(t, "wrong-etcd-ca-key", func(d string) {
		writePath(t, filepath.Join(d, "etcd", "ca.key"), rbRead(t, filepath.Join(w.live, "ca.key")), 0o600)
	})
	badKey := w.variant(t, "bad-etcd-ca-key", func(d string) {
		writePath(t, filepath.Join(d, "etcd", "ca.key"), rbBadKey("PRIVATE KEY"), 0o600)
	})
	var expiredOn string
	expired := w.variant(t, "expired-etcd-ca", func(d string) {
		key, _ := pki.NewECDSAKey()
		ca, err := pki.NewCA(pkix.Name{CommonName: "etcd-ca"}, key, time.Now().Add(-2*365*24*time.Hour), 365*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, _ := pki.EncodeKey(key)
		writePath(t, filepath.Join(d, "etcd", "ca.crt"), pki.EncodeCert(ca), 0o644)
		writePath(t, filepath.Join(d, "etcd", "ca.key"), keyPEM, 0o600)
		expiredOn = ca.NotAfter.UTC().Format(time.RFC3339)
	})
	keyAsCA := w.variant(t, "key-as-ca", func(d string) {
		writePath(t, filepath.Join(d, "ca.crt"), rbRead(t, filepath.Join(w.live, "ca.key")), 0o644)
	})
	k3s := w.k3s(t, "tls")
	k3sMissing := w.k3s(t, "tls-missing")
	if err := os.Remove(filepath.Join(k3sMissing, "etcd", "server-ca.crt")); err != nil {
		t.Fatal(err)
	}

	rows := []badInput{
		{name: "no from", args: stage("--to", staging), code: 1, err: "--from and --to are required"},
		{name: "no to", args: stage("--from", w.live), code: 1, err: "--from and --to are required"},
		{name: "to the live dir", args: stage("--from", w.live, "--to", w.live), code: 1, err: "--to " + w.live + " is the live directory"},
		{name: "to the live dir, slash", args: stage("--from", w.live, "--to", w.live+"/"), code: 1, err: "--to " + w.live + "/ is the live directory"},
		{name: "to the live dir, dotted", args: stage("--from", w.live, "--to", w.live+"/../pki"), code: 1, err: "--to " + w.live + "/../pki is the live directory"},
		{name: "to inside the live dir", args: stage("--from", w.live, "--to", filepath.Join(w.live, "staging")), code: 1, err: "--to " + filepath.Join(w.live, "staging") + " is inside the live directory"},
		{name: "to etcd of the live dir", args: stage("--from", w.live, "--to", filepath.Join(w.live, "etcd")), code: 1, err: "--to " + filepath.Join(w.live, "etcd") + " is inside the live directory"},
		{name: "to a link to the live dir", args: stage("--from", w.live, "--to", link), code: 1, err: "--to " + link + " is the live directory"},
		{name: "to inside, through a link", args: stage("--from", w.live, "--to", filepath.Join(link, "new")), code: 1, err: "--to " + filepath.Join(link, "new") + " is inside the live directory"},
		{name: "from a link, to inside", args: stage("--from", link, "--to", filepath.Join(w.live, "new")), code: 1, err: "--to " + filepath.Join(w.live, "new") + " is inside the live directory"},
		{name: "to not empty", args: stage("--from", w.live, "--to", full), code: 1, err: "--to " + full + ": not empty"},
		{name: "to not empty, dry run", args: stage("--from", w.live, "--to", full, "--dry-run"), code: 1, err: "--to " + full + ": not empty"},
		{name: "to a file", args: stage("--from", w.live, "--to", aFile), code: 1, err: "--to " + aFile + ": not a directory"},
		{name: "from missing", args: stage("--from", w.path("no-such-pki"), "--to", staging), code: 1, err: "--from " + w.path("no-such-pki") + ": no such directory"},
		{name: "from a file", args: stage("--from", filepath.Join(w.live, "ca.crt"), "--to", staging), code: 1, err: "--from " + filepath.Join(w.live, "ca.crt") + ": not a directory"},
		{name: "from not a PKI", args: stage("--from", emptyDir, "--to", staging), code: 1, err: "--from " + emptyDir + ": neither a kubeadm PKI"},
		{name: "layout bogus", args: stage("--from", w.live, "--to", staging, "--layout", "rke2"), code: 1, err: `--layout "rke2": use kubeadm or k3s`},
		{name: "layout k3s of a kubeadm dir", args: stage("--from", w.live, "--to", staging, "--layout", "k3s"), code: 1, err: filepath.Join(w.live, "server-ca.crt") + ": no such file"},
		{name: "validity garbage", args: stage("--from", w.live, "--to", staging, "--validity", "ten years"), code: 1, err: `invalid argument "ten years" for "--validity"`},
		{name: "validity zero", args: stage("--from", w.live, "--to", staging, "--validity", "0"), code: 1, err: "--validity 0s: too short for a CA"},
		{name: "validity an hour", args: stage("--from", w.live, "--to", staging, "--validity", "1h"), code: 1, err: "--validity 1h0m0s: too short for a CA"},
		{name: "validity negative", args: stage("--from", w.live, "--to", staging, "--validity", "-10y"), code: 1, err: `invalid argument "-10y" for "--validity"`},
		{name: "output bogus", args: stage("--from", w.live, "--to", staging, "-o", "bogus"), code: 1, err: `--output "bogus"`},
		{name: "corrupt CA in from", args: stage("--from", badCA, "--to", staging), code: 1, err: filepath.Join(badCA, "etcd", "ca.crt") + ": text without a PEM block"},
		{name: "CA file holds a key", args: stage("--from", keyAsCA, "--to", staging), code: 1, err: filepath.Join(keyAsCA, "ca.crt") + ": no CERTIFICATE block"},
		{name: "cross-sign without the CA key", args: stage("--from", noKey, "--to", staging, "--cross-sign"), code: 1, err: filepath.Join(noKey, "etcd", "ca.key") + ": no such file"},
		{name: "cross-sign with another CA's key", args: stage("--from", wrongKey, "--to", staging, "--cross-sign"), code: 1, err: filepath.Join(wrongKey, "etcd", "ca.key") + " does not match"},
		{name: "cross-sign with a corrupt key", args: stage("--from", badKey, "--to", staging, "--cross-sign"), code: 1, err: filepath.Join(badKey, "etcd", "ca.key") + ": PEM block 1",
			never: []string{keyBody(rbBadKey("PRIVATE KEY"))}},
		{name: "cross-sign with an expired CA", args: stage("--from", expired, "--to", staging, "--cross-sign"), code: 1,
			err: filepath.Join(expired, "etcd", "ca.crt") + ": the old CA expired on " + expiredOn + ": --cross-sign cannot sign with an expired CA"},
		{name: "expired CA without cross-sign, dry run", args: stage("--from", expired, "--to", staging, "--dry-run"), code: 0, stdout: []string{"etcd/ca.crt", "disruptive"}},
		{name: "k3s without etcd/server-ca", args: stage("--from", k3sMissing, "--to", staging), code: 1, err: filepath.Join(k3sMissing, "etcd", "server-ca.crt") + ": no such file"},
		{name: "layout kubeadm of a k3s dir", args: stage("--from", k3s, "--to", staging, "--layout", "kubeadm"), code: 1, err: filepath.Join(k3s, "ca.crt") + ": no such file"},
		{name: "k3s to inside the live dir", args: stage("--from", k3s, "--to", filepath.Join(k3s, "etcd", "new")), code: 1, err: "is inside the live directory " + k3s},
		// Accepted, written nowhere.
		{name: "k3s dry run", args: stage("--from", k3s, "--to", staging, "--cross-sign", "--dry-run"), code: 0, stdout: []string{"server-ca.crt", "etcd/peer-ca.key", "service.key"}},
		{name: "dry run", args: stage("--from", w.live, "--to", staging, "--cross-sign", "--dry-run"), code: 0, stdout: []string{"ca.crt", "etcd/ca.key", "cross-signed"}},
		{name: "no CA key without cross-sign, dry run", args: stage("--from", noKey, "--to", staging, "--dry-run"), code: 0, stdout: []string{"etcd/ca.crt", "disruptive"}},
	}
	rows = append(rows, w.unsafeDirRows(t, "--to", func(dir string, more ...string) []string {
		return stage(append([]string{"--from", w.live, "--to", dir}, more...)...)
	})...)
	runBadInputs(t, badInputTable{disk: w.disk(), rows: w.rows(rows)})
}

// TestBadInputRotateCAVerify: kubectl rotate ca verify of staged sets with
// a problem. A failed check is exit 1 with one error line naming the check
// and the file; a set that is not cross-signed is disruptive: exit 2, no
// error line (ca verify's documented contract).
func TestBadInputRotateCAVerify(t *testing.T) {
	w := rbSetup(t)
	verify := func(args ...string) []string { return rbArgs(append([]string{"ca", "verify"}, args...)...) }
	good := w.path("staged", "good")
	rbKubectl(t, "ca", "stage", "--from", w.live, "--to", good, "--cross-sign")
	rbKubectl(t, "sa-key", "--from", w.live, "--to", good)
	plain := w.path("staged", "plain")
	rbKubectl(t, "ca", "stage", "--from", w.live, "--to", plain)
	rbKubectl(t, "sa-key", "--from", w.live, "--to", plain)
	for _, k := range []string{"ca.key", "etcd/ca.key", "front-proxy-ca.key", "sa.key"} {
		w.never = append(w.never, keyBody(rbRead(t, filepath.Join(good, k))))
	}
	staged := func(name string, change func(dir string)) string {
		dir := w.path("staged", name)
		rbCopyTree(t, good, dir)
		change(dir)
		return dir
	}
	mismatch := staged("mismatch", func(d string) {
		writePath(t, filepath.Join(d, "ca.key"), rbRead(t, filepath.Join(d, "front-proxy-ca.key")), 0o600)
	})
	missing := staged("missing", func(d string) {
		if err := os.Remove(filepath.Join(d, "etcd", "ca.key")); err != nil {
			t.Fatal(err)
		}
	})
	dropped := staged("sa-dropped", func(d string) {
		// Only the new public key: tokens signed by the old key would fail.
		pub := rbRead(t, filepath.Join(d, "sa.pub"))
		first := pub[:strings.Index(string(pub), "-----END PUBLIC KEY-----\n")+len("-----END PUBLIC KEY-----\n")]
		writePath(t, filepath.Join(d, "sa.pub"), first, 0o644)
	})
	leafCA := staged("leaf-as-ca", func(d string) {
		writePath(t, filepath.Join(d, "ca.crt"), rbRead(t, filepath.Join(w.live, "apiserver.crt")), 0o644)
		writePath(t, filepath.Join(d, "ca.key"), rbRead(t, filepath.Join(w.live, "apiserver.key")), 0o600)
	})
	corrupt := staged("corrupt", func(d string) {
		writePath(t, filepath.Join(d, "front-proxy-ca.crt"), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644)
	})
	keyAsCert := staged("key-as-cert", func(d string) {
		writePath(t, filepath.Join(d, "ca.crt"), rbRead(t, filepath.Join(d, "ca.key")), 0o644)
	})
	oldDropped := staged("old-ca-dropped", func(d string) {
		// The new CA, its root and the cross-signed root, without the old CA
		// after them: what the old CA issued would no longer verify.
		b, err := certificate.ReadFile(filepath.Join(d, "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		writePath(t, filepath.Join(d, "ca.crt"), pki.EncodeCert(b.Certificates[:len(b.Certificates)-1]...), 0o644)
	})
	badSAPub := staged("bad-sa-pub", func(d string) {
		writePath(t, filepath.Join(d, "sa.pub"), []byte("not a key\n"), 0o644)
	})
	k3s := w.k3s(t, "tls")
	k3sGood := w.path("k3s", "staged")
	rbKubectl(t, "ca", "stage", "--from", k3s, "--to", k3sGood, "--cross-sign")
	rbKubectl(t, "sa-key", "--from", k3s, "--to", k3sGood)
	k3sDropped := w.path("k3s", "dropped")
	rbCopyTree(t, k3sGood, k3sDropped)
	{
		// Only the new key, first in the staged service.key: the old one is
		// dropped.
		data := string(rbRead(t, filepath.Join(k3sGood, "service.key")))
		end := strings.Index(data, "-----END ")
		end += strings.Index(data[end:], "\n") + 1
		writePath(t, filepath.Join(k3sDropped, "service.key"), []byte(data[:end]), 0o600)
		w.never = append(w.never, keyBody([]byte(data[:end])))
	}
	emptyDir := w.path("staged", "empty")
	if err := os.MkdirAll(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	aFile := w.path("staged", "a-file")
	writePath(t, aFile, []byte("x\n"), 0o644)
	hash := "new server CA hash: "

	rows := []badInput{
		{name: "no old", args: verify("--new", good), code: 1, err: "--old and --new are required"},
		{name: "no new", args: verify("--old", w.live), code: 1, err: "--old and --new are required"},
		{name: "old missing", args: verify("--old", w.path("no-such-pki"), "--new", good), code: 1, err: "--old " + w.path("no-such-pki") + ": no such directory"},
		{name: "new missing", args: verify("--old", w.live, "--new", w.path("no-such-staging")), code: 1, err: "--new " + w.path("no-such-staging") + ": no such directory"},
		{name: "new a file", args: verify("--old", w.live, "--new", aFile), code: 1, err: "--new " + aFile + ": not a directory"},
		{name: "new is old", args: verify("--old", w.live, "--new", w.live), code: 1, err: "--new " + w.live + " is the live directory"},
		{name: "old not a PKI", args: verify("--old", emptyDir, "--new", good), code: 1, err: "--old " + emptyDir + ": neither a kubeadm PKI"},
		{name: "layout bogus", args: verify("--old", w.live, "--new", good, "--layout", "rke2"), code: 1, err: `--layout "rke2"`},
		{name: "new empty", args: verify("--old", w.live, "--new", emptyDir), code: 1, err: filepath.Join(emptyDir, "ca.crt") + ": no such file", stdout: []string{"ca/present"}},
		{name: "key mismatch", args: verify("--old", w.live, "--new", mismatch), code: 1, err: "ca/key-matches (" + filepath.Join(mismatch, "ca.key") + " does not match", stdout: []string{"ca/key-matches"}, extraStderr: []string{hash}},
		{name: "missing file", args: verify("--old", w.live, "--new", missing), code: 1, err: "etcd-ca/present (open " + filepath.Join(missing, "etcd", "ca.key") + ": no such file", stdout: []string{"etcd-ca/present"}, extraStderr: []string{hash}},
		{name: "SA key dropped", args: verify("--old", w.live, "--new", dropped), code: 1, err: "service-account/old-key-kept (old service-account key 1 of " + filepath.Join(w.live, "sa.pub") + " is not in " + filepath.Join(dropped, "sa.pub"), stdout: []string{"service-account/old-key-kept"}, extraStderr: []string{hash}},
		{name: "SA pub corrupt", args: verify("--old", w.live, "--new", badSAPub), code: 1, err: filepath.Join(badSAPub, "sa.pub") + ": no key found", stdout: []string{"service-account/old-key-kept"}, extraStderr: []string{hash}},
		{name: "new CA is a leaf", args: verify("--old", w.live, "--new", leafCA), code: 1, err: "ca/is-ca (" + filepath.Join(leafCA, "ca.crt") + ": ", stdout: []string{"ca/is-ca"}, extraStderr: []string{hash}},
		{name: "new CA corrupt", args: verify("--old", w.live, "--new", corrupt), code: 1, err: filepath.Join(corrupt, "front-proxy-ca.crt"), stdout: []string{"front-proxy-ca/present"}, extraStderr: []string{hash}},
		{name: "new CA file holds a key", args: verify("--old", w.live, "--new", keyAsCert), code: 1, err: filepath.Join(keyAsCert, "ca.crt") + ": no CERTIFICATE block", stdout: []string{"ca/present"}},
		{name: "k3s service key dropped", args: verify("--old", k3s, "--new", k3sDropped), code: 1, err: "service-account/old-key-kept (old service-account key 1 of " + filepath.Join(k3s, "service.key"), stdout: []string{"old-key-kept"}, extraStderr: []string{hash}},
		{name: "k3s layout kubeadm", args: verify("--old", k3s, "--new", k3sGood, "--layout", "kubeadm"), code: 1, err: filepath.Join(k3sGood, "ca.crt") + ": no such file", stdout: []string{"ca/present"}},
		// Findings that are not errors, and a clean set.
		{name: "k3s cross-signed", args: verify("--old", k3s, "--new", k3sGood), code: 0, stdout: []string{"server-ca/trusted-by-old"}, stderr: []string{"K10"}, extraStderr: []string{hash}},
		{name: "not cross-signed", args: verify("--old", w.live, "--new", plain), code: 2, stdout: []string{"trusted-by-old", "disruptive", "ca/old-ca-kept"},
			stderr: []string{"warning: " + plain + ": disruptive rotation: ca, front-proxy-ca, etcd-ca not signed by the old CA: clients holding only the old CA will not trust"}, extraStderr: []string{hash}},
		{name: "not cross-signed, json", args: verify("--old", w.live, "--new", plain, "-o", "json"), code: 2, stdout: []string{`"disruptive": true`}},
		{name: "old CA dropped", args: verify("--old", w.live, "--new", oldDropped), code: 2, stdout: []string{"ca/old-ca-kept", "is not in " + filepath.Join(oldDropped, "ca.crt")},
			stderr: []string{"warning: " + oldDropped + ": disruptive rotation: ca without the old CA: what the old CA issued will not verify against the new file"}, extraStderr: []string{hash}},
		{name: "cross-signed", args: verify("--old", w.live, "--new", good), code: 0, stdout: []string{"trusted-by-old", "old-ca-kept", "old-key-kept"}, extraStderr: []string{hash}},
	}
	runBadInputs(t, badInputTable{disk: w.disk(), rows: w.rows(rows)})
}

// TestBadInputRotateSAKey: kubectl rotate sa-key refuses the live
// directory and anything inside it, a --to others could change
// (unsafeDirRows), and a key it cannot read; nothing is written.
func TestBadInputRotateSAKey(t *testing.T) {
	w := rbSetup(t)
	sakey := func(args ...string) []string { return rbArgs(append([]string{"sa-key"}, args...)...) }
	staging := w.path("staging", "new") // never created
	link := w.path("link-to-pki")
	if err := os.Symlink(w.live, link); err != nil {
		t.Fatal(err)
	}
	aFile := w.path("staging", "a-file")
	writePath(t, aFile, []byte("x\n"), 0o644)
	emptyDir := w.path("variants", "empty")
	if err := os.MkdirAll(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	corrupt := w.variant(t, "corrupt-sa-key", func(d string) { writePath(t, filepath.Join(d, "sa.key"), rbBadKey("PRIVATE KEY"), 0o600) })
	rsaCorrupt := w.variant(t, "corrupt-rsa-sa-key", func(d string) { writePath(t, filepath.Join(d, "sa.key"), rbBadKey("RSA PRIVATE KEY"), 0o600) })
	missing := w.variant(t, "no-sa-key", func(d string) {
		if err := os.Remove(filepath.Join(d, "sa.key")); err != nil {
			t.Fatal(err)
		}
	})
	certAsKey := w.variant(t, "cert-as-sa-key", func(d string) { writePath(t, filepath.Join(d, "sa.key"), rbRead(t, filepath.Join(d, "ca.crt")), 0o600) })
	badPub := w.variant(t, "corrupt-sa-pub", func(d string) {
		writePath(t, filepath.Join(d, "sa.pub"), []byte("ssh-rsa AAAA not a PEM key\n"), 0o644)
	})
	k3s := w.k3s(t, "tls")
	k3sBad := w.k3s(t, "tls-bad")
	writePath(t, filepath.Join(k3sBad, "service.key"), rbBadKey("EC PRIVATE KEY"), 0o600)

	rows := []badInput{
		{name: "no from", args: sakey("--to", staging), code: 1, err: "--from and --to are required"},
		{name: "no to", args: sakey("--from", w.live), code: 1, err: "--from and --to are required"},
		{name: "to the live dir", args: sakey("--from", w.live, "--to", w.live), code: 1, err: "--to " + w.live + " is the live directory"},
		{name: "to inside the live dir", args: sakey("--from", w.live, "--to", filepath.Join(w.live, "staging")), code: 1, err: "--to " + filepath.Join(w.live, "staging") + " is inside the live directory"},
		{name: "to etcd of the live dir", args: sakey("--from", w.live, "--to", filepath.Join(w.live, "etcd")), code: 1, err: "is inside the live directory"},
		{name: "to a link to the live dir", args: sakey("--from", w.live, "--to", link), code: 1, err: "--to " + link + " is the live directory"},
		{name: "to inside, through a link", args: sakey("--from", w.live, "--to", filepath.Join(link, "new")), code: 1, err: "is inside the live directory"},
		{name: "to a file", args: sakey("--from", w.live, "--to", aFile), code: 1, err: "--to " + aFile + ": not a directory"},
		{name: "from missing", args: sakey("--from", w.path("no-such-pki"), "--to", staging), code: 1, err: "--from " + w.path("no-such-pki") + ": no such directory"},
		{name: "from a file", args: sakey("--from", filepath.Join(w.live, "sa.key"), "--to", staging), code: 1, err: "--from " + filepath.Join(w.live, "sa.key") + ": not a directory"},
		{name: "from not a PKI", args: sakey("--from", emptyDir, "--to", staging), code: 1, err: "--from " + emptyDir + ": neither a kubeadm PKI"},
		{name: "layout bogus", args: sakey("--from", w.live, "--to", staging, "--layout", "openshift"), code: 1, err: `--layout "openshift"`},
		{name: "layout k3s of a kubeadm dir", args: sakey("--from", w.live, "--to", staging, "--layout", "k3s"), code: 1, err: filepath.Join(w.live, "service.key") + ": no such file"},
		{name: "corrupt sa.key", args: sakey("--from", corrupt, "--to", staging), code: 1, err: filepath.Join(corrupt, "sa.key") + ": PEM block 1", never: []string{keyBody(rbBadKey("PRIVATE KEY"))}},
		{name: "corrupt RSA sa.key", args: sakey("--from", rsaCorrupt, "--to", staging), code: 1, err: filepath.Join(rsaCorrupt, "sa.key") + ": PEM block 1", never: []string{keyBody(rbBadKey("RSA PRIVATE KEY"))}},
		{name: "sa.key missing", args: sakey("--from", missing, "--to", staging), code: 1, err: filepath.Join(missing, "sa.key") + ": no such file"},
		{name: "sa.key holds a certificate", args: sakey("--from", certAsKey, "--to", staging), code: 1, err: filepath.Join(certAsKey, "sa.key") + ": no private key found"},
		{name: "corrupt sa.pub", args: sakey("--from", badPub, "--to", staging), code: 1, err: filepath.Join(badPub, "sa.pub") + ": no key found"},
		{name: "output bogus", args: sakey("--from", w.live, "--to", staging, "-o", "bogus"), code: 1, err: `--output "bogus"`},
		{name: "k3s corrupt service.key", args: sakey("--from", k3sBad, "--to", staging), code: 1, err: filepath.Join(k3sBad, "service.key") + ": PEM block 1", never: []string{keyBody(rbBadKey("EC PRIVATE KEY"))}},
		// Accepted, written nowhere.
		{name: "k3s dry run", args: sakey("--from", k3s, "--to", staging, "--dry-run"), code: 0, stdout: []string{"service.key", "1 old key(s) after it"}},
		{name: "dry run", args: sakey("--from", w.live, "--to", staging, "--dry-run"), code: 0, stdout: []string{"sa.key", "sa.pub", "1 accepted old one"}},
	}
	rows = append(rows, w.unsafeDirRows(t, "--to", func(dir string, more ...string) []string {
		return sakey(append([]string{"--from", w.live, "--to", dir}, more...)...)
	})...)
	runBadInputs(t, badInputTable{disk: w.disk(), rows: w.rows(rows)})
}

// TestBadInputRotateKubeconfig: kubectl rotate kubeconfig against the real
// test cluster. A refused change leaves the kubeconfig as it was and
// writes no backup (the kubeconfig's directory is in the snapshot); a
// private key given as a CA is refused and never echoed.
func TestBadInputRotateKubeconfig(t *testing.T) {
	w := rbSetup(t)
	c := w.c
	kdir := w.path("kube")
	kubeconfig := filepath.Join(kdir, "config")
	writePath(t, kubeconfig, rbRead(t, c.AdminKubeconfig), 0o600)
	cfg, err := clientcmd.LoadFromFile(c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	clusterName := cfg.Contexts[cfg.CurrentContext].Cluster
	newCA := certtest.CA(t, "rotated-cluster-ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "not-a-ca", DNSNames: []string{"leaf.example"}}, newCA)
	files := w.path("files")
	newCAFile := filepath.Join(files, "new-ca.crt")
	writePath(t, newCAFile, newCA.PEM(), 0o644)
	newKeyFile := filepath.Join(files, "new-ca.key")
	writePath(t, newKeyFile, newCA.KeyPEM(t), 0o600)
	bundleWithKey := filepath.Join(files, "ca-and-key.pem")
	writePath(t, bundleWithKey, append(newCA.KeyPEM(t), newCA.PEM()...), 0o600)
	clusterCAFile := filepath.Join(files, "cluster-ca.crt")
	writePath(t, clusterCAFile, certtest.PEMOf(c.CACert), 0o644)
	emptyFile := filepath.Join(files, "empty.crt")
	writePath(t, emptyFile, nil, 0o644)
	leafFile := filepath.Join(files, "leaf.crt")
	writePath(t, leafFile, leaf.PEM(), 0o644)
	crlfFile := filepath.Join(files, "new-ca-crlf.crt")
	writePath(t, crlfFile, []byte(strings.ReplaceAll(string(newCA.PEM()), "\n", "\r\n")), 0o644)
	derFile := filepath.Join(files, "new-ca.der")
	writePath(t, derFile, newCA.Cert.Raw, 0o644)
	b64File := filepath.Join(files, "new-ca.b64")
	writePath(t, b64File, []byte(base64.StdEncoding.EncodeToString(newCA.PEM())), 0o644)
	garbageFile := filepath.Join(files, "garbage.crt")
	writePath(t, garbageFile, []byte("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n"), 0o644)
	never := []string{keyBody(newCA.KeyPEM(t)), keyBody(leaf.KeyPEM(t))}
	hugeFile := filepath.Join(files, "huge.crt")
	writePath(t, hugeFile, append(newCA.PEM(), make([]byte, 9<<20)...), 0o644)
	// Kubeconfigs whose cluster CA cannot be read: a file that is missing,
	// data that is not a certificate.
	caFileKC := filepath.Join(kdir, "ca-file")
	garbageKC := filepath.Join(kdir, "ca-garbage")
	{
		cfg, err := clientcmd.LoadFromFile(c.AdminKubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Clusters[clusterName].CertificateAuthorityData = nil
		cfg.Clusters[clusterName].CertificateAuthority = "missing-ca.crt"
		data, err := clientcmd.Write(*cfg)
		if err != nil {
			t.Fatal(err)
		}
		writePath(t, caFileKC, data, 0o600)
		cfg.Clusters[clusterName].CertificateAuthority = ""
		cfg.Clusters[clusterName].CertificateAuthorityData = []byte("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
		if data, err = clientcmd.Write(*cfg); err != nil {
			t.Fatal(err)
		}
		writePath(t, garbageKC, data, 0o600)
	}

	// A kubeconfig in the "update clients" phase: the cluster CA and the new
	// one. Removing the cluster CA must be refused (the server could not be
	// verified), the file unchanged and no backup written.
	both := filepath.Join(kdir, "both")
	{
		cfg, err := clientcmd.LoadFromFile(c.AdminKubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Clusters[clusterName].CertificateAuthorityData = append(certtest.PEMOf(c.CACert), newCA.PEM()...)
		// A context whose cluster no file defines.
		ghost := *cfg.Contexts[cfg.CurrentContext]
		ghost.Cluster = "no-such-cluster"
		cfg.Contexts["ghost"] = &ghost
		data, err := clientcmd.Write(*cfg)
		if err != nil {
			t.Fatal(err)
		}
		writePath(t, both, data, 0o600)
	}
	newPrint := certificate.Fingerprint(newCA.Cert)
	clusterPrint := certificate.Fingerprint(c.CACert)
	kc := func(args ...string) []string { return rbArgs(append([]string{"kubeconfig"}, args...)...) }

	rows := []badInput{
		{name: "no change named", args: kc(), code: 1, err: "give exactly one of --add-ca, --remove-ca or --remove-fingerprint"},
		{name: "add and remove", args: kc("--add-ca", newCAFile, "--remove-ca", clusterCAFile), code: 1, err: "give exactly one of"},
		{name: "remove-ca and fingerprint", args: kc("--remove-ca", newCAFile, "--remove-fingerprint", newPrint), code: 1, err: "give exactly one of"},
		{name: "add-ca empty value", args: kc("--add-ca", ""), code: 1, err: "give exactly one of"},
		{name: "add-ca a private key", args: kc("--add-ca", newKeyFile), code: 1, err: "--add-ca: " + newKeyFile + ": no CERTIFICATE block, only a private key", never: never},
		{name: "add-ca a CA with its key", args: kc("--add-ca", bundleWithKey, "--dry-run"), code: 0, stdout: []string{newPrint[:16]},
			stderr: []string{"note: --add-ca " + bundleWithKey + ": skipped a private key"}, never: never},
		{name: "add-ca CRLF", args: kc("--add-ca", crlfFile, "--dry-run"), code: 0, stdout: []string{newPrint[:16]}, stderr: []string{"note: --add-ca " + crlfFile + ": CRLF line endings"}},
		{name: "add-ca DER", args: kc("--add-ca", derFile, "--dry-run"), code: 0, stdout: []string{newPrint[:16]}},
		{name: "add-ca base64 of PEM", args: kc("--add-ca", b64File, "--dry-run"), code: 0, stdout: []string{newPrint[:16]}, stderr: []string{"note: --add-ca " + b64File + ": the data is base64-encoded"}},
		{name: "add-ca empty file", args: kc("--add-ca", emptyFile), code: 1, err: "--add-ca: " + emptyFile + ": empty"},
		{name: "add-ca garbage", args: kc("--add-ca", garbageFile), code: 1, err: "--add-ca: " + garbageFile},
		{name: "add-ca a leaf", args: kc("--add-ca", leafFile), code: 1, err: "--add-ca " + leafFile + `: "CN=not-a-ca" is not a CA certificate`, never: never},
		{name: "add-ca missing file", args: kc("--add-ca", filepath.Join(files, "no-such.crt")), code: 1, err: "--add-ca: open " + filepath.Join(files, "no-such.crt") + ": no such file"},
		{name: "add-ca a directory", args: kc("--add-ca", files), code: 1, err: "--add-ca: " + files},
		{name: "remove-ca not present", args: kc("--remove-ca", newCAFile), code: 1, err: "--remove-ca " + newCAFile + `: not in the CA bundle of cluster "` + clusterName + `" in ` + kubeconfig},
		{name: "remove-ca missing file", args: kc("--remove-ca", filepath.Join(files, "no-such.crt")), code: 1, err: "--remove-ca: open " + filepath.Join(files, "no-such.crt")},
		{name: "remove-ca a private key", args: kc("--remove-ca", newKeyFile), code: 1, err: "--remove-ca: " + newKeyFile + ": no CERTIFICATE block", never: never},
		{name: "remove-ca the only CA", args: kc("--remove-ca", clusterCAFile), code: 1, err: "--remove-ca " + clusterCAFile + ": that would remove every CA"},
		{name: "remove the cluster CA", args: kc("--remove-ca", clusterCAFile), kubeconfig: both, code: 1, err: "could not verify " + c.Server},
		{name: "remove the cluster CA, dry run", args: kc("--remove-ca", clusterCAFile, "--dry-run"), kubeconfig: both, code: 1, err: "--force to write anyway"},
		{name: "remove the cluster CA by fingerprint", args: kc("--remove-fingerprint", clusterPrint), kubeconfig: both, code: 1, err: "could not verify " + c.Server},
		{name: "fingerprint malformed", args: kc("--remove-fingerprint", "zz:zz"), code: 1, err: `--remove-fingerprint "zz:zz": not a SHA-256 fingerprint`},
		{name: "fingerprint too short", args: kc("--remove-fingerprint", newPrint[:40]), code: 1, err: `--remove-fingerprint "` + newPrint[:40] + `": not a SHA-256 fingerprint`},
		{name: "fingerprint SHA-1", args: kc("--remove-fingerprint", "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"), code: 1, err: "not a SHA-256 fingerprint"},
		{name: "fingerprint not present", args: kc("--remove-fingerprint", newPrint), code: 1, err: "--remove-fingerprint " + newPrint + ": not in the CA bundle"},
		{name: "context missing", args: kc("--add-ca", newCAFile, "--context", "no-such-context"), code: 1, err: `--context "no-such-context": no such context in ` + kubeconfig},
		{name: "context of no cluster", args: kc("--add-ca", newCAFile, "--context", "ghost"), kubeconfig: both, code: 1, err: `no file defines cluster "no-such-cluster"`},
		{name: "cluster missing", args: kc("--add-ca", newCAFile, "--cluster", "no-such-cluster"), code: 1, err: `no file defines cluster "no-such-cluster"`},
		{name: "kubeconfig missing", args: kc("--add-ca", newCAFile), kubeconfig: filepath.Join(kdir, "absent"), code: 1, err: "kubeconfig " + filepath.Join(kdir, "absent") + ": no current context"},
		{name: "output bogus", args: kc("--add-ca", newCAFile, "-o", "bogus"), code: 1, err: `--output "bogus"`},
		{name: "add-ca from stdin", args: kc("--add-ca", "-"), stdin: []byte("garbage on stdin\n"), code: 1, err: "--add-ca: open -: no such file"},
		{name: "add-ca over 8 MiB", args: kc("--add-ca", hugeFile), code: 1, err: "--add-ca: " + hugeFile + ": "},
		{name: "cluster CA file missing", args: kc("--add-ca", newCAFile), kubeconfig: caFileKC, code: 1, err: `certificate-authority: open ` + filepath.Join(kdir, "missing-ca.crt")},
		{name: "cluster CA data garbage", args: kc("--add-ca", newCAFile), kubeconfig: garbageKC, code: 1, err: `certificate-authority-data: `},
		// Accepted, written nowhere.
		{name: "add-ca dry run", args: kc("--add-ca", newCAFile, "--dry-run"), code: 0, stdout: []string{newPrint[:16], "true"}},
		{name: "add-ca already there", args: kc("--add-ca", clusterCAFile), code: 0, stderr: []string{"already in the bundle"}},
		{name: "remove the new CA, dry run", args: kc("--remove-fingerprint", strings.ToUpper(newPrint), "--dry-run"), kubeconfig: both, code: 0, stdout: []string{newPrint[:16]}},
	}
	for i := range rows {
		rows[i].never = append(rows[i].never, never...)
	}
	runBadInputs(t, badInputTable{disk: append(w.disk(), c.AdminKubeconfig), kubeconfig: kubeconfig, rows: w.rows(rows)})
}

// TestBadInputRotatePlan: kubectl rotate plan with delays out of range or
// unparseable and dates that are not dates; it writes nothing.
func TestBadInputRotatePlan(t *testing.T) {
	w := rbSetup(t)
	kubeconfig := w.path("kube", "config")
	writePath(t, kubeconfig, rbRead(t, w.c.AdminKubeconfig), 0o600)
	plan := func(args ...string) []string { return rbArgs(append([]string{"plan"}, args...)...) }
	soon := time.Now().Add(40 * 24 * time.Hour).UTC().Format("2006-01-02")
	rows := []badInput{
		{name: "no delay", args: plan(), code: 1, err: "--delay is required"},
		{name: "delay empty", args: plan("--delay", ""), code: 1, err: "--delay is required"},
		{name: "delay 0", args: plan("--delay", "0"), code: 1, err: "--delay 0: must be between 1 and 90 days"},
		{name: "delay P0D", args: plan("--delay", "P0D"), code: 1, err: "--delay P0D: must be between 1 and 90 days"},
		{name: "delay 91d", args: plan("--delay", "91d"), code: 1, err: "--delay 91d: must be between 1 and 90 days"},
		{name: "delay P91D", args: plan("--delay", "P91D"), code: 1, err: "--delay P91D: must be between 1 and 90 days"},
		{name: "delay P1Y", args: plan("--delay", "P1Y"), code: 1, err: "--delay P1Y: must be between 1 and 90 days"},
		{name: "delay 23h", args: plan("--delay", "23h"), code: 1, err: "--delay 23h: must be between 1 and 90 days"},
		{name: "delay garbage", args: plan("--delay", "soon"), code: 1, err: `--delay: invalid duration "soon"`},
		{name: "delay negative", args: plan("--delay", "-5d"), code: 1, err: `--delay: invalid duration "-5d"`},
		{name: "delay ISO garbage", args: plan("--delay", "P5X"), code: 1, err: `--delay: invalid duration "P5X"`},
		{name: "ca-expiry garbage", args: plan("--delay", "P5D", "--ca-expiry", "next spring"), code: 1, err: `--ca-expiry: "next spring" is not a date`},
		{name: "ca-expiry impossible date", args: plan("--delay", "P5D", "--ca-expiry", "2030-02-30"), code: 1, err: `--ca-expiry: "2030-02-30" is not a date`},
		{name: "ca-expiry US date", args: plan("--delay", "P5D", "--ca-expiry", "03/01/2030"), code: 1, err: `--ca-expiry: "03/01/2030" is not a date`},
		{name: "start garbage", args: plan("--delay", "P5D", "--start", "tomorrow"), code: 1, err: `--start: "tomorrow" is not a date`},
		{name: "output bogus", args: plan("--delay", "P5D", "-o", "bogus"), code: 1, err: `--output "bogus"`},
		// Accepted: the edges, and warnings (exit 2).
		{name: "delay 1d", args: plan("--delay", "1d", "--ca-expiry", "2040-01-01"), code: 0, stdout: []string{"start", "update-clients", "complete"}},
		{name: "delay 90d", args: plan("--delay", "90d", "--ca-expiry", "2040-01-01"), code: 0, stdout: []string{"complete"}},
		{name: "delay P5DT5H, cluster CA", args: plan("--delay", "P5DT5H"), code: 0, stdout: []string{"update-clients"}},
		{name: "CA expires soon", args: plan("--delay", "P5D", "--ca-expiry", soon), code: 2, stdout: []string{"complete"}, stderr: []string{"warning: the CA expires within 90 days"}},
		{name: "CA expires before completion", args: plan("--delay", "60d", "--ca-expiry", soon), code: 2, stderr: []string{"before the rotation completes"}},
		{name: "CA expired", args: plan("--delay", "P5D", "--ca-expiry", "2020-01-01"), code: 2, stderr: []string{"warning: the CA expired on 2020-01-01"}},
	}
	runBadInputs(t, badInputTable{disk: append(w.disk(), kubeconfig), kubeconfig: kubeconfig, rows: w.rows(rows)})
}
