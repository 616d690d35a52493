package events

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// Options tune Record.
type Options struct {
	// QPS is the client's request rate limit (--qps): the default Timeout
	// leaves room for it.
	QPS float32
	// Timeout bounds the whole recording; 0: a minute, plus the time QPS
	// takes for three requests per Event (a get, a write, a retry).
	Timeout time.Duration
	// MaxInFlight bounds the Events handed to the broadcaster and not yet
	// written (DefaultMaxInFlight when 0): client-go's broadcaster drops
	// what does not fit its queue of 1000.
	MaxInFlight int
	// Now is the clock of series.lastObservedTime (tests); time.Now when
	// nil.
	Now func() time.Time
}

// DefaultMaxInFlight is Options.MaxInFlight's default.
const DefaultMaxInFlight = 100

// Result is what Record did: the counts for the report's summary, and the
// warnings for stderr.
type Result struct {
	api.EventsSummary
	// Warnings say, one per namespace, how many Events could not be
	// written there and why: the permission missing, another API error, or
	// no time left.
	Warnings []string
}

// Permissions is what recording Events needs, in the namespaces of the
// objects and in default for cluster-scoped ones: the Sink never patches
// (what client-go would patch it writes as a get and an update).
const Permissions = "get, create and update on events.events.k8s.io"

// item is one Event to record.
type item struct {
	regarding            *corev1.ObjectReference
	reason, note, sha256 string
	// namespace is where the Sink writes it; key is isomorphic's.
	namespace, key string
}

// isomorphic is what tells Events apart in client-go's broadcaster (its
// eventCache key, where type, action, reportingController and -Instance
// and related are the same for every Event of Record): the regarding
// object and the reason.
func isomorphic(regarding *corev1.ObjectReference, reason string) string {
	return fmt.Sprintf("%#v\x00%s", *regarding, reason)
}

// Record records a Warning Event for each certificate of certs whose
// status is WARNING or worse and that has an Object (see Regarding, Note,
// Name), through client-go's events broadcaster and recorder writing to a
// Sink, and waits until each has been written or has failed, or until the
// timeout or ctx ends. Failures are counted and warned about, never
// returned: an Event that could not be recorded does not make the check
// fail.
func Record(ctx context.Context, client kubernetes.Interface, certs []api.Certificate, o Options) Result {
	items := eventsFor(certs)
	var res Result
	if len(items) == 0 {
		return res
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
		if o.QPS > 0 {
			o.Timeout += time.Duration(float64(3*len(items)) / float64(o.QPS) * float64(time.Second))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	t := &tally{res: &res, failed: map[string]*failure{}, pending: map[string]*item{}}
	sem := make(chan struct{}, o.MaxInFlight)
	sink := &Sink{EventSinkImpl: events.EventSinkImpl{Interface: client.EventsV1()}, Now: o.Now}
	sink.Written = func(ev *eventsv1.Event, w Write) {
		if t.written(isomorphic(&ev.Regarding, ev.Reason), w) {
			<-sem
		}
	}
	broadcaster := events.NewBroadcaster(sink)
	defer broadcaster.Shutdown()
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		for i := range items {
			t.fail(&items[i], err)
		}
		return t.result()
	}
	recorder := broadcaster.NewRecorder(scheme.Scheme, ReportingController)

	sent := 0
	for ; sent < len(items); sent++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		it := &items[sent]
		t.add(it)
		if annotated, ok := recorder.(events.AnnotatedEventRecorder); ok {
			annotated.AnnotatedEventf(it.regarding, nil, map[string]string{FingerprintAnnotation: it.sha256},
				corev1.EventTypeWarning, it.reason, Action, "%s", it.note)
		} else {
			recorder.Eventf(it.regarding, nil, corev1.EventTypeWarning, it.reason, Action, "%s", it.note)
		}
	}
	for i := sent; i < len(items); i++ {
		t.fail(&items[i], timedOut(ctx, o.Timeout))
	}
	select {
	case <-t.allWritten():
	case <-ctx.Done():
		t.abandon(timedOut(ctx, o.Timeout))
	}
	return t.result()
}

func timedOut(ctx context.Context, timeout time.Duration) error {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return fmt.Errorf("not written within %v", timeout)
	}
	return context.Cause(ctx)
}

// eventsFor lists the Events to record for certs: one per certificate at
// WARNING or worse with an object, the first of any that client-go's
// recorder would take for the same Event (same regarding and reason; it
// would count them as a series within this process).
func eventsFor(certs []api.Certificate) []item {
	var items []item
	seen := map[string]bool{}
	for i := range certs {
		c := &certs[i]
		reason, ok := Reason(c.Status)
		if !ok || c.Object == nil {
			continue
		}
		ref := Regarding(c)
		key := isomorphic(ref, reason)
		if seen[key] {
			continue
		}
		seen[key] = true
		ns := ref.Namespace
		if ns == "" {
			// client-go's recorder puts Events about cluster-scoped
			// objects in default.
			ns = metav1.NamespaceDefault
		}
		fingerprint := c.SHA256Fingerprint
		if fingerprint == "" {
			// A node's certificate read with openssl's notAfter only.
			fingerprint = "notAfter=" + c.NotAfter.UTC().Format(time.RFC3339)
		}
		items = append(items, item{
			regarding: ref, reason: reason, note: Note(c), sha256: fingerprint,
			namespace: ns, key: key,
		})
	}
	return items
}

// tally counts the outcomes as the Sink reports them.
type tally struct {
	mu      sync.Mutex
	res     *Result
	failed  map[string]*failure // by namespace
	pending map[string]*item    // by key
	wg      sync.WaitGroup      // counts the pending
}

// failure is what could not be written in one namespace.
type failure struct {
	count     int
	forbidden error // the first Forbidden
	other     error // the first other error
}

func (t *tally) add(it *item) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending[it.key] = it
	t.wg.Add(1)
}

// written counts the outcome of the Event at key, when it is pending (not
// an Event the broadcaster wrote again on its own, nor one given up on),
// and reports whether it was.
func (t *tally) written(key string, w Write) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.pending[key]
	if !ok {
		return false
	}
	delete(t.pending, key)
	switch {
	case w.Err != nil:
		t.failLocked(it, w.Err)
	case w.Created:
		t.res.Created++
	default:
		t.res.Updated++
	}
	t.wg.Done()
	return true
}

func (t *tally) fail(it *item, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failLocked(it, err)
}

func (t *tally) failLocked(it *item, err error) {
	f := t.failed[it.namespace]
	if f == nil {
		f = &failure{}
		t.failed[it.namespace] = f
	}
	f.count++
	switch {
	case apierrors.IsForbidden(err) && f.forbidden == nil:
		f.forbidden = err
	case !apierrors.IsForbidden(err) && f.other == nil:
		f.other = err
	}
	t.res.Failed++
}

// abandon counts what is still pending as failed with err.
func (t *tally) abandon(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, it := range t.pending {
		delete(t.pending, key)
		t.failLocked(it, err)
		t.wg.Done()
	}
}

// allWritten is closed once every Event added has been written or has
// failed.
func (t *tally) allWritten() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	return done
}

func (t *tally) result() Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	res := *t.res
	res.Recorded = res.Created + res.Updated
	namespaces := make([]string, 0, len(t.failed))
	for ns := range t.failed {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		res.Warnings = append(res.Warnings, t.failed[ns].warning(ns))
	}
	return res
}

// warning says what could not be written in namespace ns and why.
func (f *failure) warning(ns string) string {
	what := fmt.Sprintf("--record-events: %d Event(s) not recorded in namespace %s: ", f.count, ns)
	if f.forbidden != nil {
		why := f.forbidden.Error()
		if _, after, ok := strings.Cut(why, " is forbidden: "); ok {
			why = after
		}
		what += "forbidden: " + why + " (needs " + Permissions + " there)"
		if f.other != nil {
			what += "; also: " + f.other.Error()
		}
		return what
	}
	return what + f.other.Error()
}
