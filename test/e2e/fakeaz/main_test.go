package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// azBin is the fake, built once for all the tests.
var azBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakeaz-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	azBin = filepath.Join(dir, "az")
	if out, err := exec.Command("go", "build", "-o", azBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the fake az: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	sub   = "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8"
	other = "11111111-2222-3333-4444-555555555555"
)

// fake is one FAKEAZ_ROOT and log.
type fake struct {
	t    *testing.T
	root string
	log  string
	env  []string // more of the fake's environment
}

func newFake(t *testing.T) *fake {
	t.Helper()
	dir := t.TempDir()
	return &fake{t: t, root: filepath.Join(dir, "root"), log: filepath.Join(dir, "az.log"),
		env: []string{"FAKEAZ_SUBSCRIPTION=" + sub}}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func (f *fake) az(args ...string) result {
	f.t.Helper()
	cmd := exec.Command(azBin, args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "FAKEAZ_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, "FAKEAZ_ROOT="+f.root, "FAKEAZ_LOG="+f.log)
	cmd.Env = append(cmd.Env, f.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		f.t.Fatalf("running the fake: %v", err)
	}
	return r
}

// must runs az and wants exit 0.
func (f *fake) must(args ...string) result {
	f.t.Helper()
	r := f.az(args...)
	if r.code != 0 {
		f.t.Fatalf("az %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// fails runs az and wants the exit code and every one of wants in stderr.
func (f *fake) fails(code int, wants []string, args ...string) result {
	f.t.Helper()
	r := f.az(args...)
	if r.code != code {
		f.t.Fatalf("az %s: want exit %d, got %s", strings.Join(args, " "), code, r)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			f.t.Errorf("az %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, r.stderr)
		}
	}
	if r.stdout != "" {
		f.t.Errorf("az %s: failed, yet printed %q", strings.Join(args, " "), r.stdout)
	}
	return r
}

func clusterID(rg, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ContainerService/managedClusters/%s", sub, rg, name)
}

// cluster writes a managed cluster with a Linux pool nodepool1 (custom CA
// trust on) and a Windows pool npwin, and returns its directory.
func (f *fake) cluster(rg, name string) string {
	f.t.Helper()
	dir := filepath.Join(f.root, "aks", strings.ToLower(rg), strings.ToLower(name))
	id := clusterID(rg, name)
	c := map[string]any{
		"id":                id,
		"name":              name,
		"resourceGroup":     rg,
		"location":          "westeurope",
		"fqdn":              name + "-dns-1a2b3c4d.hcp.westeurope.azmk8s.io",
		"privateFqdn":       nil,
		"azurePortalFqdn":   name + "-dns-1a2b3c4d.portal.hcp.westeurope.azmk8s.io",
		"eTag":              "3f0e1b7c-0000-4000-8000-000000000001",
		"provisioningState": "Succeeded",
		"kubernetesVersion": "1.33.2",
		"securityProfile": map[string]any{
			"customCaTrustCertificates": nil,
			"imageCleaner":              map[string]any{"enabled": true, "intervalHours": 168},
		},
		"agentPoolProfiles": []any{
			map[string]any{"name": "nodepool1", "osType": "Linux", "count": 3, "mode": "System", "provisioningState": "Succeeded", "eTag": "p-linux-0"},
			map[string]any{"name": "npwin", "osType": "Windows", "count": 1, "mode": "User", "provisioningState": "Succeeded", "eTag": "p-win-0"},
		},
	}
	f.writeJSON(filepath.Join(dir, "cluster.json"), c)
	pool := func(name, osType, etag string, props map[string]any) map[string]any {
		p := map[string]any{"provisioningState": "Succeeded", "osType": osType, "count": 3, "mode": "User"}
		for k, v := range props {
			p[k] = v
		}
		return map[string]any{"id": id + "/agentPools/" + name, "name": name,
			"type": "Microsoft.ContainerService/managedClusters/agentPools", "eTag": etag, "properties": p}
	}
	f.writeJSON(filepath.Join(dir, "agentpools", "nodepool1.json"), pool("nodepool1", "Linux", "p-linux-0", map[string]any{"enableCustomCATrust": true, "mode": "System"}))
	f.writeJSON(filepath.Join(dir, "agentpools", "npwin.json"), pool("npwin", "Windows", "p-win-0", map[string]any{"enableCustomCATrust": false, "count": 1}))
	return dir
}

func (f *fake) writeJSON(path string, v any) {
	f.t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		f.t.Fatal(err)
	}
	f.write(path, string(data)+"\n")
}

func (f *fake) write(path, text string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fake) file(path string) string {
	f.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(data)
}

// obj decodes one JSON object the fake printed or wrote.
func obj(t *testing.T, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, text)
	}
	return m
}

func (f *fake) show(rg, name string) map[string]any {
	f.t.Helper()
	return obj(f.t, f.must("aks", "show", "-g", rg, "-n", name).stdout)
}

// get reads a dotted path (list indexes as numbers) in decoded JSON.
func get(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path string) string {
	s, _ := get(v, path).(string)
	return s
}

// caPEM is a new self-signed ECDSA CA certificate, PEM, ending in "\n".
func caPEM(t *testing.T, cn string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// caFile writes certificates separated by blank lines, as az aks update
// wants them.
func (f *fake) caFile(name string, certs ...string) string {
	f.t.Helper()
	p := filepath.Join(filepath.Dir(f.root), name)
	f.write(p, strings.Join(certs, "\n"))
	return p
}

// stored decodes securityProfile.customCaTrustCertificates.
func stored(t *testing.T, cluster map[string]any) []string {
	t.Helper()
	list, ok := get(cluster, "securityProfile.customCaTrustCertificates").([]any)
	if !ok {
		t.Fatalf("securityProfile.customCaTrustCertificates is %v, not a list", get(cluster, "securityProfile.customCaTrustCertificates"))
	}
	var out []string
	for _, v := range list {
		s, _ := v.(string)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("%q is not base64: %v", s, err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestListShowUpdateRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.cluster("RG-One", "aks1")
	f.cluster("rg-two", "aks2")

	var list []map[string]any
	if err := json.Unmarshal([]byte(f.must("aks", "list", "-o", "json").stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || str(list[0], "name") != "aks1" || str(list[1], "name") != "aks2" {
		t.Fatalf("aks list: %v", list)
	}
	if got := f.must("aks", "list", "-g", "RG-TWO").stdout; !strings.Contains(got, `"name": "aks2"`) || strings.Contains(got, `"aks1"`) {
		t.Errorf("aks list -g RG-TWO:\n%s", got)
	}
	if got := f.must("aks", "list", "--subscription", other).stdout; got != "[]\n" {
		t.Errorf("aks list in another subscription: %q", got)
	}
	f.fails(3, []string{"ERROR: (ResourceGroupNotFound) Resource group 'nope' could not be found.\nCode: ResourceGroupNotFound\n"}, "aks", "list", "-g", "nope")

	before := f.show("rg-one", "AKS1") // names in any case
	if str(before, "eTag") == "" || get(before, "securityProfile.customCaTrustCertificates") != nil || get(before, "privateFqdn") != nil {
		t.Fatalf("aks show: %v", before)
	}
	f.fails(3, []string{"(ResourceNotFound) The Resource 'Microsoft.ContainerService/managedClusters/aks1' under resource group 'rg-one' was not found."},
		"aks", "show", "-g", "rg-one", "-n", "aks1", "--subscription", other)
	f.fails(3, []string{"ERROR: (ResourceNotFound) The Resource 'Microsoft.ContainerService/managedClusters/aks9' under resource group 'rg-one' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix\nCode: ResourceNotFound\nMessage: The Resource"},
		"aks", "show", "-g", "rg-one", "-n", "aks9")
	f.fails(3, []string{"(ResourceGroupNotFound) Resource group 'rg9' could not be found."}, "aks", "show", "-g", "rg9", "-n", "aks1")
	f.fails(2, []string{"ERROR: the following arguments are required: --name/-n"}, "aks", "show", "-g", "rg-one")

	a, b := caPEM(t, "ca-a"), caPEM(t, "ca-b")
	file := f.caFile("two.pem", a, b)
	r := f.must("aks", "update", "-g", "rg-one", "-n", "aks1", "--custom-ca-trust-certificates", file, "--if-match", str(before, "eTag"), "--yes")
	after := obj(t, r.stdout)
	if got, want := stored(t, after), []string{strings.TrimSuffix(a, "\n"), b}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored certificates:\n%q\nwant\n%q", got, want)
	}
	if str(after, "eTag") == str(before, "eTag") || str(after, "provisioningState") != "Succeeded" {
		t.Errorf("after the update: eTag %s (was %s), provisioningState %s", str(after, "eTag"), str(before, "eTag"), str(after, "provisioningState"))
	}
	if get(after, "securityProfile.imageCleaner.intervalHours") != float64(168) || str(after, "kubernetesVersion") != "1.33.2" {
		t.Errorf("fields the fake does not know were not kept: %v", after)
	}
	if str(after, "agentPoolProfiles.0.eTag") == "p-linux-0" || str(after, "agentPoolProfiles.1.eTag") != "p-win-0" {
		t.Errorf("the Linux pool's nodes were replaced, the Windows pool's not: %v", get(after, "agentPoolProfiles"))
	}
	if shown := f.show("rg-one", "aks1"); !reflect.DeepEqual(shown, after) {
		t.Errorf("aks show after the update differs from what update printed:\n%v\n%v", shown, after)
	}
	if _, err := os.Stat(filepath.Join(f.root, "aks", "rg-one", "aks1", "operation.json")); !os.IsNotExist(err) {
		t.Errorf("operation.json after the update ended: %v", err)
	}
	// cluster.json is what az aks show prints.
	if got, want := f.file(filepath.Join(f.root, "aks", "rg-one", "aks1", "cluster.json")), f.must("aks", "show", "-g", "rg-one", "-n", "aks1").stdout; got != want {
		t.Errorf("cluster.json is not az aks show's output:\n%s\n%s", got, want)
	}

	// An empty file empties the list.
	r = f.must("aks", "update", "-g", "rg-one", "-n", "aks1", "--ca-certs", f.caFile("empty.pem"))
	if got := stored(t, obj(t, r.stdout)); len(got) != 0 {
		t.Errorf("an empty file left %d certificates", len(got))
	}
}

func TestStaleIfMatch(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	dir := f.cluster("rg", "aks1")
	before := f.file(filepath.Join(dir, "cluster.json"))
	cur := str(obj(t, before), "eTag")
	f.fails(1, []string{fmt.Sprintf("ERROR: (PreconditionFailed) Operation failed with status: 'Precondition Failed'. Details: Etag provided in if-match header \"stale\" does not match etag \"%[1]s\" of resource.\nCode: PreconditionFailed\nMessage: Operation failed with status: 'Precondition Failed'. Details: Etag provided in if-match header \"stale\" does not match etag \"%[1]s\" of resource.\n", cur)},
		"aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", f.caFile("a.pem", caPEM(t, "a")), "--if-match", "stale")
	if after := f.file(filepath.Join(dir, "cluster.json")); after != before {
		t.Errorf("a refused update changed cluster.json:\n%s", after)
	}
}

func TestOperationNotAllowedWhileUpdating(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	dir := f.cluster("rg", "aks1")
	f.write(filepath.Join(dir, "update-duration"), "2s\n")
	file := f.caFile("a.pem", caPEM(t, "a"))
	if r := f.must("aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file, "--no-wait"); r.stdout != "" {
		t.Errorf("--no-wait printed %q", r.stdout)
	}
	shown := f.show("rg", "aks1")
	if str(shown, "provisioningState") != "Updating" || str(shown, "agentPoolProfiles.0.provisioningState") != "Updating" || str(shown, "agentPoolProfiles.1.provisioningState") != "Succeeded" {
		t.Errorf("while the update runs: %v", shown)
	}
	var op struct {
		ID        string    `json:"id"`
		Kind      string    `json:"kind"`
		StartedAt time.Time `json:"startedAt"`
		EndsAt    time.Time `json:"endsAt"`
	}
	if err := json.Unmarshal([]byte(f.file(filepath.Join(dir, "operation.json"))), &op); err != nil {
		t.Fatal(err)
	}
	if d := op.EndsAt.Sub(op.StartedAt); d != 2*time.Second || op.Kind != "update managed cluster" || op.ID == "" {
		t.Errorf("operation.json: %+v", op)
	}
	msg := fmt.Sprintf("Operation is not allowed because there's an in progress update managed cluster operation (operation ID: %s) on the managed cluster started on UTC %s. Please wait for it to finish before starting a new operation.",
		op.ID, op.StartedAt.UTC().Format("2006-01-02T15:04:05Z"))
	f.fails(1, []string{"ERROR: (OperationNotAllowed) " + msg + "\nCode: OperationNotAllowed\nMessage: " + msg + "\n"},
		"aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file, "--if-match", str(shown, "eTag"))
	if again := f.show("rg", "aks1"); str(again, "eTag") != str(shown, "eTag") {
		t.Errorf("the refused update changed the eTag")
	}
	// The pool writes are in the way too.
	f.fails(1, []string{"(OperationNotAllowed) " + msg}, "resource", "update", "--ids", clusterID("rg", "aks1")+"/agentPools/nodepool1",
		"--api-version", "2025-08-02-preview", "--set", "properties.enableCustomCATrust=false")

	// An operation.json a test writes is in the way the same, with what it
	// leaves out filled in.
	g := newFake(t)
	gdir := g.cluster("rg", "aks2")
	g.write(filepath.Join(gdir, "operation.json"), `{"kind": "upgrade managed cluster", "startedAt": "2026-05-22T07:19:23Z"}`)
	if st := str(g.show("rg", "aks2"), "provisioningState"); st != "Updating" {
		t.Errorf("with an operation.json of the test's: provisioningState %s", st)
	}
	r := g.fails(1, []string{"there's an in progress upgrade managed cluster operation (operation ID: ", "started on UTC 2026-05-22T07:19:23Z."},
		"aks", "update", "-g", "rg", "-n", "aks2", "--custom-ca-trust-certificates", g.caFile("a.pem", caPEM(t, "a")))
	var gop struct{ ID string }
	_ = json.Unmarshal([]byte(g.file(filepath.Join(gdir, "operation.json"))), &gop)
	if gop.ID == "" || !strings.Contains(r.stderr, gop.ID) {
		t.Errorf("operation id %q not filled in, or not the one in the error", gop.ID)
	}
}

func TestLazyCompletion(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	dir := f.cluster("rg", "aks1")
	f.write(filepath.Join(dir, "update-duration"), "300ms")
	f.must("aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", f.caFile("a.pem", caPEM(t, "a")), "--no-wait")
	running := f.show("rg", "aks1")
	if str(running, "provisioningState") != "Updating" {
		t.Fatalf("right after --no-wait: %s", str(running, "provisioningState"))
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "operation.json")); err != nil {
		t.Fatalf("nothing read the cluster, yet operation.json is gone: %v", err)
	}
	pools := obj(t, f.must("rest", "--method", "get", "--url", "https://management.azure.com"+clusterID("rg", "aks1")+"/agentPools?api-version=2025-08-02-preview").stdout)
	if st := str(pools, "value.0.properties.provisioningState"); st != "Succeeded" {
		t.Errorf("the Linux pool after the update ended: %s", st)
	}
	if str(pools, "value.0.eTag") == "p-linux-0" || str(pools, "value.1.eTag") != "p-win-0" {
		t.Errorf("pool eTags after the update ended: %v", pools)
	}
	done := f.show("rg", "aks1")
	if str(done, "provisioningState") != "Succeeded" || str(done, "eTag") == str(running, "eTag") {
		t.Errorf("after endsAt: provisioningState %s, eTag %s (was %s while running)", str(done, "provisioningState"), str(done, "eTag"), str(running, "eTag"))
	}
	if _, err := os.Stat(filepath.Join(dir, "operation.json")); !os.IsNotExist(err) {
		t.Errorf("operation.json after it ended: %v", err)
	}
	if again := f.show("rg", "aks1"); str(again, "eTag") != str(done, "eTag") {
		t.Errorf("the eTag changed with no operation")
	}

	// Without --no-wait, az waits for the operation.
	start := time.Now()
	r := f.must("aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", f.caFile("b.pem", caPEM(t, "b")))
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("az aks update returned after %v, before the update's 300ms", el)
	}
	if st := str(obj(t, r.stdout), "provisioningState"); st != "Succeeded" {
		t.Errorf("az aks update printed provisioningState %s", st)
	}
}

func TestMalformedFileRefused(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	dir := f.cluster("rg", "aks1")
	a, b := caPEM(t, "a"), caPEM(t, "b")
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	junk := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))
	before := f.file(filepath.Join(dir, "cluster.json"))
	for name, text := range map[string]string{
		"base64 of PEM (as az aks show prints it)": base64.StdEncoding.EncodeToString([]byte(a)) + "\n",
		"no blank line between certificates":       a + b,
		"a key":                                    key,
		"a CERTIFICATE block that is not one":      junk,
		"text around the block":                    "subject=CN=a\n" + a,
	} {
		file := f.caFile("bad.pem", text)
		msg := "failed to decode one of SecurityProfile.CustomCATrustCertificates to PEM after base64 decoding"
		r := f.az("aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file)
		if want := "ERROR: (InvalidParameter) " + msg + "\nCode: InvalidParameter\nMessage: " + msg + "\n"; r.code != 1 || r.stderr != want {
			t.Errorf("%s: want exit 1 and\n%s\ngot %s", name, want, r)
		}
		if after := f.file(filepath.Join(dir, "cluster.json")); after != before {
			t.Errorf("%s: the refused update changed cluster.json", name)
		}
	}
	f.fails(1, []string{"ERROR: /nonexistent/ca.pem is not valid file, or not accessible.\n"},
		"aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", "/nonexistent/ca.pem")
	f.fails(2, []string{"ERROR: argument --custom-ca-trust-certificates/--ca-certs: expected one argument"},
		"aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates")
}

func TestCRLFKept(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.cluster("rg", "aks1")
	crlf := strings.ReplaceAll(caPEM(t, "a"), "\n", "\r\n")
	r := f.must("aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", f.caFile("crlf.pem", crlf))
	if got := stored(t, obj(t, r.stdout)); len(got) != 1 || got[0] != crlf {
		t.Errorf("stored %q, want the file's bytes %q", got, crlf)
	}
	// With CRLF there is no "\n\n" to cut at: two certificates are one
	// piece, which AKS refuses.
	f.fails(1, []string{"(InvalidParameter)"}, "aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates",
		f.caFile("crlf2.pem", crlf+"\r\n"+strings.ReplaceAll(caPEM(t, "b"), "\n", "\r\n")))
}

func TestAtMostTenCertificates(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	dir := f.cluster("rg", "aks1")
	var certs []string
	for i := range 11 {
		certs = append(certs, caPEM(t, fmt.Sprintf("ca-%d", i)))
	}
	before := f.file(filepath.Join(dir, "cluster.json"))
	f.fails(1, []string{"ERROR: Only up to 10 new-line separated CAs can be passed, got 11 instead.\n"},
		"aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", f.caFile("eleven.pem", certs...))
	if after := f.file(filepath.Join(dir, "cluster.json")); after != before {
		t.Errorf("a refused update changed cluster.json")
	}
	// Blank lines around and between count for nothing.
	r := f.must("aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", f.caFile("ten.pem", "\n"+strings.Join(certs[:10], "\n\n")+"\n"))
	if got := stored(t, obj(t, r.stdout)); len(got) != 10 {
		t.Errorf("stored %d certificates, want 10", len(got))
	}
}

func TestUpdateFails(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	dir := f.cluster("rg", "aks1")
	file := f.caFile("a.pem", caPEM(t, "a"))
	f.write(filepath.Join(dir, "update-fails"), "(NodesNotReady) 2 of 3 nodes did not become ready.\n")
	f.fails(1, []string{"ERROR: (NodesNotReady) 2 of 3 nodes did not become ready.\nCode: NodesNotReady\nMessage: 2 of 3 nodes did not become ready.\n"},
		"aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file)
	failed := f.show("rg", "aks1")
	if str(failed, "provisioningState") != "Failed" || str(failed, "agentPoolProfiles.0.provisioningState") != "Failed" {
		t.Errorf("after the failed update: %v", failed)
	}
	if len(stored(t, failed)) != 1 {
		t.Errorf("the failed update's list is not kept")
	}
	if _, err := os.Stat(filepath.Join(dir, "update-fails")); !os.IsNotExist(err) {
		t.Errorf("update-fails is still there: %v", err)
	}
	if st := str(f.show("rg", "aks1"), "provisioningState"); st != "Failed" {
		t.Errorf("Failed does not stay: %s", st)
	}
	// Without a code, the message is of CustomCATrustReconcileFailed; with
	// --no-wait, the failure shows in the state only.
	f.write(filepath.Join(dir, "update-fails"), "the certificates could not be installed")
	f.must("aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file, "--no-wait")
	if st := str(f.show("rg", "aks1"), "provisioningState"); st != "Failed" {
		t.Errorf("after a failed --no-wait update: %s", st)
	}
	f.write(filepath.Join(dir, "update-fails"), "the certificates could not be installed")
	f.fails(1, []string{"ERROR: (CustomCATrustReconcileFailed) the certificates could not be installed\n"},
		"aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file)
	// The next update succeeds.
	if st := str(obj(t, f.must("aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file).stdout), "provisioningState"); st != "Succeeded" {
		t.Errorf("the update after: %s", st)
	}
}

func TestNotLoggedInAndNoPermission(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	dir := f.cluster("rg", "aks1")
	file := f.caFile("a.pem", caPEM(t, "a"))
	pool := clusterID("rg", "aks1") + "/agentPools/nodepool1"
	poolsURL := "https://management.azure.com" + clusterID("rg", "aks1") + "/agentPools?api-version=2025-08-02-preview"
	setPool := []string{"resource", "update", "--ids", pool, "--api-version", "2025-08-02-preview", "--set", "properties.enableCustomCATrust=false"}
	login := "ERROR: Please run 'az login' to setup account.\n"

	f.write(filepath.Join(f.root, "not-logged-in"), "")
	f.fails(1, []string{login}, "aks", "list")
	f.fails(1, []string{login}, "aks", "show", "-g", "rg", "-n", "aks1")
	f.fails(1, []string{login}, "rest", "--url", poolsURL)
	f.fails(1, []string{login}, "vm", "run-command", "invoke", "-g", "rg", "-n", "vm1", "--command-id", "RunShellScript", "--scripts", "true")
	os.Remove(filepath.Join(f.root, "not-logged-in"))

	f.write(filepath.Join(dir, "not-logged-in"), "")
	f.fails(1, []string{login}, "aks", "show", "-g", "rg", "-n", "aks1")
	f.fails(1, []string{login}, "aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file)
	f.fails(1, []string{login}, setPool...)
	os.Remove(filepath.Join(dir, "not-logged-in"))

	before := f.file(filepath.Join(dir, "cluster.json"))
	denied := func(action, scope string) string {
		return fmt.Sprintf("The client 'alice@example.com' with object id '00000000-0000-0000-0000-0000000000aa' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.", action, scope)
	}
	scope := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"
	f.write(filepath.Join(dir, "no-permission"), "")
	msg := denied("Microsoft.ContainerService/managedClusters/read", scope)
	f.fails(1, []string{"ERROR: (AuthorizationFailed) " + msg + "\nCode: AuthorizationFailed\nMessage: " + msg + "\n"}, "aks", "show", "-g", "rg", "-n", "aks1")
	f.fails(1, []string{"(AuthorizationFailed) " + msg}, "aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file)
	f.fails(1, []string{`ERROR: Forbidden({"error":{"code":"AuthorizationFailed","message":"` + denied("Microsoft.ContainerService/managedClusters/agentPools/read", clusterID("rg", "aks1")+"/agentPools") + `"}})`}, "rest", "--url", poolsURL)
	f.fails(1, []string{"(AuthorizationFailed) " + denied("Microsoft.ContainerService/managedClusters/agentPools/read", pool)}, setPool...)
	os.Remove(filepath.Join(dir, "no-permission"))

	f.write(filepath.Join(dir, "no-write-permission"), "")
	f.show("rg", "aks1")
	f.must("rest", "--url", poolsURL)
	f.fails(1, []string{"(AuthorizationFailed) " + denied("Microsoft.ContainerService/managedClusters/write", scope)}, "aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file)
	f.fails(1, []string{"(AuthorizationFailed) " + denied("Microsoft.ContainerService/managedClusters/agentPools/write", pool)}, setPool...)
	if after := f.file(filepath.Join(dir, "cluster.json")); after != before {
		t.Errorf("refused calls changed cluster.json")
	}
}

func TestRestGetPools(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.cluster("rg", "aks1")
	// ARM's ids are matched without regard to case.
	base := strings.Replace(strings.ToUpper(clusterID("rg", "aks1")), "/PROVIDERS/", "/providers/", 1)
	for _, tc := range []struct {
		version string
		shown   bool
	}{
		{"2025-08-02-preview", true},
		{"2024-10-02-preview", true},
		{"2025-09-02-preview", false},
		{"2025-10-01", false},
		{"2024-01-01", false},
	} {
		pools := obj(t, f.must("rest", "--method", "GET", "--url", "https://management.azure.com"+base+"/agentPools?api-version="+tc.version).stdout)
		value, _ := pools["value"].([]any)
		if len(value) != 2 || str(value[0], "name") != "nodepool1" || str(value[1], "name") != "npwin" {
			t.Fatalf("api-version %s: %v", tc.version, pools)
		}
		_, has := get(value[0], "properties").(map[string]any)["enableCustomCATrust"]
		if has != tc.shown {
			t.Errorf("api-version %s: enableCustomCATrust shown %v, want %v", tc.version, has, tc.shown)
		}
		one := obj(t, f.must("rest", "-m", "get", "-u", base+"/agentPools/NODEPOOL1?api-version="+tc.version).stdout)
		if v, has := get(one, "properties").(map[string]any)["enableCustomCATrust"]; has != tc.shown || has && v != true {
			t.Errorf("api-version %s: the pool's enableCustomCATrust %v (shown %v)", tc.version, v, has)
		}
		if str(one, "type") != "Microsoft.ContainerService/managedClusters/agentPools" || str(one, "eTag") != "p-linux-0" {
			t.Errorf("the pool: %v", one)
		}
	}
	// What it printed at a newer api-version is not what it keeps.
	if !strings.Contains(f.file(filepath.Join(f.root, "aks", "rg", "aks1", "agentpools", "nodepool1.json")), `"enableCustomCATrust": true`) {
		t.Errorf("the pool lost enableCustomCATrust")
	}

	f.fails(1, []string{`ERROR: Not Found({"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.ContainerService/managedClusters/aks1/agentPools/np9' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}})` + "\n"},
		"rest", "--url", clusterID("rg", "aks1")+"/agentPools/np9?api-version=2025-10-01")
	f.fails(1, []string{`ERROR: Not Found({"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.ContainerService/managedClusters/aks9' under resource group 'rg' was not found.`},
		"rest", "--url", strings.Replace(clusterID("rg", "aks1"), "aks1", "aks9", 1)+"/agentPools?api-version=2025-10-01")
	f.fails(1, []string{`ERROR: Bad Request({"error":{"code":"MissingApiVersionParameter"`}, "rest", "--url", clusterID("rg", "aks1")+"/agentPools")
	f.fails(2, []string{"az rest --method get only"}, "rest", "--method", "put", "--url", clusterID("rg", "aks1")+"/agentPools?api-version=2025-10-01")
	f.fails(2, []string{"fakeaz answers az rest only for"}, "rest", "--url", "https://graph.microsoft.com/v1.0/me")
}

func TestResourceUpdate(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	dir := f.cluster("rg", "aks1")
	pool := clusterID("rg", "aks1") + "/agentPools/nodepool1"
	clusterETag := str(f.show("rg", "aks1"), "eTag")

	r := f.must("resource", "update", "--ids", pool, "--api-version", "2025-08-02-preview", "--set", "properties.enableCustomCATrust=false")
	p := obj(t, r.stdout)
	if get(p, "properties.enableCustomCATrust") != false || str(p, "properties.provisioningState") != "Succeeded" || str(p, "eTag") == "p-linux-0" {
		t.Errorf("the pool after the update: %v", p)
	}
	shown := f.show("rg", "aks1")
	if str(shown, "agentPoolProfiles.0.eTag") != str(p, "eTag") || str(shown, "eTag") != clusterETag {
		t.Errorf("agentPoolProfiles' eTag %s (pool's %s), cluster eTag %s (was %s)", str(shown, "agentPoolProfiles.0.eTag"), str(p, "eTag"), str(shown, "eTag"), clusterETag)
	}
	// At a newer api-version it is set, and not shown.
	r = f.must("resource", "update", "--ids", pool, "--api-version", "2025-10-01", "--set", "properties.enableCustomCATrust=true")
	if _, has := get(obj(t, r.stdout), "properties").(map[string]any)["enableCustomCATrust"]; has {
		t.Errorf("api-version 2025-10-01 shows enableCustomCATrust")
	}
	if !strings.Contains(f.file(filepath.Join(dir, "agentpools", "nodepool1.json")), `"enableCustomCATrust": true`) {
		t.Errorf("the property was not set")
	}

	f.write(filepath.Join(dir, "agentpools", "nodepool1.fail"), "Node image upgrade of 'nodepool1' failed.\n")
	f.fails(1, []string{"ERROR: (AgentPoolUpdateFailed) Node image upgrade of 'nodepool1' failed.\nCode: AgentPoolUpdateFailed\n"},
		"resource", "update", "--ids", pool, "--api-version", "2025-08-02-preview", "--set", "properties.enableCustomCATrust=false")
	got := obj(t, f.must("rest", "--url", pool+"?api-version=2025-08-02-preview").stdout)
	if str(got, "properties.provisioningState") != "Failed" || get(got, "properties.enableCustomCATrust") != true {
		t.Errorf("the pool after a failed update: %v", got)
	}
	if st := str(f.show("rg", "aks1"), "agentPoolProfiles.0.provisioningState"); st != "Failed" {
		t.Errorf("agentPoolProfiles after a failed pool update: %s", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "agentpools", "nodepool1.fail")); err != nil {
		t.Errorf("the .fail marker went away: %v", err)
	}
	f.fails(1, []string{"(AgentPoolUpdateFailed)"}, "resource", "update", "--ids", pool, "--api-version", "2025-08-02-preview", "--set", "properties.enableCustomCATrust=false")
	os.Remove(filepath.Join(dir, "agentpools", "nodepool1.fail"))
	f.must("resource", "update", "--ids", pool, "--api-version", "2025-08-02-preview", "--set", "properties.enableCustomCATrust=false")

	f.fails(3, []string{"(ResourceNotFound) The Resource 'Microsoft.ContainerService/managedClusters/aks1/agentPools/np9' under resource group 'rg' was not found."},
		"resource", "update", "--ids", strings.Replace(pool, "nodepool1", "np9", 1), "--api-version", "2025-08-02-preview", "--set", "properties.enableCustomCATrust=false")
	f.fails(2, []string{"sets properties.enableCustomCATrust=true|false only"},
		"resource", "update", "--ids", pool, "--api-version", "2025-08-02-preview", "--set", "properties.count=5")
	f.fails(2, []string{"sets properties.enableCustomCATrust=true|false only"},
		"resource", "update", "--ids", pool, "--api-version", "2025-08-02-preview", "--set", "properties.enableCustomCATrust=False")
}

func TestConcurrentIfMatch(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	dir := f.cluster("rg", "aks1")
	f.write(filepath.Join(dir, "update-duration"), "300ms")
	etag := str(f.show("rg", "aks1"), "eTag")
	file := f.caFile("a.pem", caPEM(t, "a"))
	results := make([]result, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.az("aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", file, "--if-match", etag)
		}()
	}
	wg.Wait()
	won := 0
	for _, r := range results {
		switch {
		case r.code == 0:
			won++
		case r.code == 1 && (strings.HasPrefix(r.stderr, "ERROR: (PreconditionFailed) ") || strings.HasPrefix(r.stderr, "ERROR: (OperationNotAllowed) ")):
		default:
			t.Errorf("a concurrent update: %s", r)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent updates with one eTag succeeded, want 1", won)
	}
	var c map[string]any
	if err := json.Unmarshal([]byte(f.file(filepath.Join(dir, "cluster.json"))), &c); err != nil {
		t.Fatalf("cluster.json after concurrent updates: %v", err)
	}
	if str(c, "provisioningState") != "Succeeded" || len(stored(t, c)) != 1 {
		t.Errorf("after concurrent updates: %v", c)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestArgvLoggedAndAtFileRefused(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.cluster("rg", "aks1")
	calls := [][]string{
		{"aks", "show", "-g", "rg", "-n", "aks1", "--output", "json"},
		{"aks", "update", "-g", "rg", "-n", "aks1", "--custom-ca-trust-certificates", "@/etc/passwd"},
		{"resource", "update", "--ids", clusterID("rg", "aks1") + "/agentPools/nodepool1", "--api-version", "2025-08-02-preview", "--set", "properties.enableCustomCATrust=@x"},
		{"aks", "list", "--query", "[].id"},
		{"aks", "delete", "-g", "rg", "-n", "aks1"},
		{"aks", "list", "-g", "@"}, // az keeps a lone '@'
	}
	f.must(calls[0]...)
	f.fails(2, []string{`ERROR: the fake refuses @file arguments: argument 8 "@/etc/passwd"`}, calls[1]...)
	f.fails(2, []string{"ERROR: the fake refuses @file arguments"}, calls[2]...)
	f.fails(2, []string{"--query"}, calls[3]...)
	f.fails(2, []string{"ERROR: 'aks delete -g rg -n aks1' is misspelled or not recognized by the system"}, calls[4]...)
	r := f.fails(3, []string{"(ResourceGroupNotFound)"}, calls[5]...)
	if strings.Contains(r.stderr, "@file") {
		t.Errorf("a lone '@' was refused: %s", r)
	}

	file, err := os.Open(f.log)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var logged [][]string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var line struct{ Argv []string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		logged = append(logged, line.Argv)
	}
	if !reflect.DeepEqual(logged, calls) {
		t.Errorf("logged\n%q\nwant\n%q", logged, calls)
	}
}

// The run-command side answers as before.
func TestRunCommand(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	f := newFake(t)
	f.write(filepath.Join(f.root, "rg1", "vm", "vm1", "etc", "kubernetes", "pki", "ca.crt"), "hello\n")
	r := f.must("vm", "run-command", "invoke", "-g", "RG1", "-n", "VM1", "--command-id", "RunShellScript", "--scripts", "cat /etc/kubernetes/pki/ca.crt; echo oops >&2", "-o", "tsv", "--query", "value[0].message")
	if want := "Enable succeeded: \n[stdout]\nhello\n\n[stderr]\noops\n\n"; r.stdout != want {
		t.Errorf("run-command printed %q, want %q", r.stdout, want)
	}
	f.fails(1, []string{"ERROR: (ResourceNotFound) The Resource 'Microsoft.Compute/virtualMachines/vm2' under resource group 'rg1' was not found."},
		"vm", "run-command", "invoke", "-g", "rg1", "-n", "vm2", "--command-id", "RunShellScript", "--scripts", "true")
}
