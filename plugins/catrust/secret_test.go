package catrust

import (
	"context"
	"errors"
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
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
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
