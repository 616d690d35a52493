package catrust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/duration"
)

// DefaultAKSWait bounds a write to an AKS cluster when --request-timeout is
// not given: the update itself (AKS replaces every Linux node) and the
// waits for other operations to end. A node-image roll of a large cluster
// takes hours.
const DefaultAKSWait = 3 * time.Hour

// aksWriteHelp ends the help of add, remove and sync: what a write to the
// aks store does.
const aksWriteHelp = `

		With --store aks (the default on an AKS cluster) the same rules apply to
		the managed cluster's CA list, read with az aks show; a key caN.crt names
		the Nth entry. A write prints the plan and sends nothing without --yes
		(exit 1); with it, one az aks update --custom-ca-trust-certificates FILE
		--if-match ETAG, re-read and re-applied when another writer changed the
		cluster (412) and after waiting out another operation (OperationNotAllowed,
		bounded by --request-timeout, else 3h). AKS then replaces every Linux node.`

// maxPreconditionRetries bounds the re-reads after 412 Precondition Failed.
const maxPreconditionRetries = 20

// errNotConfirmed is the error of an aks write without --yes.
type errNotConfirmed struct{ store string }

func (e *errNotConfirmed) Error() string {
	return fmt.Sprintf("not sent: updating %s makes AKS replace every Linux node of the cluster; run again with --yes to send it (--dry-run=client shows the plan alone)", e.store)
}

// aksDeadline is how long a write may take: --request-timeout when given
// (0: no bound), else DefaultAKSWait.
func (w *writeOptions) aksDeadline() (time.Duration, string) {
	if w.requestTimeout != nil {
		return *w.requestTimeout, "--request-timeout"
	}
	return DefaultAKSWait, "the default wait, --request-timeout to change it"
}

// errPlanOnly, returned by a confirm function, stops a write after the
// plan: nothing is sent and apply returns the change without an error.
var errPlanOnly = errors.New("plan only")

// apply applies m to the cluster's list: read the cluster (list and eTag),
// apply m, and send the list with --if-match that eTag. confirm is called
// once, with the first change that changes something, before anything is
// sent: its error stops the write (errPlanOnly: without an error). On 412
// (another writer changed the cluster since it was read) the cluster is
// re-read and m re-applied; on OperationNotAllowed (another operation is
// running) apply waits for it to end and does the same. The 412s are
// bounded by maxPreconditionRetries, everything by ctx. progress, when
// not nil, is told of the waits.
func (a *aksStore) apply(ctx context.Context, m mutation, noWait bool, confirm func(*managedCluster, *api.CATrustChange) error, progress io.Writer) (*api.CATrustChange, error) {
	retries := &api.CATrustRetries{}
	confirmed, idleRefusals := false, 0
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		mc, err := a.show(ctx)
		if err != nil {
			return nil, err
		}
		desired, change, err := m(listAsSecret(mc.cas()))
		if err != nil {
			return nil, err
		}
		change.Store, change.Cluster, change.ETag, change.Attempts = storeAKS, &a.ref, mc.ETag, attempt
		if retries.PreconditionFailed+retries.OperationInProgress > 0 {
			change.Retries = retries
		}
		if !change.Changed() {
			change.ProvisioningState = mc.ProvisioningState
			return change, nil
		}
		file, _, err := a.listFile(desired)
		if err != nil {
			return nil, err
		}
		if mc.ETag == "" {
			// Without it, --if-match cannot guard the write against
			// another writer's.
			return nil, fmt.Errorf("az aks show %s gives no eTag, so the update cannot be made conditional on the list read: update the Azure CLI (az upgrade); nothing was sent", a.ref)
		}
		if !confirmed {
			if err := confirm(mc, change); errors.Is(err, errPlanOnly) {
				return change, nil
			} else if err != nil {
				return nil, err
			}
			confirmed = true
		}
		written, err := a.update(ctx, file, mc.ETag, noWait)
		var azErr *az.Error
		switch {
		case err == nil:
		case errors.As(err, &azErr) && azErr.Kind == az.KindPreconditionFailed:
			retries.PreconditionFailed++
			if retries.PreconditionFailed > maxPreconditionRetries {
				return nil, fmt.Errorf("gave up updating %s after %d attempts: other writers kept changing the cluster (%v)", a, attempt, err)
			}
			if err := sleepCtx(ctx, wait.Jitter(delay, 1)); err != nil {
				return nil, err
			}
			if delay *= 2; delay > 10*time.Second {
				delay = 10 * time.Second
			}
			continue
		case errors.As(err, &azErr) && azErr.Kind == az.KindOperationNotAllowed:
			retries.OperationInProgress++
			a.blocker = azErr
			if progress != nil {
				fmt.Fprintf(progress, "note: another operation is running on AKS cluster %s; waiting for it to end (%s)\n", a.ref, azErr.Message)
			}
			if err := a.waitOut(ctx, azErr, mc.ETag, &idleRefusals); err != nil {
				return nil, err
			}
			continue
		default:
			return nil, fmt.Errorf("updating %s: %w", a, err)
		}
		if noWait {
			change.NoWait, change.ProvisioningState = true, "Updating"
		} else if written != nil {
			change.ProvisioningState = written.ProvisioningState
		}
		return change, nil
	}
}

// maxIdleRefusals is how many OperationNotAllowed refusals in a row a
// write takes from a cluster on which nothing happens (no operation
// running, the eTag unchanged: a stopped cluster, say) before it gives up:
// waiting will not end them.
const maxIdleRefusals = 3

// waitOut waits for the operation that refused the update sent with etag
// to end (waitIdle). When none was running and the cluster did not change
// either, the refusal is counted in idle; past maxIdleRefusals it fails
// with az's message, and before that it pauses a little longer each time,
// so that the retries do not spin.
func (a *aksStore) waitOut(ctx context.Context, refused *az.Error, etag string, idle *int) error {
	mc, waited, err := a.waitIdle(ctx)
	switch {
	case err != nil:
		return err
	case waited || mc.ETag != etag:
		*idle = 0
		return nil
	}
	if *idle++; *idle >= maxIdleRefusals {
		return fmt.Errorf("updating %s: AKS refuses it (OperationNotAllowed) though no operation is running and the cluster does not change: %s", a, refused.Message)
	}
	return sleepCtx(ctx, wait.Jitter(time.Duration(*idle)*time.Second, 1))
}

// writeAKS applies m to the AKS cluster's list (aksStore.apply). Without
// --yes, or under --dry-run=client, the change is printed as a plan with
// what AKS will do, and nothing is sent: exit 1 without --yes, 0 under
// --dry-run=client.
func (w *writeOptions) writeAKS(ctx context.Context, m mutation, notes []string) error {
	a := w.aks
	limit, limitName := w.aksDeadline()
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	var planned *api.CATrustChange
	confirm := func(mc *managedCluster, c *api.CATrustChange) error {
		planned = c.DeepCopy()
		if w.dryRun == cmdutil.DryRunClient || !w.Yes {
			c.DryRun, c.Planned = dryRunName(w.dryRun), w.dryRun != cmdutil.DryRunClient
			if err := w.reportAKS(c, append(notes, mc.replaced()), nil); err != nil {
				return err
			}
			if w.dryRun == cmdutil.DryRunClient {
				return errPlanOnly
			}
			return &errNotConfirmed{store: a.String()}
		}
		if !w.PrintFlags.Machine() {
			wait := "waiting for it to finish (--no-wait not to)"
			if w.NoWait {
				wait = "not waiting for it (--no-wait)"
			}
			fmt.Fprintf(w.ErrOut, "note: updating %s: %s; %s\n", a, mc.replaced(), wait)
		}
		return nil
	}
	var progress io.Writer
	if !w.PrintFlags.Machine() {
		progress = w.ErrOut
	}
	change, err := a.apply(ctx, m, w.NoWait, confirm, progress)
	if err != nil {
		return w.aksContextError(ctx, err, limit, limitName)
	}
	if change.DryRun != "" {
		return nil // the plan is printed
	}
	if err := w.reportAKS(change, notes, planned); err != nil {
		return err
	}
	if change.ProvisioningState == "Failed" {
		return fmt.Errorf("AKS accepted the new list of %s but its update ended Failed: see az aks show %s", a.ref, strings.Join(a.args(), " "))
	}
	return nil
}

// aksContextError says, when the write's deadline passed or it was
// interrupted, what it was waiting for.
func (w *writeOptions) aksContextError(ctx context.Context, err error, limit time.Duration, limitName string) error {
	return aksDeadlineError(ctx, err, w.aks, limit, limitName)
}

// aksDeadlineError says, when ctx's deadline passed, what a was waiting
// for; else it returns err.
func aksDeadlineError(ctx context.Context, err error, a *aksStore, limit time.Duration, limitName string) error {
	if ctx.Err() == nil {
		return err
	}
	if blocker := a.blocker; errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if blocker != nil {
			return fmt.Errorf("gave up after %s (%s): an operation kept running on AKS cluster %s (%s); nothing was sent",
				duration.Format(limit), limitName, a.ref, blocker.Message)
		}
		return fmt.Errorf("gave up after %s (%s) updating %s: %v", duration.Format(limit), limitName, a, err)
	}
	return err
}

// reportAKS prints the change per -o and, for people, the notes and what
// the write did. planned, when not nil, is the change first computed: if
// another writer made the one applied differ, people are told.
func (w *writeOptions) reportAKS(c *api.CATrustChange, notes []string, planned *api.CATrustChange) error {
	if err := w.printer.PrintObj(c, w.Out); err != nil {
		return err
	}
	if w.PrintFlags.Machine() {
		return nil
	}
	for _, n := range notes {
		fmt.Fprintln(w.ErrOut, "note: "+n)
	}
	for _, s := range c.Skipped {
		fmt.Fprintf(w.ErrOut, "note: %s (sha256 %s) from %s: %s; skipped\n", s.Subject, api.ShortFingerprint(s.SHA256Fingerprint), s.Key, s.Reason)
	}
	if planned != nil && c.Changed() && !sameChange(planned, c) {
		fmt.Fprintln(w.ErrOut, "note: the cluster's list changed while it was being written; the change above is the one applied")
	}
	if c.Retries != nil {
		fmt.Fprintf(w.ErrOut, "note: %d update(s) refused as the cluster had changed (412) and %d as another operation was running; each re-read the list and re-applied the change\n",
			c.Retries.PreconditionFailed, c.Retries.OperationInProgress)
	}
	switch {
	case !c.Changed():
		fmt.Fprintf(w.ErrOut, "note: nothing to change; %s was not updated\n", w.aks)
	case c.DryRun != "":
		fmt.Fprintf(w.ErrOut, "note: --dry-run=%s: %s was not updated\n", c.DryRun, w.aks)
	case c.Planned:
		fmt.Fprintf(w.ErrOut, "note: this is the plan; %s was not updated\n", w.aks)
	case c.NoWait:
		fmt.Fprintf(w.ErrOut, "note: AKS accepted the new list of %s and is replacing the nodes; follow it with: az aks show %s --query provisioningState -o tsv\n",
			w.aks.ref, strings.Join(w.aks.args(), " "))
	default:
		fmt.Fprintf(w.ErrOut, "note: %s updated: provisioningState %s; new nodes carry the new list\n", w.aks, c.ProvisioningState)
	}
	return nil
}

// sleepCtx sleeps d unless ctx ends first (ctx's error then); both
// stores' retries pace themselves with it.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
