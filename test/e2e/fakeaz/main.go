// Command fakeaz stands in for the Azure CLI in kubecerts' tests: it
// answers the run-command calls `kubectl certs check --source nodes` makes,
// the way Azure does, against directories standing in for the VMs.
//
//	az vmss run-command invoke -g RG -n VMSS --instance-id ID --command-id RunShellScript --scripts SCRIPT… [--subscription SUB] [-o json|tsv] [--query value[0].message]
//	az vm run-command invoke -g RG -n VM --command-id RunShellScript --scripts SCRIPT… [--subscription SUB] [-o json|tsv] [--query value[0].message]
//
// The VM's filesystem is $FAKEAZ_ROOT/<rg>/vmss/<vmss>/<instance-id> or
// $FAKEAZ_ROOT/<rg>/vm/<vm> (names lower-cased: Azure's are
// case-insensitive), or $FAKEAZ_DEFAULT_NODE when that does not exist. The
// script runs with bash ($FAKEAZ_SHELL when set: dash, as on Ubuntu nodes,
// whose /bin/sh it is), /etc/kubernetes and /var/lib/kubelet in it moved
// under that directory (and moved back in what it prints). Its output is
// wrapped as Azure's RunShellScript does: "Enable succeeded: \n[stdout]\n…
// \n[stderr]\n…", each stream cut to its last 4,096 bytes, and "Enable failed:
// failed to execute command: command terminated with exit status=N" with
// code ProvisioningState/failed/N when the script exits non-zero.
//
// Marker files in the VM's directory make it fail the ways Azure does:
//
//	not-logged-in        az has no account: "Please run 'az login' to setup account.", exit 1
//	no-permission        AuthorizationFailed for the runCommand action, exit 1
//	deallocated          OperationNotAllowed: the VM is deallocated, exit 1
//	provisioning-failed  the run command's state is failed (the file's text is the message), exit 0
//	no-openssl           the script runs without openssl on PATH
//	slow                 wait the duration the file holds (e.g. 30s) before answering
//
// $FAKEAZ_PATH, when set, is the PATH the script runs with (the VM's tools:
// bash, openssl, …) instead of az's own: the tests run kubectl, and so the
// plugin and az, with a PATH of kubectl and the plugins only.
//
// A VM without a directory is ResourceNotFound. $FAKEAZ_DELAY (a Go
// duration) is added to every call. Each call appends {"argv": [...]} as one
// JSON line to $FAKEAZ_LOG when set. $FAKEAZ_REPLY names a file printed as
// the answer of every successful call instead of running the script, for
// benchmarks that measure the caller rather than bash and openssl.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if p := os.Getenv("FAKEAZ_PATH"); p != "" {
		os.Setenv("PATH", p) // bash and, for the script, the tools
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	logCall(args)
	if d, err := time.ParseDuration(os.Getenv("FAKEAZ_DELAY")); err == nil && d > 0 {
		time.Sleep(d)
	}
	return runCommand(args)
}

// azError prints an Azure error the way az does, and exits 1.
func azError(code, msg string) int {
	fmt.Fprintf(os.Stderr, "ERROR: (%s) %s\nCode: %s\nMessage: %s\n", code, msg, code, msg)
	return 1
}

func logCall(args []string) {
	p := os.Getenv("FAKEAZ_LOG")
	if p == "" {
		return
	}
	line, _ := json.Marshal(map[string][]string{"argv": args})
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakeaz: %v\n", err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n')) // one write: lines of concurrent calls do not mix
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
