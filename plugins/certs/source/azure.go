package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/kubecerts/kubecerts/shared/azname"
	"github.com/kubecerts/kubecerts/shared/duration"
)

// AzureVM is the VM behind a Node, as its spec.providerID names it: a
// scale-set instance or a standalone (availability-set) VM. Names are kept
// as given: Azure treats them case-insensitively, and AKS sometimes writes
// resource groups in lower case.
type AzureVM struct {
	Subscription  string
	ResourceGroup string
	// ScaleSet and InstanceID for a scale-set instance.
	ScaleSet   string
	InstanceID string
	// Name for a standalone VM.
	Name string
}

// ParseProviderID reads azure:///subscriptions/<sub>/resourceGroups/<rg>/
// providers/Microsoft.Compute/virtualMachineScaleSets/<vmss>/virtualMachines/<id>
// or …/providers/Microsoft.Compute/virtualMachines/<name>. Segment names are
// matched without regard to case. The providerID comes from the node, so
// the names it gives, which become az's arguments, must be names Azure
// allows (Validate): an empty segment, or a name az would read a file for
// ("@…"), is an error.
func ParseProviderID(id string) (AzureVM, error) {
	rest, ok := cutPrefixFold(id, "azure://")
	if !ok {
		return AzureVM{}, fmt.Errorf("providerID %q is not an Azure one (azure://…)", id)
	}
	bad := func(why string) (AzureVM, error) {
		return AzureVM{}, fmt.Errorf("providerID %q: %s; expected azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachineScaleSets/<vmss>/virtualMachines/<instance> or …/providers/Microsoft.Compute/virtualMachines/<vm>", id, why)
	}
	// azure:///subscriptions/…; azure://subscriptions/… is taken too.
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if len(parts) < 8 {
		return bad("too few segments")
	}
	for i, p := range parts {
		if p == "" {
			return bad(fmt.Sprintf("segment %d is empty", i+1))
		}
	}
	expect := []string{"subscriptions", "", "resourceGroups", "", "providers", "Microsoft.Compute"}
	for i, want := range expect {
		if want != "" && !strings.EqualFold(parts[i], want) {
			return bad(fmt.Sprintf("segment %d is %q, not %s", i+1, parts[i], want))
		}
	}
	vm := AzureVM{Subscription: parts[1], ResourceGroup: parts[3]}
	switch {
	case len(parts) == 10 && strings.EqualFold(parts[6], "virtualMachineScaleSets") && strings.EqualFold(parts[8], "virtualMachines"):
		vm.ScaleSet, vm.InstanceID = parts[7], parts[9]
	case len(parts) == 8 && strings.EqualFold(parts[6], "virtualMachines"):
		vm.Name = parts[7]
	default:
		return bad("names neither a scale-set instance nor a VM")
	}
	if err := vm.Validate(); err != nil {
		return AzureVM{}, fmt.Errorf("providerID %q: %w", id, err)
	}
	return vm, nil
}

// Validate checks every name against Azure's rules (package azname): they
// are az's arguments, and none may make az read a file ("@…") or be taken
// for an option.
func (vm AzureVM) Validate() error {
	if err := azname.Subscription(vm.Subscription); err != nil {
		return err
	}
	if err := azname.ResourceGroup(vm.ResourceGroup); err != nil {
		return err
	}
	if vm.IsScaleSet() {
		if err := azname.ScaleSet(vm.ScaleSet); err != nil {
			return err
		}
		return azname.InstanceID(vm.InstanceID)
	}
	return azname.VirtualMachine(vm.Name)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// IsScaleSet is true for a scale-set instance.
func (vm AzureVM) IsScaleSet() bool { return vm.ScaleSet != "" }

// String names the VM for people.
func (vm AzureVM) String() string {
	if vm.IsScaleSet() {
		return fmt.Sprintf("scale set %s instance %s (resource group %s, subscription %s)", vm.ScaleSet, vm.InstanceID, vm.ResourceGroup, vm.Subscription)
	}
	return fmt.Sprintf("VM %s (resource group %s, subscription %s)", vm.Name, vm.ResourceGroup, vm.Subscription)
}

// RunCommandArgs are the arguments of az that run script on the VM:
//
//	vmss run-command invoke -g RG -n VMSS --instance-id ID --command-id RunShellScript --scripts SCRIPT --subscription SUB -o json
//	vm run-command invoke -g RG -n VM --command-id RunShellScript --scripts SCRIPT --subscription SUB -o json
//
// JSON, not --query 'value[0].message' -otsv: the provisioning state comes
// with the message, so a failed run is told from a successful one.
func (vm AzureVM) RunCommandArgs(script string) []string {
	if vm.IsScaleSet() {
		return []string{"vmss", "run-command", "invoke", "-g", vm.ResourceGroup, "-n", vm.ScaleSet, "--instance-id", vm.InstanceID,
			"--command-id", "RunShellScript", "--scripts", script, "--subscription", vm.Subscription, "-o", "json"}
	}
	return []string{"vm", "run-command", "invoke", "-g", vm.ResourceGroup, "-n", vm.Name,
		"--command-id", "RunShellScript", "--scripts", script, "--subscription", vm.Subscription, "-o", "json"}
}

// maxAzOutput bounds what is read from az: its answer is a few KiB.
const maxAzOutput = 16 << 20

// runAz runs az with args until it exits or timeout passes; stdout and
// stderr are returned as read so far.
func runAz(ctx context.Context, azPath string, timeout time.Duration, args []string) (stdout, stderr []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, azPath, args...)
	// No colours, no interactive prompts, no "WARNING: …" lines on stderr.
	cmd.Env = append(os.Environ(), "AZURE_CORE_NO_COLOR=true", "AZURE_CORE_ONLY_SHOW_ERRORS=true", "AZURE_CORE_COLLECT_TELEMETRY=false")
	var out, errOut limitedBuffer
	out.max, errOut.max = maxAzOutput, 1<<20
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// az is a shell script that runs Python: end the whole process group.
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = &azTimeoutError{timeout: timeout}
	}
	return out.Bytes(), errOut.Bytes(), err
}

type azTimeoutError struct{ timeout time.Duration }

func (e *azTimeoutError) Error() string {
	return fmt.Sprintf("timed out: no answer from az within %s (--node-timeout); the run command may still be running on the VM", duration.Format(e.timeout))
}

// limitedBuffer keeps the first max bytes written and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

var (
	azErrorLine   = regexp.MustCompile(`(?m)^ERROR:\s*(.*)$`)
	azAuthzFailed = regexp.MustCompile(`(?s)(?:client|object) '([^']*)'.*?does not have authorization to perform action '([^']+)' over scope '([^']+)'`)
	azCode        = regexp.MustCompile(`\(([A-Za-z]+)\)`)
)

// describeAzError turns az's failure into what to do about it.
func describeAzError(vm AzureVM, what string, stderr []byte, err error) error {
	var te *azTimeoutError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: %v", vm, te)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("running %s: %v", what, err)
	}
	text := strings.TrimSpace(string(stderr))
	msg := text
	if m := azErrorLine.FindStringSubmatch(text); m != nil {
		msg = strings.TrimSpace(m[1])
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if msg == "" {
		msg = "no error message"
	}
	msg = clipString(msg, 400)
	lower := strings.ToLower(text)
	code := ""
	if m := azCode.FindStringSubmatch(text); m != nil {
		code = m[1]
	}
	switch {
	case strings.Contains(lower, "az login") || strings.Contains(lower, "refresh token has expired") ||
		strings.Contains(lower, "interactive authentication is needed") || strings.Contains(lower, "aadsts70043") ||
		strings.Contains(lower, "aadsts700082"):
		return fmt.Errorf("not logged in to Azure: run `az login` (az: %s)", msg)
	case code == "AuthorizationFailed" || strings.Contains(lower, "does not have authorization"):
		if m := azAuthzFailed.FindStringSubmatch(text); m != nil {
			return fmt.Errorf("no permission to run commands on %s: Azure denied %s the action %s on %s; grant a role that allows it (e.g. Virtual Machine Contributor on the node resource group)", vm, m[1], m[2], m[3])
		}
		return fmt.Errorf("no permission to run commands on %s: it needs %s (e.g. the Virtual Machine Contributor role on the node resource group) (az: %s)", vm, runCommandAction(vm), msg)
	case code == "SubscriptionNotFound" || strings.Contains(lower, "subscription") && (strings.Contains(lower, "could not be found") || strings.Contains(lower, "doesn't exist") || strings.Contains(lower, "does not exist")):
		return fmt.Errorf("subscription %s is not one az knows (az account list): log in with an account that can see it (az login) (az: %s)", vm.Subscription, msg)
	case strings.Contains(lower, "deallocat"):
		return fmt.Errorf("%s is deallocated (stopped): it cannot run commands until it is started (az: %s)", vm, msg)
	case code == "ResourceNotFound" || code == "ParentResourceNotFound" || code == "ResourceGroupNotFound" || code == "NotFound" ||
		strings.Contains(lower, "was not found") || strings.Contains(lower, "could not be found"):
		return fmt.Errorf("%s does not exist in Azure: the Node object may be stale (az: %s)", vm, msg)
	case code == "Conflict" && strings.Contains(lower, "in progress"):
		return fmt.Errorf("another run command is in progress on %s (Azure runs one at a time): try again later (az: %s)", vm, msg)
	}
	return fmt.Errorf("%s failed (%v): %s", what, ee, msg)
}

// runCommandAction is the Azure RBAC action run-command invoke needs.
func runCommandAction(vm AzureVM) string {
	if vm.IsScaleSet() {
		return "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action"
	}
	return "Microsoft.Compute/virtualMachines/runCommand/action"
}

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
