package source

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kubecerts/kubecerts/shared/az"
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

// key identifies the VM: Azure's names are case-insensitive.
func (vm AzureVM) key() string {
	return strings.ToLower(strings.Join([]string{vm.Subscription, vm.ResourceGroup, vm.ScaleSet, vm.InstanceID, vm.Name}, "/"))
}

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

// describeAzError says what a failed run command on vm means and what to do
// about it; err is what az.Runner.Run returned.
func describeAzError(vm AzureVM, err error) error {
	var e *az.Error
	if !errors.As(err, &e) {
		return err // az did not run: Run's error names the command
	}
	msg := e.Message
	if e.Code != "" {
		msg = "(" + e.Code + ") " + msg
	}
	switch {
	case e.Kind == az.KindTimeout:
		hint := ""
		if e.TimeoutHint != "" {
			hint = " (" + e.TimeoutHint + ")"
		}
		return fmt.Errorf("%s: timed out: no answer from az within %s%s; the run command may still be running on the VM", vm, duration.Format(e.Timeout), hint)
	case e.Kind == az.KindNotLoggedIn:
		return fmt.Errorf("not logged in to Azure: run `az login` (az: %s)", msg)
	case e.Kind == az.KindAuthorization && e.Principal != "" && e.Action != "" && e.Scope != "":
		return fmt.Errorf("no permission to run commands on %s: Azure denied %s the action %s on %s; grant a role that allows it (e.g. Virtual Machine Contributor on the node resource group)", vm, e.Principal, e.Action, e.Scope)
	case e.Kind == az.KindAuthorization:
		return fmt.Errorf("no permission to run commands on %s: it needs %s (e.g. the Virtual Machine Contributor role on the node resource group) (az: %s)", vm, runCommandAction(vm), msg)
	case e.Kind == az.KindSubscriptionNotFound:
		return fmt.Errorf("subscription %s is not one az knows (az account list): log in with an account that can see it (az login) (az: %s)", vm.Subscription, msg)
	case strings.Contains(strings.ToLower(e.Message), "deallocat"):
		return fmt.Errorf("%s is deallocated (stopped): it cannot run commands until it is started (az: %s)", vm, msg)
	case e.Kind == az.KindNotFound:
		return fmt.Errorf("%s does not exist in Azure: the Node object may be stale (az: %s)", vm, msg)
	case e.Kind == az.KindConflict && strings.Contains(strings.ToLower(e.Message), "in progress"):
		return fmt.Errorf("another run command is in progress on %s (Azure runs one at a time): try again later (az: %s)", vm, msg)
	}
	return e
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
