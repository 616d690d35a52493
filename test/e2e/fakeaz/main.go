// Command fakeaz stands in for the Azure CLI in kubecerts' tests. It
// answers the run-command calls `kubectl certs check --source nodes` makes,
// against directories standing in for the VMs, and the AKS calls `kubectl
// ca-trust` makes on a managed cluster's custom CA list, against managed
// clusters kept as state on disk; both the way Azure and az do.
//
// # Every call
//
// Each call first appends {"argv": [...]} as one JSON line to $FAKEAZ_LOG
// when set, then waits $FAKEAZ_DELAY (a Go duration) when set. An argument
// az would replace with a file's content, "@PATH" or "NAME=@PATH" (an '@'
// alone is kept), is refused: "ERROR: the fake refuses @file arguments",
// exit 2, so that a test notices a caller passing one. A command the fake
// does not know is "ERROR: '…' is misspelled or not recognized by the
// system", exit 2. When $FAKEAZ_ROOT/not-logged-in exists, every call is
// "ERROR: Please run 'az login' to setup account.", exit 1.
//
// Errors are printed as az prints them: an Azure error as "ERROR: (Code)
// Message" then "Code: …" and "Message: …" lines, exit 1, or exit 3 for a
// 404 (az's ResourceNotFoundError: ResourceNotFound, ResourceGroupNotFound);
// az's own errors as "ERROR: text", exit 1, or 2 for an argument error;
// az rest's as "ERROR: <HTTP reason>(<ARM's JSON body>)", exit 1. The fake's
// own failures (bad state on disk) are "fakeaz: …", exit 3.
//
// # Run command
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
// A VM without a directory is ResourceNotFound (exit 1, where az exits 3).
// $FAKEAZ_REPLY names a file printed as the answer of every successful
// call instead of running the script, for benchmarks that measure the
// caller rather than bash and openssl.
//
// # AKS managed clusters
//
//	az aks list [-g RG] [--subscription SUB] [-o json]
//	az aks show -g RG -n NAME [--subscription SUB] [-o json]
//	az aks update -g RG -n NAME --custom-ca-trust-certificates|--ca-certs FILE [--if-match ETAG] [--no-wait] [--yes] [--subscription SUB] [-o json]
//	az rest [--method get] --url|--uri|-u URL [-o json]
//	az resource update --ids POOL_ID --api-version V --set properties.enableCustomCATrust=true|false [-o json]
//
// The subscription is --subscription, else $FAKEAZ_SUBSCRIPTION, else
// 00000000-0000-0000-0000-000000000000; a cluster whose id names another
// one is not found, and az aks list leaves it out. az rest and az resource
// update take --subscription too, and go by the subscription in the URL or
// id, as az does. --only-show-errors is
// taken (the fake prints no warnings); --query and other outputs than json
// are not (exit 2). JSON is printed as az prints it: keys sorted, indented
// by two spaces.
//
// The state is $FAKEAZ_ROOT/aks/<resource-group>/<cluster-name>/, the names
// lower-cased (Azure's are case-insensitive); a directory is a cluster when
// it holds cluster.json, a resource group when it exists:
//
//	cluster.json          the managed cluster exactly as az aks show -o json prints it. The fake reads
//	                      and writes id (/subscriptions/<sub>/resourcegroups/<rg>/providers/
//	                      Microsoft.ContainerService/managedClusters/<name>), eTag, provisioningState,
//	                      securityProfile.customCaTrustCertificates (null or a list of base64 strings, each
//	                      one PEM certificate) and agentPoolProfiles[].{name, osType, provisioningState,
//	                      eTag}; callers also use name, resourceGroup, location, fqdn, privateFqdn,
//	                      azurePortalFqdn, agentPoolProfiles[].{count, mode}. Every other field is kept
//	                      and printed as it is.
//	operation.json        (the fake's own, optional) the operation running on the cluster:
//	                      {"id": "<uuid>", "kind": "update managed cluster", "startedAt": RFC 3339,
//	                      "endsAt": RFC 3339, "fail": "<message when it is to end Failed>", "code":
//	                      "<its error code>"}. A test may write one to put an operation in the way; the
//	                      fake fills in a missing id, kind or startedAt (the file's time), and one without
//	                      endsAt runs until the file is removed. While it runs, provisioningState is
//	                      Updating, on the cluster and its Linux pools.
//	agentpools/<pool>.json  an agent pool as ARM returns it at api-version 2025-08-02-preview:
//	                      {"id": "<cluster id>/agentPools/<pool>", "name", "type":
//	                      "Microsoft.ContainerService/managedClusters/agentPools", "eTag", "properties":
//	                      {"enableCustomCATrust": bool, "provisioningState", "osType", "count", "mode", …}}
//
// Marker files in the cluster's directory:
//
//	not-logged-in         every call on the cluster: "Please run 'az login' to setup account.", exit 1
//	no-permission         AuthorizationFailed for every call on it: az reads first, so the action is
//	                      …/managedClusters/read (show, update) or …/managedClusters/agentPools/read
//	                      (az rest, az resource update)
//	no-write-permission   AuthorizationFailed for the writes only: …/managedClusters/write (update),
//	                      …/managedClusters/agentPools/write (az resource update)
//	update-fails          the next update ends with provisioningState Failed; the file's text is the
//	                      message, of code CustomCATrustReconcileFailed unless it starts "(Code) ". The
//	                      update that takes it removes it.
//	update-duration       how long an update runs (a Go duration, e.g. 1500ms; 0s when missing)
//	agentpools/<pool>.fail  the pool's updates fail with the file's text ("(Code) " as for update-fails,
//	                      else AgentPoolUpdateFailed), exit 1, the pool's provisioningState Failed; it
//	                      stays until the test removes it
//
// Every read and write of the state holds an exclusive flock on
// $FAKEAZ_ROOT/aks/.lock, and every file is written to a temporary file
// renamed over it: tests run several fakes at once on one cluster. An
// operation whose endsAt has passed is ended by the call that next reads
// the cluster (list, show, update, az rest, az resource update):
// provisioningState Succeeded, or Failed with its message (on the cluster
// and its Linux pools, which get new eTags), operation.json removed, and a
// new eTag, as AKS gives one when an operation ends. Failed stays until the
// next update.
//
// A missing resource group directory is ResourceGroupNotFound ("Resource
// group '<rg>' could not be found."), a missing cluster ResourceNotFound
// ("The Resource 'Microsoft.ContainerService/managedClusters/<name>' under
// resource group '<rg>' was not found. …"), both exit 3.
//
// az aks update, in az's order: it reads the cluster (404s, not-logged-in,
// no-permission), then reads FILE as az does: not a readable file is
// "ERROR: FILE is not valid file, or not accessible.", exit 1; the text
// (UTF-8, a BOM dropped) is cut at each "\n\n" and pieces of at most one
// character dropped; more than 10 is "ERROR: Only up to 10 new-line
// separated CAs can be passed, got N instead.", exit 1; an empty file gives
// an empty list. Then it sends the cluster, which AKS checks, under the
// lock, in this order: no-write-permission (AuthorizationFailed, …/write);
// every piece exactly one PEM block of type CERTIFICATE holding an X.509
// certificate, else (InvalidParameter) "failed to decode one of
// SecurityProfile.CustomCATrustCertificates to PEM after base64 decoding";
// an operation running, (OperationNotAllowed) "Operation is not allowed
// because there's an in progress update managed cluster operation
// (operation ID: <id>) on the managed cluster started on UTC <startedAt>.
// Please wait for it to finish before starting a new operation."; --if-match
// not the eTag, (PreconditionFailed) "Operation failed with status:
// 'Precondition Failed'. Details: Etag provided in if-match header
// \"<given>\" does not match etag \"<current>\" of resource."; all exit 1,
// nothing changed. Accepted, each piece is stored as the base64 of its
// bytes exactly as given (CRLF kept: AKS takes it, and the nodes fail
// later), with a new eTag, provisioningState Updating and operation.json
// ending update-duration later (failing when update-fails was there). With
// --no-wait it prints nothing, exit 0; else it sleeps until the operation
// ends and prints the cluster, exit 0, or, when it ended Failed, "ERROR:
// (<code>) <message>" and the Code:/Message: lines, exit 1.
//
// az rest GETs https://management.azure.com<cluster id>/agentPools or
// …/agentPools/<pool> (the URL may be given as a path; ids are matched
// without regard to case) with an api-version query parameter: {"value":
// [pools…]} or the pool, without properties.enableCustomCATrust unless the
// api-version is 2025-08-02-preview or an older preview. An unknown pool is
// ResourceNotFound; errors are az rest's, "ERROR: Not Found({"error":
// {"code":"ResourceNotFound","message":"…"}})", exit 1.
//
// az resource update reads the pool (404s, no-permission), then, under the
// lock: no-write-permission; an operation running on the cluster,
// OperationNotAllowed; agentpools/<pool>.fail, provisioningState Failed and
// (AgentPoolUpdateFailed) <text>, exit 1; else it sets
// properties.enableCustomCATrust, gives the pool a new eTag and
// provisioningState Succeeded (in agentPoolProfiles too), and prints the
// pool as at that api-version. The cluster's eTag does not change.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// knownCommands is what the fake answers, for its misspelled message.
const knownCommands = "fakeaz knows vm|vmss run-command invoke, aks list|show|update, rest, resource update"

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
	for i, a := range args {
		if readsFile(a) {
			fmt.Fprintf(os.Stderr, "ERROR: the fake refuses @file arguments: argument %d %q would make az read a file\n", i+1, a)
			return 2
		}
	}
	if len(args) == 0 {
		return misspelled(args)
	}
	switch args[0] {
	case "vm", "vmss":
		return runCommand(args)
	case "aks":
		return aks(args[1:])
	case "rest":
		return rest(args[1:])
	case "resource":
		if len(args) > 1 && args[1] == "update" {
			return resourceUpdate(args[2:])
		}
	}
	return misspelled(args)
}

// readsFile is true for an argument az replaces with a file's content:
// "@PATH", or, in one with an '=', "@PATH" after the first '='.
func readsFile(a string) bool {
	if _, after, ok := strings.Cut(a, "="); ok {
		a = after
	}
	return len(a) > 1 && a[0] == '@'
}

func misspelled(args []string) int {
	fmt.Fprintf(os.Stderr, "ERROR: '%s' is misspelled or not recognized by the system (%s)\n", strings.Join(args, " "), knownCommands)
	return 2
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
