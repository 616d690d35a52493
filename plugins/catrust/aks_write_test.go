package catrust

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// aksArgs are --store aks and the flags naming the test cluster, then
// args.
func aksArgs(args ...string) []string {
	return append([]string{"--store=aks", aksFlags, aksName}, args...)
}

// changeOf decodes a CATrustChange printed with -o json.
func changeOf(t *testing.T, out string) *api.CATrustChange {
	t.Helper()
	var c api.CATrustChange
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("%v; stdout:\n%s", err, out)
	}
	return &c
}

// TestAKSAdd: without --yes the plan, under --dry-run=client the plan
// with exit 0, with --yes one update with --if-match the eTag read and a
// file holding the whole new list; what changes nothing sends nothing, and
// what add refuses is refused before anything is sent.
func TestAKSAdd(t *testing.T) {
	leaf, expired := writeFile(t, "leaf.pem", fixturePEM(t, "leaf")), writeFile(t, "expired.pem", fixturePEM(t, "ca-expired"))
	for _, tt := range []struct {
		name      string
		args      []string
		endState  string
		wantCode  int
		wantOut   []string // in stdout
		wantErr   []string // in stderr
		wantCalls []string
		wantSent  []string
		wantList  []string // the cluster's list after, as fixtures
	}{
		{
			name: "no --yes: the plan", args: aksArgs("testdata/ca-b.pem"), wantCode: 1,
			wantOut: []string{"added    ca2.crt   CN=kubecerts-trust-b"},
			wantErr: []string{
				"note: AKS will replace every Linux node of the cluster: 5 node(s) of pool(s) nodepool1, userpool (a model update: new nodes with the new list, the old ones drained and deleted)\n",
				"note: this is the plan; the CA list of AKS cluster rg-prod/aks-prod was not updated\n",
				"error: not sent: updating the CA list of AKS cluster rg-prod/aks-prod makes AKS replace every Linux node of the cluster; run again with --yes to send it (--dry-run=client shows the plan alone)\n",
			},
			wantCalls: []string{showFirst}, wantList: []string{"ca-a"},
		},
		{
			name: "--dry-run=client", args: aksArgs("testdata/ca-b.pem", "--dry-run=client", "--yes"),
			wantOut:   []string{"added    ca2.crt"},
			wantErr:   []string{"note: --dry-run=client: the CA list of AKS cluster rg-prod/aks-prod was not updated\n"},
			wantCalls: []string{showFirst}, wantList: []string{"ca-a"},
		},
		{
			name: "--yes", args: aksArgs("testdata/ca-b.pem", "--yes"),
			wantOut: []string{"added    ca2.crt", "kept     ca1.crt"},
			wantErr: []string{
				"note: updating the CA list of AKS cluster rg-prod/aks-prod: AKS will replace every Linux node of the cluster: 5 node(s) of pool(s) nodepool1, userpool (a model update: new nodes with the new list, the old ones drained and deleted); waiting for it to finish (--no-wait not to)\n",
				"note: the CA list of AKS cluster rg-prod/aks-prod updated: provisioningState Succeeded; new nodes carry the new list\n",
			},
			wantCalls: []string{showFirst, updateCall("etag-1")},
			wantSent:  []string{bundleOf(t, "ca-a", "ca-b")}, wantList: []string{"ca-a", "ca-b"},
		},
		{
			name: "--no-wait", args: aksArgs("testdata/ca-b.pem", "--yes", "--no-wait"),
			wantErr:   []string{"note: AKS accepted the new list of rg-prod/aks-prod and is replacing the nodes; follow it with: az aks show -g rg-prod -n aks-prod --subscription " + testSubscription + " --query provisioningState -o tsv\n"},
			wantCalls: []string{showFirst, updateCall("etag-1", "--no-wait")},
			wantSent:  []string{bundleOf(t, "ca-a", "ca-b")}, wantList: []string{"ca-a", "ca-b"},
		},
		{
			name: "the update ends Failed", args: aksArgs("testdata/ca-b.pem", "--yes"), endState: "Failed", wantCode: 1,
			wantErr:   []string{"error: AKS accepted the new list of rg-prod/aks-prod but its update ended Failed: see az aks show -g rg-prod -n aks-prod --subscription " + testSubscription + "\n"},
			wantCalls: []string{showFirst, updateCall("etag-1")},
			wantSent:  []string{bundleOf(t, "ca-a", "ca-b")}, wantList: []string{"ca-a", "ca-b"},
		},
		{
			name: "a duplicate: nothing sent", args: aksArgs("testdata/ca-a.pem", "--yes"),
			wantOut:   []string{"skipped"},
			wantErr:   []string{"already in the secret as ca1.crt; skipped", "note: nothing to change; the CA list of AKS cluster rg-prod/aks-prod was not updated\n"},
			wantCalls: []string{showFirst}, wantList: []string{"ca-a"},
		},
		{
			name: "a duplicate beside a new CA", args: aksArgs("testdata/ca-a.pem", "testdata/ca-c.pem", "--yes"),
			wantCalls: []string{showFirst, updateCall("etag-1")},
			wantSent:  []string{bundleOf(t, "ca-a", "ca-c")}, wantList: []string{"ca-a", "ca-c"},
		},
		{
			name: "not a CA: refused", args: aksArgs(leaf, "--yes"), wantCode: 1,
			wantErr: []string{"not a CA"}, wantList: []string{"ca-a"},
		},
		{
			name: "expired: refused", args: aksArgs(expired, "--yes"), wantCode: 1,
			wantErr: []string{"expired"}, wantList: []string{"ca-a"},
		},
		{
			name: "--max 11: a usage error", args: aksArgs("testdata/ca-b.pem", "--yes", "--max=11"), wantCode: 1,
			wantErr: []string{"--max 11: an AKS cluster's list holds at most 10"}, wantList: []string{"ca-a"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAz(t, testAKSCluster(t, "ca-a"))
			f.endState = tt.endState
			code, out, errOut := runAz(t, fakeClient(), f, "", "add", tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			wantCalls(t, f, tt.wantCalls...)
			checkSent(t, f, tt.wantSent...)
			if got, want := listFingerprints(t, f.clusters[0]), fps(t, tt.wantList...); !reflect.DeepEqual(got, want) {
				t.Errorf("the cluster's list holds %v, want %v", got, want)
			}
		})
	}
}

// TestAKSAddJSON: -o json prints the change with the store, the cluster,
// the eTag sent and the provisioningState after.
func TestAKSAddJSON(t *testing.T) {
	f := newFakeAz(t, testAKSCluster(t, "ca-a"))
	code, out, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "--yes", "-o", "json")...)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	c := changeOf(t, out)
	if c.Store != "aks" || c.Cluster == nil || c.Cluster.ID != testClusterID || c.ETag != "etag-1" || c.ProvisioningState != "Succeeded" ||
		c.Attempts != 1 || c.Retries != nil || c.Planned || c.NoWait || len(c.Added) != 1 || c.Added[0].Key != "ca2.crt" {
		t.Errorf("change %+v", c)
	}

	f = newFakeAz(t, testAKSCluster(t, "ca-a"))
	_, out, _ = runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "-o", "json")...)
	if c := changeOf(t, out); !c.Planned || c.DryRun != "" || len(c.Added) != 1 {
		t.Errorf("plan %+v", c)
	}
	_, out, _ = runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "-o", "json", "--no-wait", "--yes")...)
	if c := changeOf(t, out); !c.NoWait || c.ProvisioningState != "Updating" {
		t.Errorf("--no-wait: %+v", c)
	}
}

// TestAKSAddOverTheLimit: more than 10 CAs is refused before anything is
// sent.
func TestAKSAddOverTheLimit(t *testing.T) {
	c := testAKSCluster(t)
	for i := 1; i <= 9; i++ {
		c.CAs = append(c.CAs, b64(genCA(t, fmt.Sprintf("ca-%d", i))))
	}
	f := newFakeAz(t, c)
	code, _, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-a.pem", "testdata/ca-b.pem", "--yes")...)
	if code != 1 || !strings.Contains(errOut, "error: the CA list of AKS cluster rg-prod/aks-prod would hold 11 certificates, over --max 10") {
		t.Errorf("exit %d; stderr:\n%s", code, errOut)
	}
	wantCalls(t, f, showFirst)
}

// TestAKSAddRetries: a 412 re-reads the list and re-applies the add to
// what the other writer wrote; OperationNotAllowed waits for the other
// operation to end (polling the cluster), then does the same.
func TestAKSAddRetries(t *testing.T) {
	t.Run("412", func(t *testing.T) {
		f := newFakeAz(t, testAKSCluster(t, "ca-a"))
		f.interleave = func(c *fakeCluster) { c.CAs = append(c.CAs, b64(fixturePEM(t, "ca-c"))) }
		code, out, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "--yes", "-o", "json")...)
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, errOut)
		}
		wantCalls(t, f, showFirst, updateCall("etag-1"), showAgain, updateCall("etag-2"))
		checkSent(t, f, bundleOf(t, "ca-a", "ca-b"), bundleOf(t, "ca-a", "ca-c", "ca-b"))
		c := changeOf(t, out)
		if c.Retries == nil || *c.Retries != (api.CATrustRetries{PreconditionFailed: 1}) || c.Attempts != 2 || c.ETag != "etag-2" || len(c.Added) != 1 || c.Added[0].Key != "ca3.crt" {
			t.Errorf("change: retries %+v, attempts %d, eTag %s, added %+v", c.Retries, c.Attempts, c.ETag, c.Added)
		}
		if got, want := listFingerprints(t, f.clusters[0]), fps(t, "ca-a", "ca-c", "ca-b"); !reflect.DeepEqual(got, want) {
			t.Errorf("list %v, want %v", got, want)
		}
	})
	t.Run("412, for people", func(t *testing.T) {
		f := newFakeAz(t, testAKSCluster(t, "ca-a"))
		f.interleave = func(c *fakeCluster) { c.CAs = append(c.CAs, b64(fixturePEM(t, "ca-c"))) }
		code, _, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "--yes")...)
		if code != 0 || !strings.Contains(errOut, "note: 1 update(s) refused as the cluster had changed (412) and 0 as another operation was running; each re-read the list and re-applied the change\n") {
			t.Errorf("exit %d; stderr:\n%s", code, errOut)
		}
	})
	t.Run("OperationNotAllowed", func(t *testing.T) {
		f := newFakeAz(t, testAKSCluster(t, "ca-a"))
		f.busyOnce = true
		code, out, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "--yes", "-o", "json")...)
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, errOut)
		}
		// The update refused, two polls (Updating, then Succeeded), the
		// re-read, the update.
		wantCalls(t, f, showFirst, updateCall("etag-1"), showAgain, showAgain, showAgain, updateCall("etag-1"))
		checkSent(t, f, bundleOf(t, "ca-a", "ca-b"), bundleOf(t, "ca-a", "ca-b"))
		c := changeOf(t, out)
		if c.Retries == nil || *c.Retries != (api.CATrustRetries{OperationInProgress: 1}) || c.Attempts != 2 {
			t.Errorf("change: retries %+v, attempts %d", c.Retries, c.Attempts)
		}
	})
	t.Run("OperationNotAllowed from a cluster where nothing happens: gives up", func(t *testing.T) {
		// A stopped cluster refuses updates with OperationNotAllowed while no
		// operation runs and its eTag stays: waiting would not end it.
		f := newFakeAz(t, testAKSCluster(t, "ca-a"))
		f.fail["aks update"] = azErr("az aks update", az.KindOperationNotAllowed, "OperationNotAllowed", "Managed cluster aks-prod is in stopped state.")
		code, _, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "--yes")...)
		want := "error: updating the CA list of AKS cluster rg-prod/aks-prod: AKS refuses it (OperationNotAllowed) though no operation is running and the cluster does not change: Managed cluster aks-prod is in stopped state.\n"
		if code != 1 || !strings.HasSuffix(errOut, want) {
			t.Errorf("exit %d; stderr:\n%s\nwant it to end with:\n%s", code, errOut, want)
		}
		// Three refusals, each followed by one read that finds the cluster
		// idle and unchanged, and a read before each new attempt.
		wantCalls(t, f, showFirst, updateCall("etag-1"), showAgain, showAgain, updateCall("etag-1"), showAgain, showAgain, updateCall("etag-1"), showAgain)
	})
	t.Run("AuthorizationFailed: no retry", func(t *testing.T) {
		f := newFakeAz(t, testAKSCluster(t, "ca-a"))
		f.fail["aks update"] = &az.Error{Command: "az aks update", Kind: az.KindAuthorization, Code: "AuthorizationFailed", ExitCode: 1,
			Message:   "The client 'ops@example.com' with object id '1111' does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/write' over scope '" + testClusterID + "'",
			Principal: "ops@example.com", Action: "Microsoft.ContainerService/managedClusters/write", Scope: testClusterID}
		code, _, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "--yes")...)
		want := "error: updating the CA list of AKS cluster rg-prod/aks-prod: az aks update: no permission: Azure denied ops@example.com the action Microsoft.ContainerService/managedClusters/write on " + testClusterID + "\n"
		if code != 1 || !strings.HasSuffix(errOut, want) {
			t.Errorf("exit %d; stderr:\n%s\nwant it to end with:\n%s", code, errOut, want)
		}
		wantCalls(t, f, showFirst, updateCall("etag-1"))
		checkSent(t, f, bundleOf(t, "ca-a", "ca-b"))
	})
	t.Run("no eTag: nothing sent", func(t *testing.T) {
		f := newFakeAz(t, testAKSCluster(t, "ca-a"))
		f.clusters[0].ETag = ""
		code, _, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "--yes")...)
		want := "error: az aks show rg-prod/aks-prod gives no eTag, so the update cannot be made conditional on the list read: update the Azure CLI (az upgrade); nothing was sent\n"
		if code != 1 || !strings.HasSuffix(errOut, want) {
			t.Errorf("exit %d; stderr:\n%s", code, errOut)
		}
		wantCalls(t, f, showFirst)
	})
	t.Run("a read fails", func(t *testing.T) {
		f := newFakeAz(t, testAKSCluster(t, "ca-a"))
		f.fail["aks show"] = azErr("az aks show", az.KindNotFound, "ResourceGroupNotFound", "Resource group 'rg-prod' could not be found.")
		code, _, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-b.pem", "--yes")...)
		if code != 1 || !strings.Contains(errOut, "error: reading AKS cluster rg-prod/aks-prod: az aks show failed (exit status 1): (ResourceGroupNotFound) Resource group 'rg-prod' could not be found.\n") {
			t.Errorf("exit %d; stderr:\n%s", code, errOut)
		}
		wantCalls(t, f, showFirst)
	})
}

// TestAKSRemoveAndSync: remove by fingerprint and by key, sync --prune,
// each sending the whole list left.
func TestAKSRemoveAndSync(t *testing.T) {
	bc := writeFile(t, "bc.pem", append(fixturePEM(t, "ca-b"), fixturePEM(t, "ca-c")...))
	for _, tt := range []struct {
		name     string
		verb     string
		args     []string
		wantSent string
		wantList []string
	}{
		{"remove by key", "remove", aksArgs("ca2.crt", "--yes"), bundleOf(t, "ca-a", "ca-c"), []string{"ca-a", "ca-c"}},
		{"remove by fingerprint", "remove", aksArgs("--fingerprint", fp(t, "ca-c")[:12], "--yes"), bundleOf(t, "ca-a", "ca-b"), []string{"ca-a", "ca-b"}},
		{"sync", "sync", aksArgs(bc, "--yes"), "", []string{"ca-a", "ca-b", "ca-c"}},
		{"sync --prune", "sync", aksArgs(bc, "--prune", "--yes"), bundleOf(t, "ca-b", "ca-c"), []string{"ca-b", "ca-c"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAz(t, testAKSCluster(t, "ca-a", "ca-b", "ca-c"))
			code, _, errOut := runAz(t, fakeClient(), f, "", tt.verb, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut)
			}
			if tt.wantSent == "" {
				wantCalls(t, f, showFirst)
				checkSent(t, f)
			} else {
				wantCalls(t, f, showFirst, updateCall("etag-1"))
				checkSent(t, f, tt.wantSent)
			}
			if got, want := listFingerprints(t, f.clusters[0]), fps(t, tt.wantList...); !reflect.DeepEqual(got, want) {
				t.Errorf("list %v, want %v", got, want)
			}
		})
	}
}

// TestAKSAddReencodes: entries AKS took as CRLF, or as base64 of base64,
// are rewritten as LF PEM by the next add.
func TestAKSAddReencodes(t *testing.T) {
	misencoded := func() *fakeCluster {
		c := testAKSCluster(t, "ca-a")
		c.CAs = append(c.CAs, b64(bytes.ReplaceAll(fixturePEM(t, "ca-b"), []byte("\n"), []byte("\r\n"))), b64([]byte(b64(fixturePEM(t, "ca-warn")))))
		return c
	}
	f := newFakeAz(t, misencoded())
	code, out, errOut := runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-c.pem", "--yes", "-o", "json")...)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	checkSent(t, f, bundleOf(t, "ca-a", "ca-b", "ca-warn", "ca-c"))
	ch := changeOf(t, out)
	var re []string
	for _, it := range ch.Reencoded {
		re = append(re, it.Key)
	}
	if !reflect.DeepEqual(re, []string{"ca2.crt", "ca3.crt"}) || len(ch.Added) != 1 {
		t.Errorf("reencoded %v, added %+v", re, ch.Added)
	}
	// Nothing to add: the rewrite alone is sent.
	f = newFakeAz(t, misencoded())
	code, _, errOut = runAz(t, fakeClient(), f, "", "add", aksArgs("testdata/ca-a.pem", "--yes")...)
	if code != 0 {
		t.Errorf("exit %d; stderr:\n%s", code, errOut)
	}
	checkSent(t, f, bundleOf(t, "ca-a", "ca-b", "ca-warn"))
}

// TestAKSValidate: the list's entries are checked for what nodes cannot
// use and what AKS refuses.
func TestAKSValidate(t *testing.T) {
	a := fixturePEM(t, "ca-a")
	eleven := []string{}
	for i := 1; i <= 11; i++ {
		eleven = append(eleven, b64(genCA(t, fmt.Sprintf("ca-%d", i))))
	}
	for _, tt := range []struct {
		name string
		cas  []string
		code int
		want string // code@location
	}{
		{"good", []string{b64(a)}, 0, ""},
		{"CRLF", []string{b64(bytes.ReplaceAll(a, []byte("\n"), []byte("\r\n")))}, 1, "CRLF@customCATrustCertificates[0]"},
		{"base64 of base64", []string{b64(a), b64([]byte(b64(fixturePEM(t, "ca-b"))))}, 1, "Base64Encoded@customCATrustCertificates[1]"},
		{"not base64", []string{"not base64 at all!"}, 1, "NotBase64@customCATrustCertificates[0]"},
		// az with the aks-preview extension prints the list decoded: PEM
		// text is read as it is, not reported as not base64.
		{"PEM text, as aks-preview shows it", []string{string(fixturePEM(t, "ca-a"))}, 0, ""},
		{"not a CA", []string{b64(fixturePEM(t, "leaf"))}, 1, "NotCA@customCATrustCertificates[0]"},
		{"11 entries", eleven, 1, "TooMany@customCATrustCertificates"},
		{"empty", []string{}, 0, "NoCertificates@customCATrustCertificates"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := testAKSCluster(t)
			c.CAs = tt.cas
			f := newFakeAz(t, c)
			code, out, errOut := runAz(t, fakeClient(), f, "", "validate", aksArgs("-o", "json")...)
			var v api.CATrustValidation
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("%v; stdout %q, stderr %q", err, out, errOut)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d; problems %+v", code, tt.code, v.Problems)
			}
			var got []string
			for _, p := range v.Problems {
				got = append(got, p.Code+"@"+p.Location)
			}
			if tt.want == "" && len(got) > 0 || tt.want != "" && !contains(got, tt.want) {
				t.Errorf("problems = %v, want %q", got, tt.want)
			}
			wantCalls(t, f, showFirst)
		})
	}
}

// TestAKSExport: the list as the file az aks update takes.
func TestAKSExport(t *testing.T) {
	c := testAKSCluster(t, "ca-a", "ca-b")
	c.CAs = append(c.CAs, b64(bytes.ReplaceAll(fixturePEM(t, "ca-c"), []byte("\n"), []byte("\r\n"))))
	f := newFakeAz(t, c)
	code, out, errOut := runAz(t, fakeClient(), f, "", "export", aksArgs()...)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	if want := bundleOf(t, "ca-a", "ca-b", "ca-c"); out != want {
		t.Errorf("export:\n%s\nwant:\n%s", out, want)
	}
	wantCalls(t, f, showFirst)
}

// TestAKSUsage: wrong uses of the store's flags, refused before any az
// call.
func TestAKSUsage(t *testing.T) {
	for _, tt := range []struct {
		name string
		verb string
		args []string
		want string
	}{
		{"--store bogus", "list", []string{"--store=bogus"}, `--store "bogus": give secret, aks or auto`},
		{"--aks-name alone", "list", []string{"--store=aks", aksName}, "give --aks-resource-group and --aks-name together"},
		{"--aks-id malformed", "list", []string{"--aks-id=/subscriptions/x/resourceGroups/rg"}, `--aks-id: AKS cluster ID "/subscriptions/x/resourceGroups/rg": not of the form`},
		{"--aks-id and --aks-name", "list", []string{"--aks-id=" + testClusterID, aksFlags, aksName}, "--aks-id and --aks-resource-group/--aks-name exclude each other"},
		{"--aks-name @x", "list", []string{aksFlags, "--aks-name=@x"}, "--aks-name:"},
		{"--aks-resource-group @x", "add", []string{"--aks-resource-group=@rg", aksName, "testdata/ca-a.pem"}, "--aks-resource-group:"},
		{"--aks-* with --store secret", "list", []string{"--store=secret", aksFlags, aksName}, "--store is secret"},
		{"--no-wait with the secret store", "add", []string{"--store=secret", "--no-wait", "testdata/ca-a.pem"}, "--no-wait applies to --store aks; the store is secret"},
		{"--dry-run=server with aks", "add", aksArgs("--dry-run=server", "testdata/ca-a.pem"), "--dry-run=server: AKS has no server-side dry run"},
		{"--dry-run=server with aks: remove", "remove", aksArgs("--dry-run=server", "ca1.crt"), "--dry-run=server: AKS has no server-side dry run"},
		{"--secret with --store aks", "list", aksArgs("--secret=other"), "--secret names the trust secret; the store is aks (--store aks), which has none"},
		{"--secret with --aks-* flags", "export", []string{aksFlags, aksName, "--secret=other"}, "the store is aks (--store auto: an --aks-* flag is given)"},
		{"--max 11 with aks: sync", "sync", aksArgs("--max=11", "testdata/ca-a.pem"), "--max 11: an AKS cluster's list holds at most 10"},
		{"--max 11 with aks: validate", "validate", aksArgs("--max=11"), "--max 11: an AKS cluster's list holds at most 10"},
		{"--subscription differs from --aks-id", "list", []string{"--aks-id=" + testClusterID, "--subscription=00000000-0000-0000-0000-000000000002"}, "differs from the subscription of --aks-id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAz(t, testAKSCluster(t, "ca-a"))
			code, _, errOut := runAz(t, fakeClient(secretWith(t, "ca-a")), f, "", tt.verb, tt.args...)
			if code != exitcode.Error || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d; stderr:\n%s\nwant %q", code, errOut, tt.want)
			}
			wantCalls(t, f)
		})
	}
}
