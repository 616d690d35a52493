package e2e_test

// Bad-input tables of kubectl certs check (issue 11), one per source family:
// files, flags, endpoints, PKI directories (kubeadm and k3s), kubeconfigs,
// in-cluster sources and AKS nodes. Each row is held to the contract of
// runBadInputs (badinput_test.go).

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// nobodyUID is the unprivileged user commands run as when a row needs a
// permission the tests' root would not be denied.
const nobodyUID = "65534"

// certsInputs is a directory of inputs every user may read (0755, outside
// t.TempDir, whose parents are 0700), removed when the test ends.
type certsInputs struct {
	t   *testing.T
	dir string
	// good is a certificate valid for a year: every row checks it beside
	// the bad input, and it must still be reported.
	good     string
	goodCN   string
	goodCert *certtest.Cert
}

func newCertsInputs(t *testing.T) *certsInputs {
	t.Helper()
	dir, err := os.MkdirTemp("", "kubecerts-badinput-certs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755) // the locked directories
			}
			return nil
		})
		_ = os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := &certsInputs{t: t, dir: dir, goodCN: "badinput-good"}
	in.goodCert = certtest.New(t, certtest.Template{CommonName: in.goodCN}, nil)
	in.good = in.write("good.pem", in.goodCert.PEM())
	return in
}

func (in *certsInputs) write(name string, data []byte) string {
	in.t.Helper()
	return writeFile(in.t, in.dir, name, data)
}

func (in *certsInputs) path(name string) string { return filepath.Join(in.dir, name) }

// mkdir makes a directory (and its parents) under the inputs, mode 0755.
func (in *certsInputs) mkdir(name string) string {
	in.t.Helper()
	p := in.path(name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		in.t.Fatal(err)
	}
	return p
}

func (in *certsInputs) chmod(p string, mode os.FileMode) {
	in.t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		in.t.Fatal(err)
	}
}

// asNobody returns a before hook that makes the row's kubectl run as uid
// 65534 (through setpriv), with a copy of the plugin (kubectl-certs,
// kubectl-rotate, …) that user may run first on PATH: the tests run as root,
// whom chmod 000 does not stop.
func asNobody(t *testing.T, plugin string) func(t *testing.T) {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		return func(t *testing.T) { t.Skip("needs root and setpriv to run the command as an unprivileged user") }
	}
	kubectl, err := framework.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	plugins := framework.BuildPlugins(t)
	dir, err := os.MkdirTemp("", "kubecerts-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, plugin)
	if err := os.Link(filepath.Join(plugins, plugin), bin); err != nil {
		copyFile(t, filepath.Join(plugins, plugin), bin, 0o755)
	}
	wrapper := filepath.Join(dir, "kubectl-as-nobody")
	script := fmt.Sprintf("#!/bin/sh\nPATH=%s:$PATH exec %s --reuid=%s --regid=%s --clear-groups %s \"$@\"\n",
		dir, setpriv, nobodyUID, nobodyUID, kubectl)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T) { t.Setenv("KUBECERTS_KUBECTL", wrapper) }
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// stillChecked adds the good certificate to what every row but a usage
// error (which reads nothing) must report: the other inputs are still
// checked.
func (in *certsInputs) stillChecked(rows []badInput) {
	for i := range rows {
		if !strings.HasPrefix(rows[i].err, "--") {
			rows[i].stdout = append(rows[i].stdout, "CN="+in.goodCN)
		}
	}
}

// check is the arguments of kubectl certs check.
func check(args ...string) []string { return append([]string{"certs", "check"}, args...) }

// TestBadInputCertsCheckFiles: every bad file of issue 4, each given beside
// a good certificate that must still be reported.
func TestBadInputCertsCheckFiles(t *testing.T) {
	in := newCertsInputs(t)
	ca := certtest.CA(t, "badinput-ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "badinput-leaf"}, ca)
	leafPEM := leaf.PEM()
	keyPEM := leaf.KeyPEM(t)
	body := keyBody(keyPEM)

	empty := in.write("empty.pem", nil)
	noCert := in.write("csr.pem", []byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIBADCBpwIBADBFMQswCQYDVQQGEwJBVTETMBEGA1UECAwKU29tZS1TdGF0ZTEh\n-----END CERTIFICATE REQUEST-----\n"))
	truncated := in.write("truncated.pem", leafPEM[:len(leafPEM)/2])
	badB64 := in.write("bad-base64.pem", bytes.Replace(leafPEM, []byte("\n"), []byte("\n!!!!\n"), 2))
	crlf := in.write("crlf.pem", bytes.ReplaceAll(leafPEM, []byte("\n"), []byte("\r\n")))
	keyOnly := in.write("key.pem", keyPEM)
	keyAndCert := in.write("key-and-cert.pem", append(append([]byte{}, keyPEM...), leafPEM...))
	der := in.write("leaf.der", leaf.Cert.Raw)
	b64 := in.write("leaf.b64", []byte(base64.StdEncoding.EncodeToString(leafPEM)))
	b64b64 := in.write("leaf.b64b64", []byte(base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString(leafPEM)))))
	binary := in.write("bin.dat", append([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0}, bytes.Repeat([]byte{0, 0xff, 0x13}, 1000)...))
	text := in.write("notes.txt", []byte("this is not a certificate\n"))
	garbageDER := in.write("garbage.der", []byte{0x30, 0x03, 0x01, 0x01, 0xff})
	notACert := in.write("not-a-cert.pem", []byte("-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n"))
	big := in.write("big.pem", bytes.Repeat(leafPEM, (8<<20)/len(leafPEM)+1))
	dir := in.mkdir("a-directory")
	in.write("a-directory/inside.pem", leafPEM)
	missing := in.path("missing.pem")
	locked := in.mkdir("locked")
	lockedFile := in.write("locked/inside.pem", leafPEM)
	in.chmod(locked, 0o000)
	lockedKey := in.write("key-0600.pem", append(append([]byte{}, keyPEM...), leafPEM...))
	in.chmod(lockedKey, 0o600)
	brokenKC := in.write("broken.kubeconfig", []byte(`apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:1
    certificate-authority-data: `+base64.StdEncoding.EncodeToString(ca.PEM())+`
users:
- name: broken
  user:
    client-certificate-data: `+base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"))+`
    client-key-data: `+base64.StdEncoding.EncodeToString(keyPEM)+`
contexts:
- name: ctx
  context: {cluster: c1, user: broken}
current-context: ctx
`))
	dangling := in.path("dangling.pem")
	if err := os.Symlink(in.path("gone.pem"), dangling); err != nil {
		t.Fatal(err)
	}
	loop := in.path("loop1.pem")
	if err := os.Symlink(in.path("loop2.pem"), loop); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(loop, in.path("loop2.pem")); err != nil {
		t.Fatal(err)
	}
	halfBad := in.write("half-bad.pem", append(append([]byte{}, ca.PEM()...), leafPEM[:len(leafPEM)-40]...))
	notYAML := in.write("not-yaml.kubeconfig", []byte("apiVersion: v1\nkind: Config\nclusters: [\n"))
	missingClientCert := in.path("client-gone.crt")
	clientFileKC := in.write("client-file.kubeconfig", []byte(`apiVersion: v1
kind: Config
clusters: [{name: c1, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u1, user: {client-certificate: `+missingClientCert+`, client-key: `+in.path("client-gone.key")+`}}]
contexts: [{name: ctx, context: {cluster: c1, user: u1}}]
current-context: ctx
`))
	nobody := asNobody(t, "kubectl-certs")
	good := []string{"--file", in.good}
	rows := []badInput{
		{name: "an empty file", args: check(append(good, "--file", empty)...), code: 1,
			err: "file " + empty + ": empty"},
		{name: "PEM with no CERTIFICATE block", args: check(append(good, "--file", noCert)...), code: 1,
			err: "file " + noCert + ": no CERTIFICATE block, only a CERTIFICATE REQUEST"},
		{name: "truncated PEM", args: check(append(good, "--file", truncated)...), code: 1,
			err: "file " + truncated + ": PEM block 1 (line 1): truncated CERTIFICATE block"},
		{name: "bad base64 inside PEM", args: check(append(good, "--file", badB64)...), code: 1,
			err: "file " + badB64 + ": PEM block 1 (line 1): malformed CERTIFICATE block"},
		{name: "CRLF line endings are accepted", args: check(append(good, "--file", crlf)...), code: 0,
			stdout: []string{crlf, "CN=badinput-leaf"}, stderr: []string{"note: " + crlf + ": CRLF line endings"}},
		{name: "a PEM holding only a private key", args: check(append(good, "--file", keyOnly)...), code: 1,
			err: "file " + keyOnly + ": no CERTIFICATE block, only a private key (PEM block 1), not read", never: []string{body}},
		{name: "a private key beside a certificate is skipped", args: check(append(good, "--file", keyAndCert)...), code: 0,
			stdout: []string{keyAndCert, "CN=badinput-leaf"}, stderr: []string{"skipped a private key (PEM block 1), not read"}, never: []string{body}},
		{name: "a private key readable by its owner only", args: check(append(good, "--file", lockedKey, "-o", "json")...), code: 0,
			stdout: []string{lockedKey, "CN=badinput-leaf"}, never: []string{body}},
		{name: "DER is accepted", args: check(append(good, "--file", der)...), code: 0,
			stdout: []string{der, "CN=badinput-leaf"}},
		{name: "base64 of PEM is accepted and noted", args: check(append(good, "--file", b64)...), code: 0,
			stdout: []string{b64, "CN=badinput-leaf"}, stderr: []string{"note: " + b64 + ": the data is base64-encoded PEM; decoded"}},
		{name: "base64 of base64 is accepted and noted", args: check(append(good, "--file", b64b64)...), code: 0,
			stdout: []string{b64b64}, stderr: []string{"the data is base64-encoded 2 times; decoded"}},
		{name: "a binary file", args: check(append(good, "--file", binary)...), code: 1,
			err: "file " + binary + ": binary data that is neither PEM, DER nor base64"},
		{name: "a text file", args: check(append(good, "--file", text)...), code: 1,
			err: "file " + text + ": text without a PEM block"},
		{name: "garbage DER", args: check(append(good, "--file", garbageDER)...), code: 1,
			err: "file " + garbageDER + ": DER data does not parse as a certificate"},
		{name: "a CERTIFICATE block that is not a certificate", args: check(append(good, "--file", notACert)...), code: 1,
			err: "file " + notACert + ": PEM block 1 (line 1): CERTIFICATE does not parse"},
		{name: "a file over the 8 MiB limit", args: check(append(good, "--file", big)...), code: 1,
			err: "file " + big + ": " + fmt.Sprint(len(bytes.Repeat(leafPEM, (8<<20)/len(leafPEM)+1))) + " bytes is over the 8388608-byte limit"},
		{name: "a missing file", args: check(append(good, "--file", missing)...), code: 1,
			err: "file " + missing + ": no such file or directory"},
		{name: "a directory instead of a file", args: check(append(good, "--file", dir)...), code: 1,
			err: "file " + dir + ": is a directory (give its files with --file '" + dir + "/*')"},
		{name: "a glob that matches nothing", args: check(append(good, "--file", in.path("nothing-*.pem"))...), code: 1,
			err: "file " + in.path("nothing-*.pem") + ": no files match"},
		{name: "a malformed glob", args: check(append(good, "--file", in.path("[a-"))...), code: 1,
			err: "file " + in.path("[a-") + ": bad pattern"},
		{name: "a directory without read permission", args: check(append(good, "--file", filepath.Join(locked, "*"))...), code: 1,
			err:    "file " + filepath.Join(locked, "*") + ": no files match: cannot read directory " + locked + ": permission denied",
			before: nobody},
		{name: "a file in a directory without permission", args: check(append(good, "--file", lockedFile)...), code: 1,
			err: "file " + lockedFile + ": permission denied", before: nobody},
		{name: "a private key the user may not read", args: check(append(good, "--file", lockedKey)...), code: 1,
			err: "file " + lockedKey + ": permission denied", never: []string{body}, before: nobody},
		{name: "a kubeconfig with broken client-certificate-data", args: check(append(good, "--file", brokenKC)...), code: 1,
			err:    "file " + brokenKC + " (user broken): client-certificate-data: PEM block 1 (line 1): malformed CERTIFICATE block",
			stdout: []string{brokenKC + " (cluster c1) certificate-authority-data", "CN=badinput-ca"}, never: []string{body}},
		{name: "a device that never ends (/dev/zero)", args: check(append(good, "--file", "/dev/zero")...), code: 1,
			err: "file /dev/zero: over the 8388608-byte limit"},
		{name: "/dev/null", args: check(append(good, "--file", "/dev/null")...), code: 1,
			err: "file /dev/null: empty"},
		{name: "a dangling symbolic link", args: check(append(good, "--file", dangling)...), code: 1,
			err: "file " + dangling + ": no such file or directory"},
		{name: "a symbolic link loop", args: check(append(good, "--file", loop)...), code: 1,
			err: "file " + loop + ": too many levels of symbolic links"},
		{name: "a bundle whose second certificate is cut", args: check(append(good, "--file", halfBad)...), code: 1,
			err: "file " + halfBad + ": PEM block 2 (line ", stdout: []string{"CN=badinput-ca"}},
		{name: "a kubeconfig file that does not parse", args: check(append(good, "--file", notYAML)...), code: 1,
			err: "file " + notYAML + ": not a kubeconfig"},
		{name: "a kubeconfig file whose client-certificate is missing", args: check(append(good, "--file", clientFileKC)...), code: 1,
			err: "file " + clientFileKC + " (user u1): client-certificate: open " + missingClientCert + ": no such file or directory"},
		{name: "an empty --file", args: check(append(good, "--file", "")...), code: 1,
			err: `--file "": must not be empty`},
		{name: "the good file alone through the unprivileged user", args: check(good...), code: 0, before: nobody},
	}
	in.stillChecked(rows)
	runBadInputs(t, badInputTable{disk: []string{in.dir}, rows: rows})
}

// TestBadInputCertsCheckFlags: flag values that cannot be used are usage
// errors naming the flag and its value, before anything is read.
func TestBadInputCertsCheckFlags(t *testing.T) {
	in := newCertsInputs(t)
	good := []string{"--file", in.good}
	locked := in.mkdir("textfile-locked")
	in.chmod(locked, 0o555)
	nobody := asNobody(t, "kubectl-certs")
	usage := func(name string, code int, err string, args ...string) badInput {
		return badInput{name: name, args: check(append(append([]string{}, good...), args...)...), code: code, err: err}
	}
	rows := []badInput{
		usage("--critical-within longer than --warn-within", 1, "--critical-within (40d) must not be longer than --warn-within (30d)", "--critical-within", "40d"),
		usage("--warn-within shorter than the default --critical-within", 1, "--critical-within (7d) must not be longer than --warn-within (1d)", "--warn-within", "1d"),
		usage("--warn-within negative", 1, `invalid argument "-1d" for "--warn-within" flag`, "--warn-within", "-1d"),
		usage("--critical-within garbage", 1, `invalid argument "soon" for "--critical-within" flag`, "--critical-within", "soon"),
		usage("--expiring-within garbage", 1, `invalid argument "xx" for "--expiring-within" flag`, "--expiring-within", "xx"),
		usage("--sort-by bogus", 1, `--sort-by "bogus": use expiry or location`, "--sort-by", "bogus"),
		usage("--source bogus", 1, `--source "bogus": unknown source`, "--source", "file,bogus"),
		usage("-o bogus", 1, `--output "bogus": unknown format`, "-o", "bogus"),
		usage("a jsonpath that does not parse", 1, "jsonpath", "-o", "jsonpath={.certificates[", "--source", "file"),
		usage("-o go-template-file missing", 1, `--output "go-template-file=`+in.path("missing.tmpl")+`": cannot read the template file: no such file or directory`, "-o", "go-template-file="+in.path("missing.tmpl")),
		usage("a go-template that does not parse", 1, "unclosed action", "-o", "go-template={{.x"),
		usage("--warn-within too large", 1, `invalid argument "999999999y" for "--warn-within" flag`, "--warn-within", "999999999y"),
		usage("--status bogus", 1, `--status "bogus"`, "--status", "OK,bogus"),
		usage("--chunk-size negative", 1, "--chunk-size -1: must not be negative", "--chunk-size", "-1"),
		usage("--chunk-size not a number", 1, `invalid argument "many" for "--chunk-size" flag`, "--chunk-size", "many"),
		usage("--qps zero", 1, "--qps and --burst must be positive", "--qps", "0"),
		usage("--burst negative", 1, "--qps and --burst must be positive", "--burst", "-5"),
		usage("--all-contexts given a value", 1, `invalid argument "maybe" for "--all-contexts" flag`, "--all-contexts=maybe"),
		usage("an argument", 1, `unknown command "extra" for "kubectl certs check"`, "extra"),
		usage("an unknown flag", 1, "unknown flag: --files", "--files", in.good),
		{name: "--source endpoint without --endpoint", args: check("--source", "endpoint"), code: 1,
			err: "--source endpoint needs at least one --endpoint"},
		{name: "--source file without --file", args: check("--source", "file"), code: 1,
			err: "--source file needs at least one --file"},
		usage("--run-command-output with --source file", 1, "--run-command-output is read by the nodes source", "--source", "file", "--run-command-output", in.good),
		{name: "--expiring-within filters everything out", args: check(append(good, "--expiring-within", "1d")...), code: 0,
			stderr: []string{"note: no certificates found"}},
		usage("-o prometheus with a template", 1, "template", "-o", "prometheus", "--template", "{{.x}}"),
		usage("--textfile into a missing directory", 1, "--textfile "+in.path("missing/certs.prom")+": directory "+in.path("missing")+": no such file or directory",
			"--textfile", in.path("missing/certs.prom")),
		usage("--textfile below a file", 1, "--textfile "+in.good+"/certs.prom: "+in.good+" is not a directory", "--textfile", in.good+"/certs.prom"),
		usage("--textfile a directory", 1, "--textfile "+in.dir+": is a directory", "--textfile", in.dir),
		usage("--textfile with -o json", 1, "--textfile writes the Prometheus format: -o json cannot go with it", "--textfile", in.path("certs.prom"), "-o", "json"),
		{name: "--textfile into an unwritable directory", args: check(append(good, "--textfile", locked+"/certs.prom")...), code: 1,
			err: "--textfile " + locked + "/certs.prom: directory " + locked + " cannot be written: permission denied", before: nobody},
		{name: "--record-events with file sources only", args: check(append(good, "--record-events")...), code: 0,
			stdout: []string{"CN=" + in.goodCN}, stderr: []string{"note: --record-events: the sources checked (file) hold no Kubernetes objects"}},
		// --print-manifests (issue 18): a schedule the API server would
		// refuse, and sources that cannot run in the CronJob's pod.
		{name: "--schedule not a cron expression", args: check("--print-manifests", "--source", "secrets", "--schedule", "not cron"), code: 1,
			err: `--schedule "not cron": not a cron expression`},
		{name: "--schedule with a time zone", args: check("--print-manifests", "--schedule", "CRON_TZ=UTC 0 6 * * *"), code: 1,
			err: `--schedule "CRON_TZ=UTC 0 6 * * *": no TZ= or CRON_TZ=`},
		{name: "--schedule without --print-manifests", args: check(append(good, "--schedule", "@hourly")...), code: 1,
			err: "--schedule applies only with --print-manifests"},
		{name: "--print-manifests with a file", args: check("--print-manifests", "--file", in.good), code: 1,
			err: `--print-manifests: source "file" (from --file) cannot run in the cluster`},
		{name: "--print-manifests with the kubeconfig", args: check("--print-manifests", "--source", "secrets,kubeconfig"), code: 1,
			err: `--print-manifests: source "kubeconfig" cannot run in the cluster`},
		{name: "--print-manifests with --all-contexts", args: check("--print-manifests", "--all-contexts"), code: 1,
			err: "--print-manifests: --all-contexts cannot run in the cluster"},
	}
	runBadInputs(t, badInputTable{disk: []string{in.dir}, rows: rows})
}

// listenFor starts a TCP listener on loopback that handles each connection
// with serve, for the length of the test.
func listenFor(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go serve(c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestBadInputCertsCheckEndpoint: endpoints that do not speak TLS, never
// answer, refuse, or are not endpoints at all; the good file is still
// checked.
func TestBadInputCertsCheckEndpoint(t *testing.T) {
	in := newCertsInputs(t)
	good := []string{"--file", in.good}
	plainHTTP := listenFor(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		c.Close()
	})
	silent := listenFor(t, func(c net.Conn) {}) // accepts, never answers
	closes := listenFor(t, func(c net.Conn) { c.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()

	c := framework.Shared(t)
	server := strings.TrimPrefix(c.Server, "https://")

	ep := func(name string, code int, err string, args ...string) badInput {
		return badInput{name: name, args: check(append(append([]string{}, good...), args...)...), code: code, err: err,
			stdout: []string{"CN=" + in.goodCN}}
	}
	usage := func(name, err string, args ...string) badInput {
		return badInput{name: name, args: check(append(append([]string{}, good...), args...)...), code: 1, err: err}
	}
	rows := []badInput{
		ep("an endpoint that does not speak TLS", 1, "endpoint "+plainHTTP+": does not speak TLS", "--endpoint", plainHTTP),
		ep("an endpoint that accepts and never answers", 1, "endpoint "+silent+": no TLS handshake within 2s", "--endpoint", silent, "--request-timeout", "2s"),
		ep("an endpoint that closes the connection", 1, "endpoint "+closes+":", "--endpoint", closes),
		ep("an endpoint that refuses", 1, "endpoint "+refused+": connect: connection refused", "--endpoint", refused),
		ep("an https URL that refuses", 1, "endpoint https://"+refused+"/healthz:", "--endpoint", "https://"+refused+"/healthz"),
		ep("a host that does not resolve", 1, "endpoint no-such-host.invalid:443:", "--endpoint", "no-such-host.invalid:443", "--request-timeout", "5s"),
		ep("an endpoint without a port (443) that refuses", 1, "endpoint 127.0.0.1:", "--endpoint", "127.0.0.1"),
		{name: "an endpoint whose chain does not verify against the system roots", args: check(append(append([]string{}, good...), "--endpoint", server)...), code: 1,
			err: "endpoint " + server + ": the served chain does not verify against the system roots", stdout: []string{"CN=" + in.goodCN, server + " [0]"},
			stderr: []string{"if the endpoint uses a private CA, give it with --certificate-authority"}},
		{name: "the same endpoint verified with --certificate-authority (accepted)", args: check(append(append([]string{}, good...), "--endpoint", server, "--certificate-authority", filepath.Join(c.PKIDir, "ca.crt"))...), code: 0,
			stdout: []string{"CN=" + in.goodCN, server + " [0]"}},
		usage("--certificate-authority missing", "--certificate-authority "+in.path("no-ca.crt")+": no such file or directory", "--endpoint", server, "--certificate-authority", in.path("no-ca.crt")),
		usage("--certificate-authority not a certificate", "--certificate-authority "+in.write("not-a-ca.txt", []byte("hello\n"))+": text without a PEM block", "--endpoint", server, "--certificate-authority", in.path("not-a-ca.txt")),
		usage("an http URL", `--endpoint: endpoint "http://`+refused+`": scheme "http" is not https`, "--endpoint", "http://"+refused),
		usage("a URL that does not parse", `--endpoint: endpoint "https://[::1": `, "--endpoint", "https://[::1"),
		usage("an endpoint without a host", `--endpoint: endpoint ":443": no host`, "--endpoint", ":443"),
		usage("an empty endpoint", "--endpoint: empty endpoint", "--endpoint", ""),
		usage("a port that is not a number", `--endpoint: endpoint "127.0.0.1:https4"`, "--endpoint", "127.0.0.1:https4"),
		usage("--request-timeout garbage", `--request-timeout "soon": give seconds (30) or a number with a unit (30s, 2m, 1h); 0 waits forever`, "--endpoint", refused, "--request-timeout", "soon"),
	}
	runBadInputs(t, badInputTable{disk: []string{in.dir}, rows: rows})
}

// TestBadInputCertsCheckPKIDir: kubeadm and k3s directories that are
// missing, files, unreadable, or hold broken files.
func TestBadInputCertsCheckPKIDir(t *testing.T) {
	in := newCertsInputs(t)
	ca := certtest.CA(t, "badinput-pki-ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "kube-apiserver", DNSNames: []string{"kubernetes"}}, ca)
	keyPEM := leaf.KeyPEM(t)
	body := keyBody(keyPEM)

	// A kubeadm directory whose apiserver.crt is broken: the CA is still
	// reported, the missing files are skipped.
	broken := in.mkdir("kubeadm-broken/pki")
	in.write("kubeadm-broken/pki/ca.crt", ca.PEM())
	in.write("kubeadm-broken/pki/ca.key", ca.KeyPEM(t))
	in.write("kubeadm-broken/pki/apiserver.crt", leaf.PEM()[:200])
	in.write("kubeadm-broken/pki/apiserver.key", keyPEM)
	// A kubeadm directory whose admin.conf is a broken kubeconfig.
	confPKI := in.mkdir("kubeadm-conf/pki")
	in.write("kubeadm-conf/pki/ca.crt", ca.PEM())
	brokenConf := in.write("kubeadm-conf/admin.conf", []byte("apiVersion: v1\nkind: Config\nusers: [\n"))
	// A kubeadm directory with a key in place of a certificate.
	keyAsCert := in.mkdir("kubeadm-key/pki")
	in.write("kubeadm-key/pki/ca.crt", ca.PEM())
	in.write("kubeadm-key/pki/front-proxy-ca.crt", keyPEM)
	locked := in.mkdir("kubeadm-locked/pki")
	in.write("kubeadm-locked/pki/ca.crt", ca.PEM())
	in.chmod(locked, 0o000)
	lockedSub := in.mkdir("kubeadm-locked-etcd/pki")
	in.write("kubeadm-locked-etcd/pki/ca.crt", ca.PEM())
	in.mkdir("kubeadm-locked-etcd/pki/etcd")
	in.chmod(filepath.Join(lockedSub, "etcd"), 0o000)
	k3s := in.mkdir("k3s-locked")
	in.mkdir("k3s-locked/server/tls")
	in.chmod(k3s, 0o000)
	k3sBroken := in.mkdir("k3s-broken")
	in.write("k3s-broken/server/tls/server-ca.crt", []byte("garbage\n"))
	in.write("k3s-broken/server/tls/client-ca.crt", ca.PEM())
	missing := in.path("no-such-dir")
	nobody := asNobody(t, "kubectl-certs")
	none := in.path("no-kubeconfigs")
	noKubelet := in.path("no-kubelet")

	good := []string{"--file", in.good}
	pki := func(dir string, extra ...string) []string {
		return check(append(append(append([]string{}, good...), "--pki-dir", dir, "--kubeconfig-dir", none, "--kubelet-pki-dir", noKubelet), extra...)...)
	}
	rows := []badInput{
		{name: "--pki-dir missing", args: pki(missing), code: 1, err: "pki-dir " + missing + ": no such file or directory"},
		{name: "--pki-dir a file", args: pki(in.good), code: 1, err: "pki-dir " + in.good + ": not a directory"},
		{name: "--pki-dir without read permission", args: pki(locked), code: 1, err: "pki-dir " + locked + ": permission denied", before: nobody},
		{name: "--pki-dir with a broken apiserver.crt", args: pki(broken), code: 1,
			err:    "pki-dir " + filepath.Join(broken, "apiserver.crt") + ": PEM block 1 (line 1): truncated CERTIFICATE block",
			stdout: []string{filepath.Join(broken, "ca.crt"), "CN=badinput-pki-ca"}, never: []string{body}},
		{name: "--pki-dir with a private key for a certificate", args: pki(keyAsCert), code: 1,
			err:    "pki-dir " + filepath.Join(keyAsCert, "front-proxy-ca.crt") + ": no CERTIFICATE block, only a private key",
			stdout: []string{filepath.Join(keyAsCert, "ca.crt")}, never: []string{body}},
		{name: "--pki-dir with an unreadable etcd directory", args: pki(lockedSub), code: 1, before: nobody,
			err: "pki-dir " + filepath.Join(lockedSub, "etcd"), stdout: []string{filepath.Join(lockedSub, "ca.crt")}},
		{name: "--kubeconfig-dir with a broken admin.conf", args: check(append(append([]string{}, good...), "--pki-dir", confPKI, "--kubelet-pki-dir", noKubelet)...), code: 1,
			err: "pki-dir " + brokenConf + ": not a kubeconfig", stdout: []string{filepath.Join(confPKI, "ca.crt")}},
		{name: "--kubeconfig-dir a file", args: check(append(append([]string{}, good...), "--pki-dir", confPKI, "--kubeconfig-dir", in.good, "--kubelet-pki-dir", noKubelet)...), code: 1,
			err: "pki-dir " + in.good + ": not a directory", stdout: []string{filepath.Join(confPKI, "ca.crt")}},
		{name: "--kubelet-pki-dir a file", args: check(append(append([]string{}, good...), "--pki-dir", confPKI, "--kubeconfig-dir", none, "--kubelet-pki-dir", in.good)...), code: 1,
			err: "pki-dir " + in.good + ": not a directory", stdout: []string{filepath.Join(confPKI, "ca.crt")}},
		{name: "--pki-dir empty", args: pki(""), code: 1, err: `--pki-dir "": must not be empty`},
		{name: "--k3s-dir empty", args: check(append(append([]string{}, good...), "--k3s-dir", "")...), code: 1,
			err: `--k3s-dir "": must not be empty`},
		{name: "--k3s-dir missing", args: check(append(append([]string{}, good...), "--k3s-dir", missing)...), code: 1,
			err: "k3s-dir " + missing + ": no such file or directory"},
		{name: "--k3s-dir a file", args: check(append(append([]string{}, good...), "--k3s-dir", in.good)...), code: 1,
			err: "k3s-dir " + in.good + ": not a directory"},
		{name: "--k3s-dir without read permission", args: check(append(append([]string{}, good...), "--k3s-dir", k3s)...), code: 1,
			err: "k3s-dir " + k3s + ": permission denied", before: nobody},
		{name: "--k3s-dir with a broken server-ca.crt", args: check(append(append([]string{}, good...), "--k3s-dir", k3sBroken)...), code: 1,
			err:    "k3s-dir " + filepath.Join(k3sBroken, "server/tls/server-ca.crt") + ": text without a PEM block",
			stdout: []string{filepath.Join(k3sBroken, "server/tls/client-ca.crt")}},
	}
	in.stillChecked(rows)
	runBadInputs(t, badInputTable{disk: []string{in.dir}, rows: rows})
}

// TestBadInputCertsCheckKubeconfig: kubeconfigs that are missing, not
// kubeconfigs, name what they do not define, or hold broken certificates.
func TestBadInputCertsCheckKubeconfig(t *testing.T) {
	c := framework.Shared(t)
	in := newCertsInputs(t)
	admin, err := clientcmd.LoadFromFile(c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var adminKey []byte
	for _, u := range admin.AuthInfos {
		adminKey = u.ClientKeyData
	}
	body := keyBody(adminKey)
	writeKC := func(name string, mutate func(cfg *clientcmdapi.Config)) string {
		cfg := admin.DeepCopy()
		mutate(cfg)
		p := in.path(name)
		if err := clientcmd.WriteToFile(*cfg, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	brokenClient := writeKC("broken-client.conf", func(cfg *clientcmdapi.Config) {
		for _, u := range cfg.AuthInfos {
			u.ClientCertificateData = []byte("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
		}
	})
	brokenCA := writeKC("broken-ca.conf", func(cfg *clientcmdapi.Config) {
		for _, cl := range cfg.Clusters {
			cl.CertificateAuthorityData = []byte("garbage, not a CA bundle")
		}
	})
	missingCAFile := in.path("missing-ca.crt")
	caFileMissing := writeKC("ca-file-missing.conf", func(cfg *clientcmdapi.Config) {
		for _, cl := range cfg.Clusters {
			cl.CertificateAuthorityData, cl.CertificateAuthority = nil, missingCAFile
		}
	})
	noContexts := in.write("no-contexts.conf", []byte("apiVersion: v1\nkind: Config\n"))
	emptyKC := in.write("empty.conf", nil)
	binary := in.write("bin.dat", bytes.Repeat([]byte{0, 0xff, 0x13, 0x7f}, 500))
	dir := in.mkdir("a-directory")
	missing := in.path("missing.conf")

	kc := func(name string, code int, err string, args ...string) badInput {
		return badInput{name: name, args: check(args...), code: code, err: err, never: []string{body}}
	}
	rows := []badInput{
		kc("--kubeconfig missing", 1, "kubeconfig "+missing+": no such file or directory", "--kubeconfig", missing),
		kc("--kubeconfig a directory", 1, "kubeconfig "+dir+": is a directory", "--kubeconfig", dir),
		kc("--kubeconfig a binary file", 1, "kubeconfig "+binary+": ", "--kubeconfig", binary),
		kc("--kubeconfig an empty file", 1, "kubeconfig "+emptyKC+": no contexts in it", "--kubeconfig", emptyKC),
		kc("--kubeconfig without contexts", 1, "kubeconfig "+noContexts+": no contexts in it", "--kubeconfig", noContexts),
		kc("--kubeconfig without contexts, --all-contexts", 1, "kubeconfig "+noContexts+": no contexts in it", "--kubeconfig", noContexts, "--all-contexts"),
		kc("--context that does not exist", 1, `kubeconfig context/nope: context "nope" does not exist`, "--context", "nope"),
		kc("--cluster that does not exist", 1, `cluster "nope" does not exist`, "--cluster", "nope"),
		kc("--user that does not exist", 1, `"nope" does not exist`, "--user", "nope"),
		kc("--certificate-authority missing", 1, "unable to read certificate-authority "+in.path("no-ca.crt"), "--certificate-authority", in.path("no-ca.crt")),
		kc("--server that refuses", 1, "apiserver https://127.0.0.1:1", "--server", "https://127.0.0.1:1", "--request-timeout", "3s"),
		{name: "broken client-certificate-data", kubeconfig: brokenClient, args: check(), code: 1,
			err: "client-certificate-data: PEM block 1 (line 1): malformed CERTIFICATE block", never: []string{body}},
		{name: "broken certificate-authority-data", kubeconfig: brokenCA, args: check(), code: 1,
			err: "certificate-authority-data: text without a PEM block", stdout: []string{"apiserver"}, never: []string{body}},
		{name: "broken certificate-authority-data, --source apiserver", kubeconfig: brokenCA, args: check("--source", "apiserver"), code: 1,
			err: "certificate-authority-data: text without a PEM block", stdout: []string{"apiserver"}, never: []string{body}},
		{name: "certificate-authority file missing", kubeconfig: caFileMissing, args: check(), code: 1,
			err: missingCAFile, never: []string{body}},
	}
	runBadInputs(t, badInputTable{disk: []string{in.dir}, rows: rows})
}

// TestBadInputCertsCheckCluster: a secret whose tls.crt is garbage (an
// error for that secret only), a namespace the user may not read, selectors
// the API server refuses.
func TestBadInputCertsCheckCluster(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ctx := t.Context()
	ns := createNamespace(t, admin, admin, "badinput-certs-")
	goodCrt, goodKey := chkChain(t, 1, "badinput-secret")
	_, err := admin.CoreV1().Secrets(ns).Create(ctx, chkTLSSecret(ns, "good", goodCrt, goodKey), metav1.CreateOptions{})
	chkCreated(t, "secret", 0, err)
	_, garbageKey := chkChain(t, 1, "badinput-garbage")
	_, err = admin.CoreV1().Secrets(ns).Create(ctx, chkTLSSecret(ns, "garbage", []byte("this is not a certificate"), garbageKey), metav1.CreateOptions{})
	chkCreated(t, "secret", 0, err)
	const password = "s3cr3t-badinput-password-value"
	_, err = admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "opaque"},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"password": []byte(password), "ca.crt": []byte("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")},
	}, metav1.CreateOptions{})
	chkCreated(t, "secret", 0, err)
	never := []string{keyBody(goodKey), keyBody(garbageKey), password, base64.StdEncoding.EncodeToString([]byte(password))}

	user := "badinput-" + ns
	chkGrantCluster(t, admin, user, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}})
	limited, err := c.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	rows := []badInput{
		{name: "a secret whose tls.crt is garbage", args: check("--source", "secrets", "-n", ns), code: 1,
			err: "secret/" + ns + "/garbage/tls.crt", stdout: []string{"secret/" + ns + "/good/tls.crt"}, never: never},
		{name: "an Opaque secret whose ca.crt is broken", args: check("--source", "secrets", "-n", ns, "--all-secret-types", "--field-selector", "metadata.name=opaque"), code: 1,
			err: "secret/" + ns + "/opaque/ca.crt", never: never},
		{name: "a namespace the user may not read", kubeconfig: limited, args: check("--source", "secrets", "-n", ns), code: 1,
			err: "missing permission to list secrets in namespace " + ns, never: never},
		{name: "configmaps in a namespace the user may not read", kubeconfig: limited, args: check("--source", "configmaps", "-n", ns), code: 1,
			err: "missing permission to list configmaps in namespace " + ns, never: never},
		{name: "--as a user who may not read the namespace", args: check("--source", "secrets", "-n", ns, "--as", "badinput-nobody"), code: 1,
			err: "missing permission to list secrets in namespace " + ns, never: never},
		{name: "a namespace that does not exist", args: check("--source", "secrets", "-n", "badinput-no-such-namespace"), code: 0,
			stderr: []string{"note: no certificates found"}, never: never},
		{name: "a label selector that does not parse", args: check("--source", "secrets", "-n", ns, "-l", "a in (b"), code: 1,
			err: `-l/--selector "a in (b": unable to parse requirement`, never: never},
		{name: "a field selector that does not parse", args: check("--source", "secrets", "-n", ns, "--field-selector", "name"), code: 1,
			err: `--field-selector "name": invalid selector`, never: never},
		{name: "a field selector the API server refuses", args: check("--source", "secrets", "-n", ns, "--field-selector", "spec.bogus=x"), code: 1,
			err: "spec.bogus", never: never},
	}
	runBadInputs(t, badInputTable{namespaces: []string{ns}, rows: rows})
}

// TestBadInputCertsCheckNodes: the flag-level bad inputs of the nodes
// source (its az failures are in check_nodes_test.go).
func TestBadInputCertsCheckNodes(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	in := newCertsInputs(t)
	az := newFakeAzure(t)
	for _, kv := range az.env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	label := "badinput-" + randomSuffix(t)
	node := "badinput-" + label
	d := az.vmssDir("MC_badinput", "vmss", "0")
	cert := az.cert(d, "/var/lib/kubelet/pki/kubelet-client-current.pem", certtest.Template{CommonName: "system:node:" + node}, true)
	createAzureNode(t, admin, node, az.vmssProviderID("resourceGroups", "MC_badinput", "vmss", "0"), "linux", label)
	body := keyBody(cert.KeyPEM(t))

	garbage := in.write("garbage.txt", []byte("hello\nworld\n"))
	binary := in.write("bin.dat", bytes.Repeat([]byte{0, 0xff, 0x13, 0x7f}, 500))
	dir := in.mkdir("a-directory")
	missing := in.path("missing.txt")
	notExec := in.write("az-not-executable", []byte("#!/bin/sh\necho hi\n"))
	nodes := func(args ...string) []string {
		return check(append([]string{"--source", "nodes", "-l", nodesLabel + "=" + label, "--az-path", az.bin, "--node-resource-group", az.rgID("MC_badinput")}, args...)...)
	}
	offline := func(args ...string) []string {
		return check(append([]string{"--node", "n1"}, args...)...)
	}
	rows := []badInput{
		{name: "the good node (a control row)", args: nodes(), code: 0, stdout: []string{"node/" + node + ":/var/lib/kubelet/pki/kubelet-client-current.pem"},
			never: []string{body}, extraStderr: []string{"skipped: nodes node/" + node}},
		{name: "--az-path missing", args: nodes("--az-path", in.path("no-az")), code: 1, err: `nodes az: the Azure CLI is needed to check 1 node(s) and "` + in.path("no-az") + `" is not found`, never: []string{body}},
		{name: "--az-path a directory", args: nodes("--az-path", dir), code: 1, err: `"` + dir + `" is not found`, never: []string{body}},
		{name: "--az-path not executable", args: nodes("--az-path", notExec), code: 1, err: `"` + notExec + `" is not found`, never: []string{body}},
		{name: "--az-path empty", args: nodes("--az-path", ""), code: 1, err: "--az-path must not be empty"},
		{name: "--parallel 0", args: nodes("--parallel", "0"), code: 1, err: "--parallel 0: must be at least 1"},
		{name: "--parallel -1", args: nodes("--parallel", "-1"), code: 1, err: "--parallel -1: must be at least 1"},
		{name: "--parallel garbage", args: nodes("--parallel", "many"), code: 1, err: `invalid argument "many" for "--parallel" flag`},
		{name: "--node-timeout garbage", args: nodes("--node-timeout", "soon"), code: 1, err: `invalid argument "soon" for "--node-timeout" flag`},
		{name: "--node-timeout 0", args: nodes("--node-timeout", "0"), code: 1, err: "--node-timeout must be positive"},
		{name: "--node-resource-group not an ID", args: nodes("--node-resource-group", "MC_badinput"), code: 1,
			err: `--node-resource-group resource group ID "MC_badinput": not of the form /subscriptions/<subscription>/resourceGroups/<group>`},
		{name: "--node-resource-group with @", args: nodes("--node-resource-group", "/subscriptions/"+az.sub+"/resourceGroups/@msal_token_cache.json"), code: 1,
			err: `resource group "@msal_token_cache.json": starts with '@'`},
		{name: "--node-resource-group another group: the node is not run on", args: check("--source", "nodes", "-l", nodesLabel+"="+label, "--az-path", az.bin, "--node-resource-group", az.rgID("MC_other")), code: 1,
			err: "is not in the cluster's node resource group " + az.rgID("MC_other"), never: []string{body}},
		{name: "no --node-resource-group and no AKS cluster of the API server", args: check("--source", "nodes", "-l", nodesLabel+"="+label, "--az-path", az.bin), code: 1,
			err: "has API server", never: []string{body}},
		{name: "--node naming a node that does not exist", args: check("--source", "nodes", "--az-path", az.bin, "--node", "badinput-no-such-node"), code: 1,
			err: "nodes node/badinput-no-such-node: no such node"},
		{name: "--node naming a node the selector leaves out", args: nodes("--node", "badinput-no-such-node"), code: 1,
			err: "nodes node/badinput-no-such-node: no such node matches the selectors"},
		{name: "--node empty", args: nodes("--node", ""), code: 1, err: `--node "": not a node name`},
		{name: "--node-cert-path with shell metacharacters is a literal path", args: nodes("--node-cert-path", "/etc/x'; touch "+in.path("pwned")+"; echo '$(touch "+in.path("pwned2")+")"), code: 1,
			err: "nodes node/" + node + ":/etc/x'; touch " + in.path("pwned"), never: []string{body}},
		{name: "--node-cert-path relative", args: nodes("--node-cert-path", "etc/x.crt"), code: 1, err: `--node-cert-path "etc/x.crt": not an absolute path`},
		{name: "--run-command-output unparseable", args: offline("--run-command-output", garbage), code: 1,
			err: "nodes node/n1: " + garbage + ", line 1: the run-command output reports no certificate"},
		{name: "--run-command-output binary", args: offline("--run-command-output", binary), code: 1,
			err: "nodes " + binary + ": binary data"},
		{name: "--run-command-output missing", args: offline("--run-command-output", missing), code: 1,
			err: "nodes " + missing + ": no such file or directory"},
		{name: "--run-command-output a directory", args: offline("--run-command-output", dir), code: 1,
			err: "nodes " + dir + ": is a directory"},
		{name: "--run-command-output empty", args: offline("--run-command-output", ""), code: 1,
			err: `--run-command-output "": must not be empty`},
		{name: "--run-command-output - with garbage on stdin", args: offline("--run-command-output", "-"), stdin: []byte(`{"value":[`), code: 1,
			err: "standard input, line 1: the run-command output is not valid JSON"},
		{name: "--run-command-output - with nothing on stdin", args: offline("--run-command-output", "-"), stdin: []byte{}, code: 1,
			err: "nodes standard input: the run-command output is empty"},
		{name: "--run-command-output without --node", args: check("--run-command-output", garbage), code: 1,
			err: "nodes " + garbage + ": output for an unnamed node (line 1)"},
		{name: "--run-command-output with -l", args: offline("--run-command-output", garbage, "-l", "a=b"), code: 1,
			err: "-l/--selector does not apply to --run-command-output"},
		{name: "--run-command-output naming another node", args: check("--run-command-output", "-", "--node", "n2"), stdin: []byte("### node: n1\n" + "Enable succeeded: \n[stdout]\nnotAfter=Dec 30 23:36:00 2035 GMT\n\n[stderr]\n"), code: 1,
			err: "nodes node/n2: not in standard input"},
	}
	runBadInputs(t, badInputTable{disk: []string{in.dir}, rows: rows})
}

// TestBadInputCertsCheckKubelets: the flag-level bad inputs of the
// kubelets source (its unreachable kubelets are in check_kubelets_test.go).
func TestBadInputCertsCheckKubelets(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	in := newCertsInputs(t)
	label := "badinput-" + randomSuffix(t)
	node := "badinput-kubelet-" + label
	ca := certtest.CA(t, "badinput-kubelet-ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "system:node:" + node, IPs: []net.IP{net.ParseIP("127.0.0.1")}}, ca)
	createKubeletNode(t, admin, node, label, kubeletServe(t, "127.0.0.1", leaf.Key, leaf.Cert), corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"})
	caFile := in.write("kubelet-ca.crt", ca.PEM())
	leafFile := in.write("kubelet-leaf.crt", leaf.PEM())
	missing := in.path("no-such-ca.crt")
	body := keyBody(leaf.KeyPEM(t))
	kubelets := func(args ...string) []string {
		return check(append([]string{"--source", "kubelets", "-l", kubeletsLabel + "=" + label, "--kubelet-certificate-authority", caFile}, args...)...)
	}
	rows := []badInput{
		{name: "the good kubelet (a control row)", args: kubelets(), code: 0, stdout: []string{"node/" + node + "/kubelet"}, never: []string{body}},
		{name: "--kubelet-address-types unknown", args: kubelets("--kubelet-address-types", "InternalIP,PodIP"), code: 1,
			err: `--kubelet-address-types "PodIP": unknown address type; use Hostname, InternalDNS, InternalIP, ExternalDNS, ExternalIP`},
		{name: "--kubelet-address-types in the wrong case", args: kubelets("--kubelet-address-types", "internalip"), code: 1,
			err: `--kubelet-address-types "internalip": unknown address type`},
		{name: "--kubelet-address-types empty", args: kubelets("--kubelet-address-types", ""), code: 1,
			err: "--kubelet-address-types must name at least one address type"},
		{name: "--kubelet-certificate-authority a leaf certificate", args: kubelets("--kubelet-certificate-authority", leafFile), code: 1,
			err: "--kubelet-certificate-authority " + leafFile + `: not a CA certificate ("CN=system:node:` + node + `" is not a CA`},
		{name: "--kubelet-certificate-authority missing", args: kubelets("--kubelet-certificate-authority", missing), code: 1,
			err: "--kubelet-certificate-authority " + missing + ": no such file or directory"},
		{name: "--kubelet-certificate-authority empty", args: kubelets("--kubelet-certificate-authority", ""), code: 1,
			err: `--kubelet-certificate-authority "": must not be empty`},
		{name: "--parallel 0 with kubelets", args: kubelets("--parallel", "0"), code: 1, err: "--parallel 0: must be at least 1"},
		{name: "--node naming a node that does not exist", args: kubelets("--node", "badinput-no-such-node"), code: 1,
			err: "kubelets node/badinput-no-such-node: no such node matches the selectors"},
	}
	runBadInputs(t, badInputTable{disk: []string{in.dir}, rows: rows})
}
