package source

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
)

// k3sFixture is a k3s server node's data directory: server/tls with its
// five CAs and their leaves, and agent with copies of two CAs.
type k3sFixture struct {
	dir, tls, agent string
	cas             map[string]*certtest.Cert
	keyBodies       []string
}

// The leaves the fixture makes, with the CA that signs each.
var (
	k3sServerLeaves = map[string]string{
		"client-admin": "client-ca", "client-kube-apiserver": "client-ca", "serving-kube-apiserver": "server-ca",
		"client-auth-proxy": "request-header-ca", "etcd/client": "etcd/server-ca", "etcd/server-client": "etcd/server-ca",
		"etcd/peer-server-client": "etcd/peer-ca",
	}
	k3sAgentLeaves = map[string]string{"client-kubelet": "client-ca", "client-kube-proxy": "client-ca", "serving-kubelet": "server-ca"}
)

func newK3sFixture(t *testing.T) *k3sFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &k3sFixture{dir: dir, tls: filepath.Join(dir, "server/tls"), agent: filepath.Join(dir, "agent"), cas: map[string]*certtest.Cert{}}
	for _, name := range k3sCAs {
		fx.cas[name] = certtest.CA(t, "k3s-"+strings.ReplaceAll(name, "/", "-")+"@1700000000")
		fx.write(t, fx.tls, name, fx.cas[name], true)
	}
	for name, ca := range k3sServerLeaves {
		fx.write(t, fx.tls, name, certtest.New(t, certtest.Template{CommonName: name}, fx.cas[ca]), true)
	}
	for _, name := range []string{"client-ca", "server-ca"} {
		fx.write(t, fx.agent, name, fx.cas[name], false)
	}
	for name, ca := range k3sAgentLeaves {
		fx.write(t, fx.agent, name, certtest.New(t, certtest.Template{CommonName: name}, fx.cas[ca]), true)
	}
	pkiWrite(t, fx.tls, "dynamic-cert.json", []byte(`{"note":"not a *.crt"}`))
	return fx
}

func (fx *k3sFixture) write(t *testing.T, dir, name string, c *certtest.Cert, withKey bool) {
	pkiWrite(t, dir, name+".crt", c.PEM())
	if withKey {
		key := c.KeyPEM(t)
		fx.keyBodies = append(fx.keyBodies, strings.Split(string(key), "\n")[1])
		pkiWrite(t, dir, name+".key", key)
	}
}

// k3sWant is the full layout as the report must show it, by location
// relative to the data directory, with the CAs whose key is absent listed.
func k3sWant(external ...string) map[string]pkiEntry {
	ext := map[string]bool{}
	for _, e := range external {
		ext[e] = true
	}
	want := map[string]pkiEntry{}
	for _, ca := range k3sCAs {
		want["server/tls/"+ca+".crt"] = pkiEntry{"", ext[ca]}
	}
	for name, ca := range k3sServerLeaves {
		want["server/tls/"+name+".crt"] = pkiEntry{ca, ext[ca]}
	}
	for _, ca := range []string{"client-ca", "server-ca"} {
		want["agent/"+ca+".crt"] = pkiEntry{"", ext[ca]}
	}
	for name, ca := range k3sAgentLeaves {
		want["agent/"+name+".crt"] = pkiEntry{ca, ext[ca]}
	}
	return want
}

func TestK3sDir(t *testing.T) {
	tests := []struct {
		name         string
		mutate       func(t *testing.T, fx *k3sFixture)
		want         func(map[string]pkiEntry)
		wantExternal []string
		wantSkipped  []string
		wantErrors   map[string]string
		wantNote     string
	}{
		{name: "server node"},
		{
			name:         "a CA key absent: externally managed",
			mutate:       func(t *testing.T, fx *k3sFixture) { pkiRemove(t, filepath.Join(fx.tls, "server-ca.key")) },
			wantExternal: []string{"server-ca"},
		},
		{
			name:   "agent-only node",
			mutate: func(t *testing.T, fx *k3sFixture) { pkiRemove(t, filepath.Join(fx.dir, "server")) },
			want: func(w map[string]pkiEntry) {
				for loc := range w {
					if strings.HasPrefix(loc, "server/") {
						delete(w, loc)
					}
				}
			},
			// The CA keys are on the servers.
			wantExternal: []string{"client-ca", "server-ca"},
			wantSkipped:  []string{"server/tls"},
		},
		{
			name: "missing CA files are skipped",
			mutate: func(t *testing.T, fx *k3sFixture) {
				pkiRemove(t, filepath.Join(fx.tls, "request-header-ca.crt"), filepath.Join(fx.tls, "etcd"), fx.agent)
			},
			want: func(w map[string]pkiEntry) {
				for loc := range w {
					if strings.HasPrefix(loc, "server/tls/etcd/") || strings.HasPrefix(loc, "agent/") || loc == "server/tls/request-header-ca.crt" {
						delete(w, loc)
					}
				}
				w["server/tls/client-auth-proxy.crt"] = pkiEntry{"", false}
			},
			wantSkipped: []string{"agent", "server/tls/etcd/peer-ca.crt", "server/tls/etcd/server-ca.crt", "server/tls/request-header-ca.crt"},
		},
		{
			name: "a broken file is an error naming it",
			mutate: func(t *testing.T, fx *k3sFixture) {
				pkiWrite(t, fx.agent, "serving-kubelet.crt", []byte("garbage\n"))
			},
			want:       func(w map[string]pkiEntry) { delete(w, "agent/serving-kubelet.crt") },
			wantErrors: map[string]string{"agent/serving-kubelet.crt": "agent/serving-kubelet.crt: text without a PEM block"},
		},
		{
			name: "an agent with a stale CA",
			mutate: func(t *testing.T, fx *k3sFixture) {
				pkiWrite(t, fx.agent, "server-ca.crt", certtest.CA(t, "k3s-server-ca@1700000000").PEM())
			},
			wantNote: "agent/server-ca.crt differs from " + "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newK3sFixture(t)
			if tt.mutate != nil {
				tt.mutate(t, fx)
			}
			r := pkiRun(&K3sDir{Dir: fx.dir})
			want := k3sWant(tt.wantExternal...)
			if tt.want != nil {
				tt.want(want)
			}
			got := map[string]pkiEntry{}
			for _, c := range r.Certificates {
				loc := strings.TrimPrefix(c.Location, fx.dir+"/")
				got[loc] = pkiEntry{c.CAName, c.ExternallyManaged}
				if wantName := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(loc, "server/tls/"), "agent/"), ".crt"); c.Name != wantName || c.Source != "k3s-dir" {
					t.Errorf("%s: name %q source %q, want %q k3s-dir", loc, c.Name, c.Source, wantName)
				}
			}
			for loc, w := range want {
				if g, ok := got[loc]; !ok {
					t.Errorf("%s not reported", loc)
				} else if g != w {
					t.Errorf("%s: caName %q externallyManaged %v, want %q %v", loc, g.ca, g.external, w.ca, w.external)
				}
			}
			for loc := range got {
				if _, ok := want[loc]; !ok {
					t.Errorf("%s reported, not expected", loc)
				}
			}
			pkiCheckSkippedAndErrors(t, fx.dir, r, tt.wantSkipped, tt.wantErrors)
			notes := strings.Join(r.Notes, "\n")
			if tt.wantNote == "" && notes != "" || !strings.Contains(notes, tt.wantNote) {
				t.Errorf("notes = %q, want %q", notes, tt.wantNote)
			}
			out, _ := json.Marshal(r)
			for _, body := range fx.keyBodies {
				if strings.Contains(string(out), body[:24]) {
					t.Fatalf("key material in the report")
				}
			}
		})
	}
}

func TestK3sDirMissingDirectoryIsOneError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "k3s")
	r := pkiRun(&K3sDir{Dir: missing})
	if len(r.Errors) != 1 || r.Errors[0].Location != missing || len(r.Certificates)+len(r.Skipped) != 0 {
		t.Fatalf("report = %+v, want one error for %s", r, missing)
	}
}
