// Package az runs the Azure CLI: each call with a timeout of its own, its
// arguments checked first (package azname: none may make az read a local
// file), and its failure read from az's stderr into an *Error that says in
// one line what went wrong (not logged in, no permission, not found, …) and
// whose Kind tells the failures apart.
//
// az is a shell script that starts Python: it runs in a process group of its
// own (on Unix), and a timeout or a cancelled context kills the whole group.
// It runs without colours, warnings or telemetry (AZURE_CORE_NO_COLOR,
// AZURE_CORE_ONLY_SHOW_ERRORS, AZURE_CORE_COLLECT_TELEMETRY). What is read
// of its output is bounded: 16 MiB of stdout, 1 MiB of stderr.
package az

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kubecerts/kubecerts/shared/azname"
)

// DefaultPath is the Azure CLI looked up on PATH when Runner.Path is empty.
const DefaultPath = "az"

const (
	// maxStdout bounds what is read of az's answer.
	maxStdout = 16 << 20
	// maxStderr bounds what is read of az's complaints.
	maxStderr = 1 << 20
	// waitDelay is how long Run waits for az's output once az is killed
	// or has exited.
	waitDelay = 5 * time.Second
	// maxQuote bounds the part of a non-JSON answer quoted in an error.
	maxQuote = 200
)

// env is added to az's environment: no colours, no "WARNING: …" lines on
// stderr, no telemetry.
var env = []string{"AZURE_CORE_NO_COLOR=true", "AZURE_CORE_ONLY_SHOW_ERRORS=true", "AZURE_CORE_COLLECT_TELEMETRY=false"}

// Runner runs az. Its zero value runs "az" from PATH without a timeout of
// its own. Run and JSON do not change the Runner, so one may serve several
// goroutines at once (Resolve, which sets Path, before them).
type Runner struct {
	// Path is the Azure CLI: a path, or a name looked up on PATH; "" means
	// "az" (DefaultPath).
	Path string
	// Timeout bounds each call; 0 means no timeout of its own (the
	// context's).
	Timeout time.Duration
	// TimeoutHint names the flag that sets Timeout, for the timeout error
	// ("--node-timeout", "--request-timeout"); may be "".
	TimeoutHint string
}

// path is the CLI to run.
func (r *Runner) path() string {
	if r.Path == "" {
		return DefaultPath
	}
	return r.Path
}

// Resolve looks the CLI up (exec.LookPath) and stores the resolved path in
// Path. Its error says that the Azure CLI is needed and how to get it or
// name it (--az-path), and wraps exec.LookPath's.
func (r *Runner) Resolve() error {
	p := r.path()
	resolved, err := exec.LookPath(p)
	if err != nil {
		return fmt.Errorf("the Azure CLI is needed and %q is not found: install it (https://aka.ms/azure-cli) or give --az-path (%w)", p, err)
	}
	r.Path = resolved
	return nil
}

// Run runs az with args and returns what it printed on stdout. The
// arguments are checked first (azname.Args): an argument az would read as
// a file ("@…", "x=@…") is refused before anything runs.
//
// When az ran and failed, or gave no answer within Timeout, the error is an
// *Error. When ctx was cancelled or its deadline passed, it is ctx's error.
// Otherwise (an argument refused, az not found or not executable, more than
// 16 MiB on stdout) it is a plain error naming the command.
func (r *Runner) Run(ctx context.Context, args ...string) ([]byte, error) {
	return r.run(ctx, nil, args)
}

// JSON runs az with args, as Run does, and decodes its stdout (JSON) into
// v. az is asked for JSON (AZURE_CORE_OUTPUT=json, which an "-o" in args
// overrides), whatever its configuration's default. An answer that is not
// JSON is an error naming the command ("az aks show") and quoting at most
// 200 bytes of it.
func (r *Runner) JSON(ctx context.Context, v any, args ...string) error {
	out, err := r.run(ctx, []string{"AZURE_CORE_OUTPUT=json"}, args)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		name := command(args)
		switch {
		case len(bytes.TrimSpace(out)) == 0:
			return fmt.Errorf("%s: az printed nothing, not JSON", name)
		case json.Valid(out):
			return fmt.Errorf("%s: az's answer is not the JSON expected: %v", name, err)
		}
		return fmt.Errorf("%s: az's answer is not JSON (%v): %s", name, err, quote(out, maxQuote))
	}
	return nil
}

func (r *Runner) run(ctx context.Context, extraEnv, args []string) ([]byte, error) {
	name := command(args)
	if err := azname.Args(args); err != nil {
		return nil, fmt.Errorf("not running %s: %w", name, err)
	}
	runCtx := ctx
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, r.path(), args...)
	cmd.Env = append(append(os.Environ(), env...), extraEnv...)
	stdout, stderr := &limitedBuffer{max: maxStdout}, &limitedBuffer{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	setProcessGroup(cmd)
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ee *exec.ExitError
		switch {
		case runCtx.Err() != nil:
			e := parse(name, stderr.Bytes())
			e.Kind, e.ExitCode, e.Timeout, e.TimeoutHint = KindTimeout, -1, r.Timeout, r.TimeoutHint
			return nil, e
		case errors.As(err, &ee):
			e := parse(name, stderr.Bytes())
			e.ExitCode = ee.ExitCode()
			return nil, e
		}
		return nil, fmt.Errorf("running %s: %w", name, err)
	}
	if stdout.cut {
		return nil, fmt.Errorf("%s: az printed more than %d MiB; its answer is not read", name, maxStdout>>20)
	}
	return stdout.Bytes(), nil
}

// command names the az command args run, without its values: "az" and the
// leading arguments that are words (lower-case ASCII letters, digits and
// '-', not starting with '-'), e.g. "az aks update" for
// ["aks", "update", "-g", "rg", "-n", "aks"].
func command(args []string) string {
	words := []string{"az"}
	for _, a := range args {
		if !isWord(a) {
			break
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

func isWord(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// limitedBuffer keeps the first max bytes written and drops the rest,
// noting that it did (cut): az is never blocked on a full pipe. It does not
// embed bytes.Buffer: io.Copy would use its ReadFrom, which has no limit.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
	cut bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max - b.buf.Len(); n > room {
		b.cut = true
		p = p[:max(room, 0)]
	}
	b.buf.Write(p)
	return n, nil
}

// Bytes is what was kept.
func (b *limitedBuffer) Bytes() []byte { return b.buf.Bytes() }

// quote quotes the first n bytes of b (cut on a rune boundary), with "…"
// after when b is longer.
func quote(b []byte, n int) string {
	s := string(b)
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q…", clip(s, n))
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
