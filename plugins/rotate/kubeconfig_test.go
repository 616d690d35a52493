package rotate

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/pki"
	"github.com/kubecerts/kubecerts/shared/printing"
	"github.com/kubecerts/kubecerts/shared/tlsprobe/proxytest"
)

// kcCA makes a CA and writes it to dir/name.
func kcCA(t *testing.T, dir, name string) (*x509.Certificate, string) {
	t.Helper()
	key, _ := pki.NewECDSAKey()
	ca, err := pki.NewCA(pkix.Name{CommonName: name}, key, time.Now(), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".crt")
	writeFile(t, path, pki.EncodeCert(ca), 0o644)
	return ca, path
}

// kcWrite writes a kubeconfig whose one cluster has server, the CA ca and
// proxyURL.
func kcWrite(t *testing.T, path, server string, ca *x509.Certificate, proxyURL string, perm os.FileMode) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: pki.EncodeCert(ca), ProxyURL: proxyURL}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "not-a-real-token"}
	cfg.Contexts["ctx"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "ctx"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, data, perm)
}

// runKubeconfig runs kubectl rotate kubeconfig on the kubeconfig file path
// at now, with -o json.
func runKubeconfig(t *testing.T, path string, now time.Time, args ...string) (*api.KubeconfigCAChange, string, int) {
	t.Helper()
	cf := genericclioptions.NewConfigFlags(false)
	cf.KubeConfig = &path
	f := cmdutil.NewFactory(cmdutil.NewMatchVersionFlags(cf))
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o := &KubeconfigOptions{PrintFlags: printing.NewPrintFlags(), IOStreams: streams, now: func() time.Time { return now }}
	cmd := newCmdKubeconfig(f, o)
	cmd.SetArgs(append(args, "-o", "json"))
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if err != nil && !exitcode.Silent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	var ch api.KubeconfigCAChange
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &ch); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	return &ch, errOut.String(), exitcode.FromError(err)
}

func kcBundle(t *testing.T, path string) []string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := certificate.Parse(cfg.Clusters["c"].CertificateAuthorityData)
	if err != nil {
		t.Fatal(err)
	}
	var prints []string
	for _, c := range b.Certificates {
		prints = append(prints, certificate.Fingerprint(c))
	}
	return prints
}

// TestKubeconfigWritesThroughSymlinks: a kubeconfig reached through a
// symbolic link stays one; the file it points to is replaced, mode kept.
func TestKubeconfigWritesThroughSymlinks(t *testing.T) {
	tests := []struct {
		name  string
		links []string // each link points to the next, the last to the file
	}{
		{"a file", nil},
		{"a link", []string{"config"}},
		{"a relative link", []string{"config"}},
		{"a chain of links", []string{"config", "kube/current"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ca, _ := kcCA(t, dir, "old-ca")
			_, newCAFile := kcCA(t, dir, "new-ca")
			real := filepath.Join(dir, "real", "admin.conf")
			kcWrite(t, real, "http://127.0.0.1:1", ca, "", 0o640)
			path := real
			for i := len(tt.links) - 1; i >= 0; i-- {
				link := filepath.Join(dir, tt.links[i])
				if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
					t.Fatal(err)
				}
				target := path
				if tt.name == "a relative link" {
					target, _ = filepath.Rel(filepath.Dir(link), path)
				}
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				path = link
			}
			ch, errOut, code := runKubeconfig(t, path, time.Now(), "--add-ca", newCAFile)
			if code != 0 || len(ch.Added) != 1 {
				t.Fatalf("exit %d, %+v: %s", code, ch, errOut)
			}
			for _, l := range tt.links {
				if st, err := os.Lstat(filepath.Join(dir, l)); err != nil || st.Mode()&os.ModeSymlink == 0 {
					t.Errorf("%s is no longer a symbolic link: %v %v", l, st.Mode(), err)
				}
			}
			if got := kcBundle(t, real); len(got) != 2 {
				t.Errorf("the file linked to has %d CAs, want 2", len(got))
			}
			if st, _ := os.Stat(real); st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640 kept", st.Mode().Perm())
			}
			entries, _ := os.ReadDir(filepath.Dir(real))
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file left: %s", e.Name())
				}
			}
			if backup, err := os.ReadFile(ch.Backup); err != nil || !strings.Contains(string(backup), "server: http://127.0.0.1:1") {
				t.Errorf("backup %s: %v", ch.Backup, err)
			}
		})
	}
}

// TestKubeconfigBackupsNeverOverwritten: runs in the same second each get
// their own backup; the first keeps the original.
func TestKubeconfigBackupsNeverOverwritten(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)
	dir := t.TempDir()
	ca, _ := kcCA(t, dir, "old-ca")
	_, ca2 := kcCA(t, dir, "ca-2")
	_, ca3 := kcCA(t, dir, "ca-3")
	path := filepath.Join(dir, "config")
	kcWrite(t, path, "http://127.0.0.1:1", ca, "", 0o600)
	original, _ := os.ReadFile(path)
	base := path + ".kubecerts-backup-20261123T010203Z"
	tests := []struct {
		args       []string
		wantBackup string
	}{
		{[]string{"--add-ca", ca2}, base},
		{[]string{"--add-ca", ca3}, base + "-1"},
		{[]string{"--remove-ca", ca2}, base + "-2"},
	}
	contents := map[string][]byte{}
	for _, tt := range tests {
		before, _ := os.ReadFile(path)
		ch, errOut, code := runKubeconfig(t, path, now, tt.args...)
		if code != 0 || ch.Backup != tt.wantBackup {
			t.Fatalf("%v: exit %d, backup %q, want %q: %s", tt.args, code, ch.Backup, tt.wantBackup, errOut)
		}
		contents[tt.wantBackup] = before
	}
	for backup, want := range contents {
		got, err := os.ReadFile(backup)
		st, _ := os.Stat(backup)
		if err != nil || string(got) != string(want) || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, same as before that run: %v, mode %v", backup, err, string(got) == string(want), st.Mode().Perm())
		}
	}
	if got, _ := os.ReadFile(base); string(got) != string(original) {
		t.Error("the first backup is not the original kubeconfig")
	}
}

// TestKubeconfigLiveCheckUsesProxyURL: the new bundle is checked against
// the server as kubectl reaches it, through the cluster's proxy-url.
func TestKubeconfigLiveCheckUsesProxyURL(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "")
	t.Setenv("https_proxy", "")
	dir := t.TempDir()
	caKey, _ := pki.NewECDSAKey()
	ca, err := pki.NewCA(pkix.Name{CommonName: "cluster-ca"}, caKey, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, _ := pki.NewECDSAKey()
	srvCert, err := pki.Sign(&x509.Certificate{Subject: pkix.Name{CommonName: "kube-apiserver"}, DNSNames: []string{"kube.invalid"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, srvKey.Public(), ca, caKey, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}}}
	srv.StartTLS()
	defer srv.Close()
	proxy, connects := proxytest.ConnectProxy(t, false, srv.Listener.Addr().String())
	_, otherCAFile := kcCA(t, dir, "other-ca")

	tests := []struct {
		name         string
		proxyURL     string
		args         []string
		wantCode     int
		wantVerified string // "true", "false" or "" (not checked)
		wantConnects int32
		wantErr      string
	}{
		{"through the proxy, both CAs", proxy.URL, []string{"--add-ca", otherCAFile}, 0, "true", 1, ""},
		{"through the proxy, the serving CA removed", proxy.URL, []string{"--remove-fingerprint", certificate.Fingerprint(ca), "--dry-run"}, 1, "", 1, "could not verify https://kube.invalid"},
		{"a proxy-url kubectl refuses", "ftp://proxy.invalid", []string{"--add-ca", otherCAFile, "--dry-run"}, 1, "", 0, `proxy-url "ftp://proxy.invalid": unsupported scheme "ftp"`},
		{"a refused proxy-url's password is not printed", "socks5h://alice:s3cret@proxy.invalid:1080", []string{"--add-ca", otherCAFile, "--dry-run"}, 1, "", 0,
			`proxy-url "socks5h://alice:xxxxx@proxy.invalid:1080": unsupported scheme "socks5h"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			connects.Store(0)
			path := filepath.Join(t.TempDir(), "config")
			kcWrite(t, path, "https://kube.invalid", ca, tt.proxyURL, 0o600)
			if tt.name == "through the proxy, the serving CA removed" {
				// Two CAs, so that removing the serving one leaves one.
				if _, errOut, code := runKubeconfig(t, path, time.Now(), "--add-ca", otherCAFile); code != 0 {
					t.Fatalf("setup: exit %d: %s", code, errOut)
				}
				connects.Store(0)
			}
			ch, errOut, code := runKubeconfig(t, path, time.Now(), tt.args...)
			if code != tt.wantCode || connects.Load() != tt.wantConnects {
				t.Fatalf("exit %d, %d CONNECTs; want %d, %d: %s", code, connects.Load(), tt.wantCode, tt.wantConnects, errOut)
			}
			if tt.wantVerified != "" && (ch.Verified == nil || map[bool]string{true: "true", false: "false"}[*ch.Verified] != tt.wantVerified) {
				t.Errorf("verified %v, want %s: %s", ch.Verified, tt.wantVerified, errOut)
			}
			if strings.Contains(errOut, "s3cret") {
				t.Errorf("stderr shows the proxy's password: %q", errOut)
			}
			if tt.wantErr != "" && (!strings.Contains(errOut, tt.wantErr) || strings.Count(errOut, "\n") != 1) {
				t.Errorf("stderr %q, want one line with %q", errOut, tt.wantErr)
			}
		})
	}
}

// kcDuringCheck is a server URL whose first connection — the live check,
// between reading the kubeconfig and writing it — runs during, then fails.
func kcDuringCheck(t *testing.T, during func()) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		during()
		c.Close()
	}()
	return "https://" + l.Addr().String()
}

// TestKubeconfigWritesTheFileItRead: what happens to the kubeconfig's path
// while the command runs (the owner of a kubeconfig root rewrites can
// change it at will during the live check) never makes it write another
// file, and an edit made meanwhile is not undone.
func TestKubeconfigWritesTheFileItRead(t *testing.T) {
	tests := []struct {
		name string
		// during changes the tree under dir; path is the kubeconfig given.
		during    func(t *testing.T, dir string)
		link      bool
		wantCode  int
		wantErr   string
		wantCAs   int    // in the file read, wherever it is now
		readNow   string // where the file read is now, relative to dir
		untouched string // a file that must keep its content, relative to dir
	}{
		{name: "the link re-pointed at another file", link: true,
			during: func(t *testing.T, dir string) {
				replaceLink(t, filepath.Join(dir, "config"), filepath.Join(dir, "victim", "passwd"))
			},
			wantCAs: 2, readNow: "kube/admin.conf", untouched: "victim/passwd"},
		{name: "its directory swapped for a link to another",
			during: func(t *testing.T, dir string) {
				if err := os.Rename(filepath.Join(dir, "kube"), filepath.Join(dir, "kube.moved")); err != nil {
					t.Error(err)
				}
				if err := os.Symlink(filepath.Join(dir, "victim"), filepath.Join(dir, "kube")); err != nil {
					t.Error(err)
				}
			},
			wantCAs: 2, readNow: "kube.moved/admin.conf", untouched: "victim/admin.conf"},
		{name: "edited meanwhile",
			during: func(t *testing.T, dir string) {
				f, err := os.OpenFile(filepath.Join(dir, "kube", "admin.conf"), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Error(err)
					return
				}
				fmt.Fprintln(f, "# an edit made during the check")
				f.Close()
			},
			wantCode: 1, wantErr: "changed since it was read", wantCAs: 1, readNow: "kube/admin.conf"},
		{name: "replaced by another file meanwhile",
			during: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "kube", "admin.conf")
				data, _ := os.ReadFile(p)
				writeFile(t, p+".new", data, 0o600)
				if err := os.Rename(p+".new", p); err != nil {
					t.Error(err)
				}
			},
			wantCode: 1, wantErr: "no longer the file read", wantCAs: 1, readNow: "kube/admin.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ca, _ := kcCA(t, dir, "old-ca")
			_, newCAFile := kcCA(t, dir, "new-ca")
			for _, d := range []string{"kube", "victim"} {
				if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, filepath.Join(dir, "victim", "passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644)
			writeFile(t, filepath.Join(dir, "victim", "admin.conf"), []byte("root's\n"), 0o600)
			server := kcDuringCheck(t, func() { tt.during(t, dir) })
			path := filepath.Join(dir, "kube", "admin.conf")
			kcWrite(t, path, server, ca, "", 0o600)
			if tt.link {
				if err := os.Symlink(path, filepath.Join(dir, "config")); err != nil {
					t.Fatal(err)
				}
				path = filepath.Join(dir, "config")
			}
			victims := map[string][]byte{}
			for _, v := range []string{"victim/passwd", "victim/admin.conf"} {
				victims[v], _ = os.ReadFile(filepath.Join(dir, v))
			}
			_, errOut, code := runKubeconfig(t, path, time.Now(), "--add-ca", newCAFile)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, want %d with %q: %s", code, tt.wantCode, tt.wantErr, errOut)
			}
			for v, want := range victims {
				if got, _ := os.ReadFile(filepath.Join(dir, v)); string(got) != string(want) {
					t.Errorf("%s was written: %q", v, got)
				}
			}
			if got := kcBundle(t, filepath.Join(dir, tt.readNow)); len(got) != tt.wantCAs {
				t.Errorf("%s has %d CAs, want %d", tt.readNow, len(got), tt.wantCAs)
			}
			if tt.wantCode != 0 {
				if data, _ := os.ReadFile(filepath.Join(dir, tt.readNow)); tt.name == "edited meanwhile" && !strings.Contains(string(data), "an edit made during the check") {
					t.Error("the edit made meanwhile is lost")
				}
				entries, _ := os.ReadDir(filepath.Join(dir, "kube"))
				for _, e := range entries {
					if strings.Contains(e.Name(), "kubecerts-backup") || strings.Contains(e.Name(), ".tmp-") {
						t.Errorf("written although refused: %s", e.Name())
					}
				}
			}
		})
	}
}

// replaceLink makes link point to target instead.
func replaceLink(t *testing.T, link, target string) {
	t.Helper()
	if err := os.Remove(link); err != nil {
		t.Error(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Error(err)
	}
}
