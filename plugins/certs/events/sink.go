package events

import (
	"context"
	"fmt"
	"sync"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
)

// Sink is the events.EventSink the broadcaster writes through. Whatever
// the broadcaster asks (Create, Update, or Patch for a series it counted
// in this process), the Sink writes the Event under its deterministic name
// (Name): it gets the Event of that name and, when there is one, updates
// its series (series.count + 1, 2 for the first repeat, and
// series.lastObservedTime), else creates it. The update is a PUT with the
// resourceVersion read, retried on a conflict; a create that finds the
// Event created meanwhile (AlreadyExists) gets and updates it.
//
// events.k8s.io/v1 lets an update change the series and the metadata
// only: note, eventTime, regarding, related, reason, type, action,
// reportingController, reportingInstance and the deprecated* fields are
// immutable (kube-apiserver's ValidateEventUpdate: "field is immutable").
// An update therefore keeps the first run's note (its "in 6d" is the time
// left when the Event was created, its notAfter stays true because the
// name changes with the certificate) and counts the series only.
//
// The Sink reports each write's outcome to Written and returns no error to
// the broadcaster: client-go would otherwise retry it for minutes (12
// tries 10 s apart) and log it with klog on stderr, neither of which suits
// a command that reports failures itself, as warnings.
type Sink struct {
	events.EventSinkImpl
	// Now is the clock of series.lastObservedTime; time.Now when nil.
	Now func() time.Time
	// Written, when set, is called once for each Event the Sink is given,
	// when its write has ended, with the Event (namespace and name as
	// written) and the outcome.
	Written func(ev *eventsv1.Event, w Write)

	mu sync.Mutex
	// noGet holds the namespaces where getting Events is forbidden, with
	// the error: every write starts with a get, so the next ones there are
	// not tried.
	noGet map[string]error
}

// Write is the outcome of one Event's write.
type Write struct {
	// Created is true for a new Event, false for an update of one an
	// earlier run recorded (when Err is nil).
	Created bool
	// Err is why the Event could not be written; Verb the request that
	// failed (get, create, update).
	Err  error
	Verb string
}

var _ events.EventSink = (*Sink)(nil)

// Create records ev (see Sink).
func (s *Sink) Create(ctx context.Context, ev *eventsv1.Event) (*eventsv1.Event, error) {
	return s.record(ctx, ev), nil
}

// Update records ev (see Sink).
func (s *Sink) Update(ctx context.Context, ev *eventsv1.Event) (*eventsv1.Event, error) {
	return s.record(ctx, ev), nil
}

// Patch records ev (see Sink); the broadcaster's patch of its series is
// not used: the series counted is the stored Event's.
func (s *Sink) Patch(ctx context.Context, ev *eventsv1.Event, _ []byte) (*eventsv1.Event, error) {
	return s.record(ctx, ev), nil
}

func (s *Sink) record(ctx context.Context, in *eventsv1.Event) *eventsv1.Event {
	ev := in.DeepCopy()
	ev.Name = Name(&ev.Regarding, ev.Reason, ev.ReportingController, ev.Annotations[FingerprintAnnotation])
	ev.ReportingInstance = ReportingInstance
	ev.ResourceVersion = ""
	ev.Series = nil
	out, w := s.write(ctx, ev)
	if s.Written != nil {
		s.Written(ev, w)
	}
	return out
}

func (s *Sink) write(ctx context.Context, ev *eventsv1.Event) (*eventsv1.Event, Write) {
	if err := s.getForbidden(ev.Namespace); err != nil {
		return nil, Write{Err: err, Verb: "get"}
	}
	client := s.Interface.Events(ev.Namespace)
	var (
		out *eventsv1.Event
		w   Write
	)
	retriable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, retriable, func() error {
		old, err := client.Get(ctx, ev.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			w = Write{Created: true, Verb: "create"}
			out, err = s.EventSinkImpl.Create(ctx, ev)
			return err
		case err != nil:
			w = Write{Verb: "get"}
			return err
		}
		w = Write{Verb: "update"}
		if old.Reason != ev.Reason || old.ReportingController != ev.ReportingController || old.Regarding != ev.Regarding {
			return fmt.Errorf("an Event named %s that is not this certificate's (reason %s, reportingController %s, regarding %s %s) is in the way",
				ev.Name, old.Reason, old.ReportingController, old.Regarding.Kind, old.Regarding.Name)
		}
		old.Series = nextSeries(old.Series, s.now())
		out, err = s.EventSinkImpl.Update(ctx, old)
		return err
	})
	if err != nil {
		if w.Verb == "get" && apierrors.IsForbidden(err) {
			s.forbidGet(ev.Namespace, err)
		}
		return nil, Write{Err: err, Verb: w.Verb}
	}
	return out, Write{Created: w.Created}
}

// nextSeries counts one more observation: an Event seen twice has a
// series of 2 (events.k8s.io/v1 refuses a count below 2).
func nextSeries(s *eventsv1.EventSeries, now time.Time) *eventsv1.EventSeries {
	count := int32(2)
	if s != nil {
		count = s.Count + 1
	}
	return &eventsv1.EventSeries{Count: count, LastObservedTime: metav1.NewMicroTime(now)}
}

func (s *Sink) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sink) getForbidden(ns string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noGet[ns]
}

func (s *Sink) forbidGet(ns string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noGet == nil {
		s.noGet = map[string]error{}
	}
	s.noGet[ns] = err
}
