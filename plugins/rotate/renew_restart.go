package rotate

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubecerts/kubecerts/shared/duration"
)

// renewSleepFunc waits d, or until ctx ends (its error then).
type renewSleepFunc func(ctx context.Context, d time.Duration) error

func renewSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// renewHoldDir is where --restart-static-pods keeps the manifests while
// their pods are stopped: beside the manifests directory, so on the same
// file system (a rename is atomic) and out of kubelet's sight.
func renewHoldDir(manifestsDir string) string {
	return filepath.Clean(manifestsDir) + ".kubecerts-restart"
}

// heldManifests lists the manifests left in the holding directory.
func (r *renewal) heldManifests() []string {
	entries, err := os.ReadDir(renewHoldDir(r.o.ManifestsDir))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names
}

// checkLeftManifests deals with the manifests an interrupted
// --restart-static-pods (killed, not signalled) left in the holding
// directory: --restart-static-pods puts them back first; otherwise a note
// says where they are.
func (r *renewal) checkLeftManifests() {
	held := r.heldManifests()
	if len(held) == 0 {
		return
	}
	hold := renewHoldDir(r.o.ManifestsDir)
	if !r.o.RestartStaticPods || r.o.DryRun {
		r.note("%s holds %s, moved out of %s by an interrupted --restart-static-pods: their static pods are stopped until they are moved back (--restart-static-pods does that first)",
			hold, strings.Join(held, ", "), r.o.ManifestsDir)
		return
	}
	for _, name := range held {
		src, dst := filepath.Join(hold, name), filepath.Join(r.o.ManifestsDir, name)
		if _, err := os.Lstat(dst); err == nil {
			r.note("%s was left in %s by an interrupted restart, but %s exists: left as they are", name, hold, dst)
			continue
		}
		if err := os.Rename(src, dst); err != nil {
			r.note("could not put back %s, left by an interrupted restart: %v", src, err)
			continue
		}
		r.note("put back %s, left out by an interrupted restart", dst)
	}
	renewSyncDir(r.o.ManifestsDir)
	_ = os.Remove(hold) // only when empty
}

// restartStaticPods restarts the static pods of the result through
// kubelet: each manifest is renamed into the holding directory, and after
// --restart-wait (kubelet notices within its fileCheckFrequency, 20s by
// default) renamed back. A signal or a cancelled context during the wait
// puts them back at once. A rename never loses a manifest: it is in one
// place or the other.
func (r *renewal) restartStaticPods(ctx context.Context) error {
	if ctx.Err() != nil {
		for i := range r.res.StaticPods {
			r.res.StaticPods[i].Reason = "interrupted before the restart"
		}
		return fmt.Errorf("interrupted: the static pods were not restarted")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	hold := renewHoldDir(r.o.ManifestsDir)
	if err := os.MkdirAll(hold, 0o700); err != nil {
		return fmt.Errorf("restarting the static pods: %w", err)
	}
	type move struct {
		pod      int
		src, dst string
	}
	var moved []move
	putBack := func() []string {
		var failed []string
		for _, m := range moved {
			p := &r.res.StaticPods[m.pod]
			if _, err := os.Lstat(m.src); err == nil {
				p.Reason = fmt.Sprintf("%s reappeared while the pod was stopped: the manifest moved out is left in %s", m.src, m.dst)
				failed = append(failed, p.Reason)
				continue
			}
			renewFaultBefore("move-back", m.src, nil)
			if err := os.Rename(m.dst, m.src); err != nil {
				p.Reason = fmt.Sprintf("putting the manifest back: %v", err)
				failed = append(failed, p.Reason)
				continue
			}
			renewFaultAfter("move-back", m.src)
			p.Restarted = true
		}
		moved = nil
		renewSyncDir(r.o.ManifestsDir)
		_ = os.Remove(hold)
		return failed
	}
	defer func() {
		// A panic still puts the manifests back.
		if len(moved) > 0 {
			putBack()
		}
	}()
	for i := range r.res.StaticPods {
		p := &r.res.StaticPods[i]
		src, dst := p.Manifest, filepath.Join(hold, filepath.Base(p.Manifest))
		if _, err := os.Lstat(src); err != nil {
			p.Reason = fmt.Sprintf("no manifest: %v", err)
			if renewNotExist(err) {
				p.Reason = fmt.Sprintf("%s does not exist", src)
			}
			continue
		}
		if _, err := os.Lstat(dst); err == nil {
			p.Reason = fmt.Sprintf("%s exists already: left as it is", dst)
			continue
		}
		renewFaultBefore("move-out", src, nil)
		if err := os.Rename(src, dst); err != nil {
			p.Reason = fmt.Sprintf("moving the manifest out: %v", err)
			continue
		}
		renewFaultAfter("move-out", src)
		moved = append(moved, move{pod: i, src: src, dst: dst})
	}
	renewSyncDir(r.o.ManifestsDir)
	renewSyncDir(hold)
	var waitErr error
	if len(moved) > 0 {
		waitErr = r.o.sleep(ctx, r.o.RestartWait)
	}
	var interrupted []string
	if waitErr != nil {
		for _, m := range moved {
			interrupted = append(interrupted, r.res.StaticPods[m.pod].Name)
		}
	}
	failed := putBack()
	if waitErr != nil {
		for i := range r.res.StaticPods {
			p := &r.res.StaticPods[i]
			if p.Restarted {
				p.Restarted = false
				p.Reason = fmt.Sprintf("interrupted before the end of the %s wait: the manifest was put back, and kubelet may not have noticed it was gone",
					duration.Format(r.o.RestartWait))
			}
		}
	}
	switch {
	case len(failed) > 0:
		return fmt.Errorf("restarting the static pods: %s", strings.Join(failed, "; "))
	case waitErr != nil:
		return fmt.Errorf("interrupted while %s were stopped: their manifests are back in %s", strings.Join(interrupted, ", "), r.o.ManifestsDir)
	}
	return nil
}

func renewSyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
