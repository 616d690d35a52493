package events

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

var (
	now       = time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	eventsGR  = schema.GroupResource{Group: "events.k8s.io", Resource: "events"}
	secretObj = &api.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "apps", Name: "web", UID: "uid-web", FieldPath: "data[tls.crt]"}
	csrObj    = &api.ObjectReference{APIVersion: "certificates.k8s.io/v1", Kind: "CertificateSigningRequest", Name: "csr-1", UID: "uid-csr", FieldPath: "status.certificate"}
	nodeObj   = &api.ObjectReference{APIVersion: "v1", Kind: "Node", Name: "worker-1", UID: "uid-node"}
)

// cert is a certificate of status s, read at loc from obj, notAfter the
// residual time after now.
func cert(loc string, obj *api.ObjectReference, s api.CertificateStatus, left time.Duration) api.Certificate {
	return api.Certificate{
		Source: "secrets", Location: loc, Object: obj, Status: s,
		Subject:           "CN=" + loc,
		SHA256Fingerprint: fmt.Sprintf("%064x", len(loc)),
		NotBefore:         metav1.NewTime(now.Add(-24 * time.Hour)),
		NotAfter:          metav1.NewTime(now.Add(left)),
		ResidualSeconds:   int64(left / time.Second),
	}
}

func record(t *testing.T, client *fake.Clientset, certs []api.Certificate) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Record(ctx, client, certs, Options{Now: func() time.Time { return now }})
}

// calls lists the API calls on events, "verb namespace/name", sorted (the
// Events are written concurrently).
func calls(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		if a.GetResource().Resource != "events" {
			continue
		}
		if a.GetResource().Group != "events.k8s.io" {
			out = append(out, "wrong group "+a.GetResource().String())
		}
		name := ""
		switch a := a.(type) {
		case k8stesting.GetAction:
			name = a.GetName()
		case k8stesting.CreateAction: // and UpdateAction, of the same methods
			name = a.GetObject().(*eventsv1.Event).Name
		}
		out = append(out, a.GetVerb()+" "+a.GetNamespace()+"/"+name)
	}
	sort.Strings(out)
	return out
}

func eventName(c *api.Certificate) string {
	reason, _ := Reason(c.Status)
	return Name(Regarding(c), reason, ReportingController, c.SHA256Fingerprint)
}

func getEvent(t *testing.T, client *fake.Clientset, ns, name string) *eventsv1.Event {
	t.Helper()
	ev, err := client.EventsV1().Events(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("event %s/%s: %v", ns, name, err)
	}
	return ev
}

// TestRecordCreatesThenUpdates: a first run creates one Event per
// certificate at WARNING or worse with an object, under its deterministic
// name; a second run (a new broadcaster and recorder, as a new process
// has) gets and updates each, counting its series; nothing is created
// twice.
func TestRecordCreatesThenUpdates(t *testing.T) {
	secret := cert("secret/apps/web/tls.crt", secretObj, api.StatusCritical, 6*24*time.Hour)
	csr := cert("csr/csr-1", csrObj, api.StatusExpired, -3*24*time.Hour)
	certs := []api.Certificate{
		secret, csr,
		cert("secret/apps/ok/tls.crt", &api.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "apps", Name: "ok"}, api.StatusOK, 300*24*time.Hour),
		cert("/etc/kubernetes/pki/apiserver.crt", nil, api.StatusExpired, -time.Hour),
	}
	client := fake.NewClientset()
	secretName, csrName := eventName(&secret), eventName(&csr)

	res := record(t, client, certs)
	if want := (api.EventsSummary{Recorded: 2, Created: 2}); res.EventsSummary != want || len(res.Warnings) != 0 {
		t.Fatalf("first run: %+v, want %+v and no warnings", res, want)
	}
	want := []string{"create apps/" + secretName, "create default/" + csrName, "get apps/" + secretName, "get default/" + csrName}
	if got := calls(client); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("first run calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ev := getEvent(t, client, "apps", secretName)
	wantRef := corev1.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "apps", Name: "web", UID: "uid-web", FieldPath: "data[tls.crt]"}
	if ev.Regarding != wantRef || ev.Type != corev1.EventTypeWarning || ev.Reason != ReasonExpiring || ev.Action != Action ||
		ev.ReportingController != ReportingController || ev.ReportingInstance != ReportingInstance || ev.Series != nil ||
		ev.Annotations[FingerprintAnnotation] != secret.SHA256Fingerprint || ev.EventTime.IsZero() {
		t.Errorf("secret's event = %+v", ev)
	}
	if wantNote := "secret/apps/web/tls.crt: CN=secret/apps/web/tls.crt expires 2026-12-10T00:00:00Z (in 6d)"; ev.Note != wantNote {
		t.Errorf("note = %q, want %q", ev.Note, wantNote)
	}
	ev = getEvent(t, client, "default", csrName)
	if ev.Reason != ReasonExpired || ev.Regarding.Kind != "CertificateSigningRequest" || ev.Regarding.Namespace != "" || !strings.HasPrefix(ev.Name, "csr-1.") {
		t.Errorf("csr's event = %+v", ev)
	}
	if wantNote := "csr/csr-1: CN=csr/csr-1 expired 2026-12-01T00:00:00Z (3d ago)"; ev.Note != wantNote {
		t.Errorf("note = %q, want %q", ev.Note, wantNote)
	}

	for run, count := range []int32{2, 3} {
		client.ClearActions()
		res = record(t, client, certs)
		if want := (api.EventsSummary{Recorded: 2, Updated: 2}); res.EventsSummary != want || len(res.Warnings) != 0 {
			t.Fatalf("run %d: %+v, want %+v", run+2, res, want)
		}
		want = []string{"get apps/" + secretName, "get default/" + csrName, "update apps/" + secretName, "update default/" + csrName}
		if got := calls(client); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("run %d calls:\n%s\nwant:\n%s", run+2, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, ev := range []*eventsv1.Event{getEvent(t, client, "apps", secretName), getEvent(t, client, "default", csrName)} {
			if ev.Series == nil || ev.Series.Count != count || !ev.Series.LastObservedTime.Time.Equal(now) {
				t.Errorf("run %d: %s series = %+v, want count %d at %v", run+2, ev.Name, ev.Series, count, now)
			}
		}
	}
	list, err := client.EventsV1().Events("").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Errorf("%d events (%v), want 2", len(list.Items), err)
	}
}

// TestRecordNothing: certificates that are OK, or that no object holds,
// make no API call.
func TestRecordNothing(t *testing.T) {
	client := fake.NewClientset()
	res := record(t, client, []api.Certificate{
		cert("secret/apps/web/tls.crt", secretObj, api.StatusOK, 300*24*time.Hour),
		cert("/etc/kubernetes/pki/ca.crt", nil, api.StatusCritical, time.Hour),
		cert("endpoint 10.0.0.1:443 [0]", nil, api.StatusNotYetValid, time.Hour),
	})
	if res.EventsSummary != (api.EventsSummary{}) || len(res.Warnings) != 0 || len(client.Actions()) != 0 {
		t.Errorf("result %+v, calls %v; want none", res, calls(client))
	}
}

// TestRecordBundle: the certificates of one bundle in one Secret key are
// two Events, told apart by their fieldPath.
func TestRecordBundle(t *testing.T) {
	obj := &api.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "apps", Name: "trust", UID: "uid-trust", FieldPath: "data[ca.crt]"}
	first := cert("secret/apps/trust/ca.crt [0]", obj, api.StatusWarning, 20*24*time.Hour)
	second := cert("secret/apps/trust/ca.crt [1]", obj, api.StatusWarning, 21*24*time.Hour)
	second.SHA256Fingerprint = strings.Repeat("b", 64)
	client := fake.NewClientset()
	res := record(t, client, []api.Certificate{first, second})
	if res.Created != 2 || res.Failed != 0 {
		t.Fatalf("result %+v, want 2 created", res)
	}
	for c, fieldPath := range map[*api.Certificate]string{&first: "data[ca.crt][0]", &second: "data[ca.crt][1]"} {
		if ev := getEvent(t, client, "apps", eventName(c)); ev.Regarding.FieldPath != fieldPath {
			t.Errorf("%s: fieldPath %q, want %q", c.Location, ev.Regarding.FieldPath, fieldPath)
		}
	}
}

// TestRecordRetriesConflict: an update that meets a newer resourceVersion
// (another run counted the series meanwhile) gets the Event again and
// updates that.
func TestRecordRetriesConflict(t *testing.T) {
	c := cert("secret/apps/web/tls.crt", secretObj, api.StatusWarning, 20*24*time.Hour)
	client := fake.NewClientset()
	record(t, client, []api.Certificate{c})
	var conflicts atomic.Int32
	client.PrependReactor("update", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts.Add(1) == 1 {
			return true, nil, apierrors.NewConflict(eventsGR, eventName(&c), errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	client.ClearActions()
	res := record(t, client, []api.Certificate{c})
	if res.Updated != 1 || res.Failed != 0 {
		t.Errorf("result %+v, want 1 updated", res)
	}
	name := "apps/" + eventName(&c)
	if got, want := calls(client), []string{"get " + name, "get " + name, "update " + name, "update " + name}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("calls %v, want %v", got, want)
	}
	if ev := getEvent(t, client, "apps", eventName(&c)); ev.Series == nil || ev.Series.Count != 2 {
		t.Errorf("series %+v, want count 2", ev.Series)
	}
}

// TestRecordCreateRace: a create that finds the Event created meanwhile by
// another run (AlreadyExists) gets and updates it.
func TestRecordCreateRace(t *testing.T) {
	c := cert("secret/apps/web/tls.crt", secretObj, api.StatusWarning, 20*24*time.Hour)
	client := fake.NewClientset()
	record(t, client, []api.Certificate{c})
	var gets atomic.Int32
	client.PrependReactor("get", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if gets.Add(1) == 1 { // the other run has not created it yet
			return true, nil, apierrors.NewNotFound(eventsGR, a.(k8stesting.GetAction).GetName())
		}
		return false, nil, nil
	})
	client.ClearActions()
	res := record(t, client, []api.Certificate{c})
	if res.Updated != 1 || res.Created != 0 || res.Failed != 0 {
		t.Errorf("result %+v, want 1 updated", res)
	}
	name := "apps/" + eventName(&c)
	if got, want := calls(client), []string{"create " + name, "get " + name, "get " + name, "update " + name}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("calls %v, want %v", got, want)
	}
}

// TestRecordFailures: a namespace where Events may not be read or written
// gets one warning naming it and the permission; another error is a
// warning too; the other namespaces' Events are recorded.
func TestRecordFailures(t *testing.T) {
	web := cert("secret/apps/web/tls.crt", secretObj, api.StatusWarning, 20*24*time.Hour)
	api2 := cert("secret/apps/api/tls.crt", &api.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "apps", Name: "api", FieldPath: "data[tls.crt]"}, api.StatusExpired, -time.Hour)
	broken := cert("secret/broken/x/tls.crt", &api.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "broken", Name: "x", FieldPath: "data[tls.crt]"}, api.StatusWarning, time.Hour)
	csr := cert("csr/csr-1", csrObj, api.StatusExpired, -time.Hour)
	for _, tt := range []struct {
		name, verb string
	}{
		{"get forbidden", "get"},
		{"create forbidden", "create"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			client.PrependReactor(tt.verb, "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
				switch a.GetNamespace() {
				case "apps":
					return true, nil, apierrors.NewForbidden(eventsGR, "x", fmt.Errorf(`User "limited" cannot %s resource "events" in API group "events.k8s.io" in the namespace "apps"`, tt.verb))
				case "broken":
					return true, nil, apierrors.NewInternalError(errors.New("etcd is on fire"))
				}
				return false, nil, nil
			})
			res := record(t, client, []api.Certificate{web, api2, broken, csr})
			if want := (api.EventsSummary{Recorded: 1, Created: 1, Failed: 3}); res.EventsSummary != want {
				t.Errorf("result %+v, want %+v", res.EventsSummary, want)
			}
			if len(res.Warnings) != 2 {
				t.Fatalf("warnings %q, want one for apps and one for broken", res.Warnings)
			}
			want := `--record-events: 2 Event(s) not recorded in namespace apps: forbidden: User "limited" cannot ` + tt.verb +
				` resource "events" in API group "events.k8s.io" in the namespace "apps" (needs ` + Permissions + ` there)`
			if res.Warnings[0] != want {
				t.Errorf("warning\n%s\nwant\n%s", res.Warnings[0], want)
			}
			if !strings.HasPrefix(res.Warnings[1], "--record-events: 1 Event(s) not recorded in namespace broken: ") || !strings.Contains(res.Warnings[1], "etcd is on fire") {
				t.Errorf("warning %q", res.Warnings[1])
			}
			getEvent(t, client, "default", eventName(&csr))
		})
	}
}

// TestRecordNoneDropped: more Events than client-go's broadcaster queues
// (1000) are all written, however few may be in flight at once.
func TestRecordNoneDropped(t *testing.T) {
	const n = 1200
	certs := make([]api.Certificate, 0, n)
	for i := 0; i < n; i++ {
		obj := &api.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "apps", Name: fmt.Sprintf("s%04d", i), FieldPath: "data[tls.crt]"}
		certs = append(certs, cert("secret/apps/"+obj.Name+"/tls.crt", obj, api.StatusWarning, 20*24*time.Hour))
	}
	for _, inFlight := range []int{0, 3} {
		client := fake.NewClientset()
		// Creates are only counted: the fake's tracker takes ms for each.
		var created atomic.Int32
		client.PrependReactor("create", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
			created.Add(1)
			return true, a.(k8stesting.CreateAction).GetObject(), nil
		})
		res := Record(context.Background(), client, certs, Options{MaxInFlight: inFlight, Timeout: time.Minute})
		if res.Created != n || res.Failed != 0 || created.Load() != n {
			t.Errorf("at most %d in flight: %+v, %d creates; want %d created", inFlight, res.EventsSummary, created.Load(), n)
		}
	}
}

// TestRecordTimeout: what is not written in time is counted as failed,
// with a warning, and Record returns.
func TestRecordTimeout(t *testing.T) {
	client := fake.NewClientset()
	release := make(chan struct{})
	defer close(release)
	client.PrependReactor("get", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		<-release
		return false, nil, nil
	})
	began := time.Now()
	res := Record(context.Background(), client, []api.Certificate{cert("secret/apps/web/tls.crt", secretObj, api.StatusWarning, time.Hour)},
		Options{Timeout: 200 * time.Millisecond})
	if time.Since(began) > 10*time.Second {
		t.Errorf("Record took %v", time.Since(began))
	}
	if res.Failed != 1 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "namespace apps: not written within 200ms") {
		t.Errorf("result %+v", res)
	}
}

func TestRegarding(t *testing.T) {
	for _, tt := range []struct {
		loc       string
		obj       *api.ObjectReference
		fieldPath string
	}{
		{"secret/apps/web/tls.crt", secretObj, "data[tls.crt]"},
		{"secret/apps/web/tls.crt [0]", secretObj, "data[tls.crt][0]"},
		{"secret/apps/web/tls.crt [12]", secretObj, "data[tls.crt][12]"},
		{"csr/csr-1", csrObj, "status.certificate"},
		{"node/worker-1:/etc/kubernetes/pki/apiserver.crt", nodeObj, "/etc/kubernetes/pki/apiserver.crt"},
		{"node/worker-1:/etc/kubernetes/pki/ca.crt [1]", nodeObj, "/etc/kubernetes/pki/ca.crt[1]"},
		{"node/worker-1 [1]", nodeObj, "[1]"},
		{"node/worker-1/kubelet", nodeObj, "kubelet"},
		{"node/worker-1/kubelet [1]", nodeObj, "kubelet[1]"},
	} {
		c := cert(tt.loc, tt.obj, api.StatusWarning, time.Hour)
		ref := Regarding(&c)
		if ref.FieldPath != tt.fieldPath || ref.Name != tt.obj.Name || ref.Kind != tt.obj.Kind || ref.UID != tt.obj.UID || ref.Namespace != tt.obj.Namespace {
			t.Errorf("%s: %+v, want fieldPath %q", tt.loc, ref, tt.fieldPath)
		}
	}
	if c := cert("/a.pem", nil, api.StatusWarning, time.Hour); Regarding(&c) != nil {
		t.Error("a certificate without an object regards something")
	}
}

func TestNote(t *testing.T) {
	for _, tt := range []struct {
		status api.CertificateStatus
		left   time.Duration
		want   string
	}{
		{api.StatusWarning, 20 * 24 * time.Hour, "secret/apps/web/tls.crt: CN=web expires 2026-12-24T00:00:00Z (in 20d)"},
		{api.StatusCritical, 5 * time.Hour, "secret/apps/web/tls.crt: CN=web expires 2026-12-04T05:00:00Z (in 5h)"},
		{api.StatusExpired, -3 * 24 * time.Hour, "secret/apps/web/tls.crt: CN=web expired 2026-12-01T00:00:00Z (3d ago)"},
		{api.StatusNotYetValid, 400 * 24 * time.Hour, "secret/apps/web/tls.crt: CN=web is not valid before 2026-12-03T00:00:00Z; expires 2028-01-08T00:00:00Z (in 1y)"},
	} {
		c := cert("secret/apps/web/tls.crt", secretObj, tt.status, tt.left)
		c.Subject = "CN=web"
		if got := Note(&c); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.status, got, tt.want)
		}
	}
	c := cert("secret/apps/web/tls.crt", secretObj, api.StatusWarning, time.Hour)
	c.Subject = "CN=" + strings.Repeat("é", 1000)
	if got := Note(&c); len(got) > NoteMax || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "secret/apps/web/tls.crt: CN=éé") {
		t.Errorf("a long note: %d bytes, %q…", len(got), got[:40])
	}
}

func TestName(t *testing.T) {
	ref := &corev1.ObjectReference{Kind: "Secret", Namespace: "apps", Name: "web", UID: "u1", FieldPath: "data[tls.crt]"}
	base := Name(ref, ReasonExpiring, ReportingController, "aa")
	if !strings.HasPrefix(base, "web.") || len(base) != len("web.")+hashLen || base != Name(ref.DeepCopy(), ReasonExpiring, ReportingController, "aa") {
		t.Errorf("name %q: want web.<%d hex digits>, the same each time", base, hashLen)
	}
	for what, name := range map[string]string{
		"uid":         Name(&corev1.ObjectReference{Kind: "Secret", Namespace: "apps", Name: "web", UID: "u2", FieldPath: "data[tls.crt]"}, ReasonExpiring, ReportingController, "aa"),
		"fieldPath":   Name(&corev1.ObjectReference{Kind: "Secret", Namespace: "apps", Name: "web", UID: "u1", FieldPath: "data[ca.crt]"}, ReasonExpiring, ReportingController, "aa"),
		"kind":        Name(&corev1.ObjectReference{Kind: "ConfigMap", Namespace: "apps", Name: "web", UID: "u1", FieldPath: "data[tls.crt]"}, ReasonExpiring, ReportingController, "aa"),
		"reason":      Name(ref, ReasonExpired, ReportingController, "aa"),
		"controller":  Name(ref, ReasonExpiring, "someone/else", "aa"),
		"certificate": Name(ref, ReasonExpiring, ReportingController, "bb"),
	} {
		if name == base {
			t.Errorf("a different %s gives the same name", what)
		}
	}
	for _, name := range []string{
		"example.com:signer:bundle-1", // a ClusterTrustBundle's
		strings.Repeat("a", 253),
		strings.Repeat("a.", 126) + "b",
		"UPPER_case",
		":::",
	} {
		got := Name(&corev1.ObjectReference{Kind: "ClusterTrustBundle", Name: name}, ReasonExpiring, ReportingController, "aa")
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("%q gives %q: %v", name, got, errs)
		}
	}
}
