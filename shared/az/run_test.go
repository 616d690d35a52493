//go:build unix

package az

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeAz writes a shell script standing in for az, body after a line
// setting d to its directory, and returns its path and directory.
func fakeAz(t *testing.T, body string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "az")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nd=$(dirname \"$0\")\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func TestRun(t *testing.T) {
	path, _ := fakeAz(t, `for a in "$@"; do printf '[%s]' "$a"; done
printf '\n%s %s %s %s\n' "$AZURE_CORE_NO_COLOR" "$AZURE_CORE_ONLY_SHOW_ERRORS" "$AZURE_CORE_COLLECT_TELEMETRY" "${AZURE_CORE_OUTPUT-unset}"
echo "WARNING: ignored" >&2
`)
	t.Setenv("AZURE_CORE_NO_COLOR", "false") // the runner's own settings win
	r := &Runner{Path: path, Timeout: time.Minute}
	out, err := r.Run(t.Context(), "aks", "show", "-g", "rg", "-n", "my cluster", "--query", "x=y")
	if err != nil {
		t.Fatal(err)
	}
	if want := "[aks][show][-g][rg][-n][my cluster][--query][x=y]\ntrue true false unset\n"; string(out) != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
}

func TestRunFailure(t *testing.T) {
	path, _ := fakeAz(t, `cat >&2 <<'EOF'
WARNING: The behavior of this command has been altered by the following extension: aks-preview
ERROR: (OperationNotAllowed) Operation is not allowed because there's an in progress update managed cluster operation (operation ID: e375d315-3a1e-4a4a-9a43-62f0a7a4c6f1) on the managed cluster started on UTC 2026-05-22T07:19:23Z. Please wait for it to finish before starting a new operation.
Code: OperationNotAllowed
Message: Operation is not allowed because there's an in progress update managed cluster operation (operation ID: e375d315-3a1e-4a4a-9a43-62f0a7a4c6f1) on the managed cluster started on UTC 2026-05-22T07:19:23Z. Please wait for it to finish before starting a new operation.
EOF
echo '{"partial": true}'
exit 3
`)
	r := &Runner{Path: path}
	out, err := r.Run(t.Context(), "aks", "update", "-g", "rg", "-n", "aks", "--if-match", "etag")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T %v, want an *Error", err, err)
	}
	if out != nil {
		t.Errorf("stdout %q with the error", out)
	}
	if e.Command != "az aks update" || e.Kind != KindOperationNotAllowed || e.Code != "OperationNotAllowed" || e.ExitCode != 3 ||
		!strings.HasPrefix(e.Message, "Operation is not allowed because there's an in progress update") || !IsKind(err, KindOperationNotAllowed) {
		t.Errorf("%+v", e)
	}
	if got := err.Error(); !strings.HasPrefix(got, "az aks update failed (exit status 3): (OperationNotAllowed) Operation is not allowed") ||
		strings.Contains(got, "\n") || strings.Contains(got, "partial") || strings.Contains(got, "WARNING") {
		t.Errorf("error %q", got)
	}
}

// TestRunTimeout: at its timeout, az and the processes it started are
// killed: Run does not wait WaitDelay (5s) for a child holding stdout.
func TestRunTimeout(t *testing.T) {
	path, dir := fakeAz(t, `sleep 30 &
echo $! > "$d/child"
echo "ERROR: never printed" >&2
wait
`)
	r := &Runner{Path: path, Timeout: 300 * time.Millisecond, TimeoutHint: "--node-timeout"}
	start := time.Now()
	_, err := r.Run(t.Context(), "vmss", "run-command", "invoke", "-n", "vmss")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v: the child holding stdout was not killed with az", took)
	}
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTimeout || e.ExitCode != -1 || e.Timeout != 300*time.Millisecond || e.TimeoutHint != "--node-timeout" {
		t.Fatalf("%T %+v, want a KindTimeout *Error", err, err)
	}
	if want := "az vmss run-command invoke: timed out: no answer from az within 300ms (--node-timeout)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	data, err := os.ReadFile(filepath.Join(dir, "child"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !gone(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("az's child %d is still running", pid)
		}
	}
}

// gone is true when pid is no process, or a zombie (killed, not yet
// reaped by whoever inherited it).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, ok := strings.Cut(string(stat), ") ")
	return ok && strings.HasPrefix(after, "Z")
}

// TestRunContext: a cancelled context, or its deadline, is the context's
// error, not an *Error; with a timeout of the Runner's too.
func TestRunContext(t *testing.T) {
	path, _ := fakeAz(t, "sleep 30\n")
	for _, timeout := range []time.Duration{0, time.Minute} {
		r := &Runner{Path: path, Timeout: timeout}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(200*time.Millisecond, cancel)
		if _, err := r.Run(ctx, "aks", "show"); !errors.Is(err, context.Canceled) || errors.As(err, new(*Error)) {
			t.Errorf("timeout %v, cancelled: %T %v", timeout, err, err)
		}
		ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
		_, err := r.Run(ctx, "aks", "show")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, new(*Error)) {
			t.Errorf("timeout %v, deadline: %T %v", timeout, err, err)
		}
	}
}

// TestRunRefusesFileArgs: an argument az would read a file for is refused
// before az runs.
func TestRunRefusesFileArgs(t *testing.T) {
	path, dir := fakeAz(t, `touch "$d/ran"`+"\n")
	r := &Runner{Path: path}
	for _, args := range [][]string{
		{"aks", "show", "-n", "@/root/.azure/msal_token_cache.json"},
		{"resource", "tag", "--tags", "x=@/root/.azure/msal_token_cache.json"},
		{"@args.txt"},
	} {
		out, err := r.Run(t.Context(), args...)
		if err == nil || !strings.Contains(err.Error(), "would make az read a local file") || !strings.HasPrefix(err.Error(), "not running az") || out != nil {
			t.Errorf("%q: %q, %v", args, out, err)
		}
		if err := r.JSON(t.Context(), new(any), args...); err == nil || !strings.Contains(err.Error(), "would make az read a local file") {
			t.Errorf("JSON %q: %v", args, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("az ran")
	}
	if _, err := r.Run(t.Context(), "aks", "show"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err != nil {
		t.Errorf("the fake az does not run: %v", err)
	}
}

// TestRunCannotStart: an az that cannot be run is a plain error naming the
// command, not an *Error.
func TestRunCannotStart(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "az")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{notExec, filepath.Join(dir, "missing")} {
		_, err := (&Runner{Path: p}).Run(t.Context(), "aks", "show", "-n", "x")
		if err == nil || !strings.HasPrefix(err.Error(), "running az aks show: ") || errors.As(err, new(*Error)) {
			t.Errorf("%s: %T %v", p, err, err)
		}
	}
}

func TestResolve(t *testing.T) {
	path, dir := fakeAz(t, "echo ok\n")
	t.Setenv("PATH", dir)
	r := &Runner{}
	if err := r.Resolve(); err != nil || r.Path != path {
		t.Fatalf("Resolve: %v, Path %q, want %q", err, r.Path, path)
	}
	if out, err := r.Run(t.Context(), "version"); err != nil || string(out) != "ok\n" {
		t.Errorf("Run: %q, %v", out, err)
	}
	for _, p := range []string{"", "no-such-az", filepath.Join(dir, "missing"), dir} {
		t.Setenv("PATH", t.TempDir())
		r := &Runner{Path: p}
		err := r.Resolve()
		name := p
		if name == "" {
			name = DefaultPath
		}
		if err == nil || !strings.HasPrefix(err.Error(), "the Azure CLI is needed and \""+name+"\" is not found: install it (https://aka.ms/azure-cli) or give --az-path (") {
			t.Errorf("%q: %v", p, err)
		}
		if r.Path != p {
			t.Errorf("%q: Path changed to %q", p, r.Path)
		}
	}
	err := (&Runner{Path: "no-such-az"}).Resolve()
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("%v does not wrap exec.ErrNotFound", err)
	}
}

func TestJSON(t *testing.T) {
	path, dir := fakeAz(t, `printf '%s\n' "$AZURE_CORE_OUTPUT" > "$d/output"
cat "$d/answer"
`)
	answer := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "answer"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &Runner{Path: path}
	var v struct {
		Name string `json:"name"`
		ETag string `json:"eTag"`
	}
	answer(`{"name": "aks", "eTag": "a", "other": 1}`)
	if err := r.JSON(t.Context(), &v, "aks", "show", "-g", "rg", "-n", "aks"); err != nil || v.Name != "aks" || v.ETag != "a" {
		t.Errorf("%+v, %v", v, err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "output")); string(data) != "json\n" {
		t.Errorf("AZURE_CORE_OUTPUT=%q, want json", data)
	}

	table := "Name    ResourceGroup    Location\n------  ---------------  ----------\n" + strings.Repeat("aks     rg               westeurope\n", 5) + strings.Repeat("secret-tail ", 100)
	answer(table)
	err := r.JSON(t.Context(), &v, "aks", "show", "-g", "rg", "-n", "aks")
	if err == nil || !strings.HasPrefix(err.Error(), "az aks show: az's answer is not JSON (") || !strings.Contains(err.Error(), `"Name    ResourceGroup`) || strings.Contains(err.Error(), "secret-tail") {
		t.Errorf("table: %v", err)
	}
	if err != nil && len(err.Error()) > 400 {
		t.Errorf("%d bytes of error: more than 200 bytes of stdout quoted", len(err.Error()))
	}
	answer("")
	if err := r.JSON(t.Context(), &v, "aks", "show"); err == nil || err.Error() != "az aks show: az printed nothing, not JSON" {
		t.Errorf("empty: %v", err)
	}
	answer(`["a list"]`)
	if err := r.JSON(t.Context(), &v, "aks", "show"); err == nil || !strings.HasPrefix(err.Error(), "az aks show: az's answer is not the JSON expected: ") {
		t.Errorf("a list: %v", err)
	}
	// Run leaves az's configured output alone.
	answer("x")
	if _, err := r.Run(t.Context(), "aks", "show"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "output")); string(data) != "\n" {
		t.Errorf("Run: AZURE_CORE_OUTPUT=%q", data)
	}
}

// TestRunOutputCap: more than 16 MiB on stdout is an error, not an answer
// cut short; stderr is read up to 1 MiB.
func TestRunOutputCap(t *testing.T) {
	path, _ := fakeAz(t, `head -c 17000000 /dev/zero
if [ "$1" = fail ]; then
	printf 'ERROR: (BadRequest) ' >&2
	head -c 2000000 /dev/zero | tr '\0' x >&2
	exit 1
fi
`)
	r := &Runner{Path: path, Timeout: time.Minute}
	if _, err := r.Run(t.Context(), "ok"); err == nil || err.Error() != "az ok: az printed more than 16 MiB; its answer is not read" {
		t.Errorf("%v", err)
	}
	_, err := r.Run(t.Context(), "fail")
	var e *Error
	if !errors.As(err, &e) || e.Code != "BadRequest" || e.Message != strings.Repeat("x", 400)+"…" {
		t.Errorf("%v", err)
	}
}

func TestLimitedBuffer(t *testing.T) {
	b := &limitedBuffer{max: 5}
	for _, s := range []string{"ab", "cde", "fg", ""} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Errorf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if string(b.Bytes()) != "abcde" || !b.cut {
		t.Errorf("%q, cut %v", b.Bytes(), b.cut)
	}
}
