package catrust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubecerts/kubecerts/shared/certificate"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// The az calls of the aks store on the test cluster: the first show (by
// the flags: no subscription yet), the later ones (the subscription read
// from the cluster's ID), and an update with eTag etag.
const (
	showFirst = "aks show -g " + testRG + " -n " + testCluster + " -o json"
	showAgain = "aks show -g " + testRG + " -n " + testCluster + " --subscription " + testSubscription + " -o json"
	aksFlags  = "--aks-resource-group=" + testRG
	aksName   = "--aks-name=" + testCluster
)

func updateCall(etag string, extra ...string) string {
	return strings.Join(append([]string{"aks update -g " + testRG + " -n " + testCluster + " --subscription " + testSubscription +
		" --custom-ca-trust-certificates FILE --if-match " + etag + " -o json"}, extra...), " ")
}

// genCA is a new self-signed CA named cn, valid until 2126, as PEM.
func genCA(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return encodePEM(c)
}

// b64 is base64 of data, as the cluster's list holds a CA.
func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

// listFingerprints are the fingerprints of the cluster's list, in order.
func listFingerprints(t *testing.T, c *fakeCluster) []string {
	t.Helper()
	var out []string
	for i, v := range c.CAs {
		data, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		b, err := certificate.Parse(data)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		for _, c := range b.Certificates {
			out = append(out, certificate.Fingerprint(c))
		}
	}
	return out
}

// fps are the fingerprints of the fixtures named.
func fps(t *testing.T, names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, fp(t, n))
	}
	return out
}

// wantCalls compares the az calls made with want.
func wantCalls(t *testing.T, f *fakeAz, want ...string) {
	t.Helper()
	if got := f.callLines(); !reflect.DeepEqual(got, want) {
		t.Errorf("az calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// bundleOf is FormatBundle of the fixtures named.
func bundleOf(t *testing.T, names ...string) string {
	var certs []*x509.Certificate
	for _, n := range names {
		certs = append(certs, fixture(t, n))
	}
	return string(FormatBundle(certs))
}

// checkSent checks that the aks updates sent exactly contents, each file
// private (0600) and removed once az was done with it.
func checkSent(t *testing.T, f *fakeAz, contents ...string) {
	t.Helper()
	if len(f.files) != len(contents) {
		t.Fatalf("%d update file(s) sent, want %d", len(f.files), len(contents))
	}
	for i, sf := range f.files {
		if sf.Content != contents[i] {
			t.Errorf("update %d sent:\n%s\nwant:\n%s", i+1, sf.Content, contents[i])
		}
		if sf.Mode != 0o600 {
			t.Errorf("update %d: file mode %v, want 0600", i+1, sf.Mode)
		}
		if _, err := os.Stat(sf.Path); !os.IsNotExist(err) {
			t.Errorf("update %d: %s is left behind (%v)", i+1, sf.Path, err)
		}
	}
}

func TestAKSListGolden(t *testing.T) {
	for _, tt := range []struct{ name, golden string }{
		{"table", "list-aks.table"},
		{"json", "list-aks.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAz(t, testAKSCluster(t, "ca-a", "ca-soon", "ca-expired"))
			args := []string{"--store=aks", aksFlags, aksName}
			if tt.name == "json" {
				args = append(args, "-o", "json")
			}
			code, out, errOut := runAz(t, fakeClient(), f, "", "list", args...)
			if code != exitcode.Critical {
				t.Errorf("exit %d, want 3 (an expired CA); stderr:\n%s", code, errOut)
			}
			golden(t, tt.golden, out)
			wantCalls(t, f, showFirst)
			if tt.name == "table" && !strings.Contains(errOut, "note: store aks: the CA list of AKS cluster rg-prod/aks-prod (--store aks)\n") {
				t.Errorf("stderr lacks the store note:\n%s", errOut)
			}
			if tt.name != "json" {
				return
			}
			var l api.CATrustList
			if err := json.Unmarshal([]byte(out), &l); err != nil {
				t.Fatal(err)
			}
			want := &api.AKSClusterRef{Subscription: testSubscription, ResourceGroup: testRG, Name: testCluster, ID: testClusterID}
			if l.Store != "aks" || !reflect.DeepEqual(l.Cluster, want) || l.ETag != "etag-1" || l.ProvisioningState != "Succeeded" || !l.Exists || l.Secret != (api.CATrustSecretRef{}) {
				t.Errorf("list: store %q, cluster %+v, eTag %q, state %q, exists %t, secret %+v", l.Store, l.Cluster, l.ETag, l.ProvisioningState, l.Exists, l.Secret)
			}
			if len(l.Items) != 3 {
				t.Fatalf("%d items, want 3", len(l.Items))
			}
			for i, it := range l.Items {
				if want := "aks/rg-prod/aks-prod/" + nextKeyN(i+1); it.Location != want || it.Source != "aks" || it.Key != nextKeyN(i+1) {
					t.Errorf("item %d: key %s, location %s, source %s; want %s, aks", i, it.Key, it.Location, it.Source, want)
				}
			}
		})
	}
}

// The store note is printed once the cluster is known, and names it.

// TestAKSListWhichCluster: the cluster is named by flags, by --aks-id, or
// found by the API server's host with az aks list.
func TestAKSListWhichCluster(t *testing.T) {
	other := testAKSCluster(t)
	other.ID = "/subscriptions/" + testSubscription + "/resourceGroups/rg-dev/providers/Microsoft.ContainerService/managedClusters/aks-dev"
	other.Name, other.ResourceGroup, other.Fqdn, other.PortalFqdn = "aks-dev", "rg-dev", "aks-dev-dns-9f8e7d6c.hcp.westeurope.azmk8s.io", ""
	private := testAKSCluster(t, "ca-b")
	private.ID = "/subscriptions/" + testSubscription + "/resourceGroups/rg-priv/providers/Microsoft.ContainerService/managedClusters/aks-priv"
	private.Name, private.ResourceGroup, private.Fqdn, private.PrivateFqdn = "aks-priv", "rg-priv", "", "aks-priv-5e6f.privatelink.westeurope.azmk8s.io"
	twin := testAKSCluster(t)
	twin.ID = "/subscriptions/" + testSubscription + "/resourceGroups/rg-twin/providers/Microsoft.ContainerService/managedClusters/aks-prod"
	twin.ResourceGroup = "rg-twin"

	for _, tt := range []struct {
		name      string
		clusters  []*fakeCluster
		server    string
		args      []string
		wantCode  int
		wantErr   string
		wantNote  string
		wantCalls []string
	}{
		{
			name: "--aks-id", clusters: []*fakeCluster{testAKSCluster(t, "ca-a"), other}, args: []string{"--store=aks", "--aks-id=" + testClusterID},
			wantNote:  "note: store aks: the CA list of AKS cluster rg-prod/aks-prod (--store aks)",
			wantCalls: []string{showAgain},
		},
		{
			name: "--store auto with an --aks-* flag", clusters: []*fakeCluster{testAKSCluster(t, "ca-a")}, args: []string{aksFlags, aksName},
			wantNote:  "note: store aks: the CA list of AKS cluster rg-prod/aks-prod (--store auto: an --aks-* flag is given)",
			wantCalls: []string{showFirst},
		},
		{
			name: "found by the host", clusters: []*fakeCluster{other, testAKSCluster(t, "ca-a")}, server: "https://" + testHost + ":443",
			wantNote:  "note: store aks: the CA list of AKS cluster rg-prod/aks-prod (--store auto: the API server " + testHost + " is AKS's)",
			wantCalls: []string{"aks list -o json", showAgain},
		},
		{
			name: "found by the private host", clusters: []*fakeCluster{other, private}, server: "https://AKS-PRIV-5E6F.privatelink.westeurope.azmk8s.io.:443", args: []string{"--store=aks"},
			wantNote:  "note: store aks: the CA list of AKS cluster rg-priv/aks-priv (--store aks)",
			wantCalls: []string{"aks list -o json", "aks show -g rg-priv -n aks-priv --subscription " + testSubscription + " -o json"},
		},
		{
			name: "found in the subscription given", clusters: []*fakeCluster{testAKSCluster(t, "ca-a")}, server: "https://" + testHost, args: []string{"--subscription=" + testSubscription},
			wantCalls: []string{"aks list -o json --subscription " + testSubscription, showAgain},
		},
		{
			name: "no cluster has the host", clusters: []*fakeCluster{other}, server: "https://" + testHost, wantCode: 1,
			wantErr:   "error: no AKS cluster in az's default subscription (az aks list: 1 cluster(s)) has API server " + testHost + " as its fqdn, privateFqdn or azurePortalFqdn: give --aks-resource-group and --aks-name, or --aks-id, or --subscription for another subscription\n",
			wantCalls: []string{"aks list -o json"},
		},
		{
			name: "two clusters have the host", clusters: []*fakeCluster{twin, testAKSCluster(t, "ca-a")}, server: "https://" + testHost, wantCode: 1,
			wantErr:   "error: 2 AKS clusters in az's default subscription have API server " + testHost + " (" + testClusterID + ", " + twin.ID + "): give --aks-id to say which\n",
			wantCalls: []string{"aks list -o json"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAz(t, tt.clusters...)
			code, out, errOut := runWith(t, fakeClient(), f, tt.server, "", "list", tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			if tt.wantErr != "" && !strings.HasSuffix(errOut, tt.wantErr) {
				t.Errorf("stderr:\n%s\nwant it to end with:\n%s", errOut, tt.wantErr)
			}
			if tt.wantErr == "" && !strings.Contains(out, "ca1.crt") {
				t.Errorf("stdout lists no ca1.crt:\n%s", out)
			}
			if tt.wantNote != "" && !strings.Contains(errOut, tt.wantNote+"\n") {
				t.Errorf("stderr lacks %q:\n%s", tt.wantNote, errOut)
			}
			wantCalls(t, f, tt.wantCalls...)
		})
	}
}

// TestAKSSecretStoreOnAKSHost: the secret store on an AKS API server warns
// that AKS no longer reads the secret, and points to migrate.
func TestAKSSecretStoreOnAKSHost(t *testing.T) {
	code, out, errOut := runWith(t, fakeClient(secretWith(t, "ca-a")), nil, "https://"+testHost+":443", "", "list", "--store=secret")
	if code != 0 || !strings.Contains(out, "ca1.crt") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	want := "warning: " + retiredNote + "; secret kube-system/custom-ca-trust-secret is not installed on any node: use --store aks, and move its CAs with kubectl ca-trust migrate\n"
	if !strings.HasPrefix(errOut, want) {
		t.Errorf("stderr:\n%s\nwant it to start with:\n%s", errOut, want)
	}
	// Elsewhere, no warning.
	_, _, errOut = runWith(t, fakeClient(secretWith(t, "ca-a")), nil, "https://api.example.com:6443", "", "list")
	if strings.Contains(errOut, "warning") || strings.Contains(errOut, "store") {
		t.Errorf("stderr off AKS:\n%s", errOut)
	}
}
