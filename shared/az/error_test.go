package az

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	sub   = "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8"
	scope = "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks"
)

// TestParse classifies stderr as azure-cli prints it.
func TestParse(t *testing.T) {
	inProgress := "Operation is not allowed because there's an in progress update managed cluster operation (operation ID: e375d315-3a1e-4a4a-9a43-62f0a7a4c6f1) on the managed cluster started on UTC 2026-05-22T07:19:23Z. Please wait for it to finish before starting a new operation."
	etag := `Operation failed with status: 'Precondition Failed'. Details: Etag provided in if-match header "a" does not match etag "b" of resource.`
	authz := "The client 'u@x.example' with object id '00000000-0000-0000-0000-000000000001' does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/write' over scope '" + scope + "' or the scope is invalid. If access was recently granted, please refresh your credentials."
	long := "Résumé " + strings.Repeat("é", 300) // 2-byte runes: 400 bytes ends mid-rune at an odd offset
	tests := []struct {
		name, stderr string
		kind         Kind
		code, msg    string
		// principal, action, scope: KindAuthorization's fields.
		principal, action, scope string
	}{
		{name: "not logged in", stderr: "ERROR: Please run 'az login' to setup account.\n",
			kind: KindNotLoggedIn, msg: "Please run 'az login' to setup account."},
		{name: "refresh token expired (AADSTS700082)",
			stderr: "ERROR: AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2026-01-01T00:00:00.0000000Z and was inactive for 90.00:00:00. Trace ID: 1 Correlation ID: 2 Timestamp: 2026-05-22 07:19:23Z\nTo re-authenticate, please run:\naz login --scope https://management.core.windows.net//.default\n",
			kind:   KindNotLoggedIn, msg: "AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2026-01-01T00:00:00.0000000Z and was inactive for 90.00:00:00. Trace ID: 1 Correlation ID: 2 Timestamp: 2026-05-22 07:19:23Z"},
		{name: "sign-in frequency (AADSTS70043)",
			stderr: "ERROR: AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.\n",
			kind:   KindNotLoggedIn, msg: "AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access."},
		{name: "interactive authentication",
			stderr: "ERROR: Interactive authentication is needed. Please run:\naz login --scope https://management.core.windows.net//.default\n",
			kind:   KindNotLoggedIn, msg: "Interactive authentication is needed. Please run:"},
		{name: "authorization failed", stderr: "ERROR: (AuthorizationFailed) " + authz + "\nCode: AuthorizationFailed\nMessage: " + authz + "\n",
			kind: KindAuthorization, code: "AuthorizationFailed", msg: clip(authz, 400) + "…",
			principal: "u@x.example", action: "Microsoft.ContainerService/managedClusters/write", scope: scope},
		{name: "authorization failed, no client name",
			stderr: "ERROR: (AuthorizationFailed) The client with object id 'oid-1' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/runCommand/action' over scope '/subscriptions/s/resourceGroups/rg' or the scope is invalid.\n",
			kind:   KindAuthorization, code: "AuthorizationFailed", msg: "The client with object id 'oid-1' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/runCommand/action' over scope '/subscriptions/s/resourceGroups/rg' or the scope is invalid.",
			principal: "oid-1", action: "Microsoft.Compute/virtualMachines/runCommand/action", scope: "/subscriptions/s/resourceGroups/rg"},
		{name: "authorization failed, terse", stderr: "ERROR: (AuthorizationFailed) denied\n",
			kind: KindAuthorization, code: "AuthorizationFailed", msg: "denied"},
		{name: "authorization in words", stderr: "ERROR: The client 'u@x' with object id 'o' does not have authorization to perform action 'A' over scope 'S'.\n",
			kind: KindAuthorization, msg: "The client 'u@x' with object id 'o' does not have authorization to perform action 'A' over scope 'S'.",
			principal: "u@x", action: "A", scope: "S"},
		{name: "subscription not found", stderr: "ERROR: (SubscriptionNotFound) The subscription '" + sub + "' could not be found.\nCode: SubscriptionNotFound\nMessage: The subscription '" + sub + "' could not be found.\n",
			kind: KindSubscriptionNotFound, code: "SubscriptionNotFound", msg: "The subscription '" + sub + "' could not be found."},
		{name: "subscription az does not know", stderr: "ERROR: The subscription of '" + sub + "' doesn't exist in cloud 'AzureCloud'.\n",
			kind: KindSubscriptionNotFound, msg: "The subscription of '" + sub + "' doesn't exist in cloud 'AzureCloud'."},
		{name: "resource not found", stderr: "ERROR: (ResourceNotFound) The Resource 'Microsoft.ContainerService/managedClusters/aks' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix\nCode: ResourceNotFound\nMessage: The Resource 'Microsoft.ContainerService/managedClusters/aks' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix\n",
			kind: KindNotFound, code: "ResourceNotFound", msg: "The Resource 'Microsoft.ContainerService/managedClusters/aks' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"},
		{name: "resource group not found", stderr: "ERROR: (ResourceGroupNotFound) Resource group 'rg' could not be found.\nCode: ResourceGroupNotFound\n",
			kind: KindNotFound, code: "ResourceGroupNotFound", msg: "Resource group 'rg' could not be found."},
		{name: "parent not found, scope names the subscription", stderr: "ERROR: (ParentResourceNotFound) Failed to perform 'read' on resource(s) of type 'managedClusters/agentPools', because the parent resource '" + scope + "' could not be found.\n",
			kind: KindNotFound, code: "ParentResourceNotFound", msg: "Failed to perform 'read' on resource(s) of type 'managedClusters/agentPools', because the parent resource '" + scope + "' could not be found."},
		{name: "not found", stderr: "ERROR: (NotFound) The entity was not found in this Azure location.\n",
			kind: KindNotFound, code: "NotFound", msg: "The entity was not found in this Azure location."},
		{name: "not found in words", stderr: "ERROR: Resource 'x' was not found\n", kind: KindNotFound, msg: "Resource 'x' was not found"},
		{name: "precondition failed", stderr: "ERROR: (PreconditionFailed) " + etag + "\nCode: PreconditionFailed\nMessage: " + etag + "\n",
			kind: KindPreconditionFailed, code: "PreconditionFailed", msg: etag},
		{name: "precondition failed, no code", stderr: "ERROR: Operation returned an invalid status 'Precondition Failed'\n",
			kind: KindPreconditionFailed, msg: "Operation returned an invalid status 'Precondition Failed'"},
		{name: "etag in words", stderr: "ERROR: Etag provided in if-match header \"a\" does not match etag \"b\" of resource.\n",
			kind: KindPreconditionFailed, msg: "Etag provided in if-match header \"a\" does not match etag \"b\" of resource."},
		{name: "operation in progress", stderr: "ERROR: (OperationNotAllowed) " + inProgress + "\nCode: OperationNotAllowed\nMessage: " + inProgress + "\n",
			kind: KindOperationNotAllowed, code: "OperationNotAllowed", msg: inProgress},
		{name: "deallocated", stderr: "ERROR: (OperationNotAllowed) Operation 'RunCommand' is not allowed on VM 'aks-np-vmss_2' since the VM is deallocated or marked to be deallocated.\nCode: OperationNotAllowed\n",
			kind: KindOperationNotAllowed, code: "OperationNotAllowed", msg: "Operation 'RunCommand' is not allowed on VM 'aks-np-vmss_2' since the VM is deallocated or marked to be deallocated."},
		{name: "conflict", stderr: "ERROR: (Conflict) Run command extension execution is in progress. Please wait for completion before invoking a run command.\nCode: Conflict\n",
			kind: KindConflict, code: "Conflict", msg: "Run command extension execution is in progress. Please wait for completion before invoking a run command."},
		{name: "code on its own line", stderr: "ERROR: Operation returned an invalid status 'Conflict'\nCode: Conflict\nMessage: The request conflicts with the resource's state.\n",
			kind: KindConflict, code: "Conflict", msg: "Operation returned an invalid status 'Conflict'"},
		{name: "message on its own line", stderr: "ERROR: (InvalidParameter)\nCode: InvalidParameter\nMessage: The value of parameter kubernetesVersion is invalid.\nTarget: kubernetesVersion\n",
			kind: KindOther, code: "InvalidParameter", msg: "The value of parameter kubernetesVersion is invalid."},
		{name: "other lines ignored", stderr: "WARNING: x does not have authorization\nERROR: something else broke\nTraceback: was not found\nERROR: (Conflict) a second error\n",
			kind: KindOther, msg: "something else broke"},
		{name: "other code", stderr: "ERROR: (BadRequest) Invalid value for 'sku'.\nCode: BadRequest\nMessage: Invalid value for 'sku'.\n",
			kind: KindOther, code: "BadRequest", msg: "Invalid value for 'sku'."},
		{name: "CRLF", stderr: "ERROR: (ResourceGroupNotFound) Resource group 'rg' could not be found.\r\nCode: ResourceGroupNotFound\r\n",
			kind: KindNotFound, code: "ResourceGroupNotFound", msg: "Resource group 'rg' could not be found."},
		{name: "clipped on a rune", stderr: "ERROR: (BadRequest) " + long + "\n", kind: KindOther, code: "BadRequest", msg: clip(long, 400) + "…"},
		{name: "empty", stderr: "", kind: KindOther, msg: "no error message"},
		{name: "ERROR without text", stderr: "ERROR: \n", kind: KindOther, msg: "no error message"},
		{name: "warnings only", stderr: "WARNING: something\n\n", kind: KindOther, msg: "no error message"},
		{name: "no ERROR line: the last line", stderr: "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nModuleNotFoundError: No module named 'azure'\n",
			kind: KindOther, msg: "ModuleNotFoundError: No module named 'azure'"},
		{name: "no ERROR line: a broken install", stderr: "/usr/bin/az: 3: /opt/az/bin/python3: not found\n",
			kind: KindOther, msg: "/usr/bin/az: 3: /opt/az/bin/python3: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parse("az aks update", []byte(tt.stderr))
			if e.Kind != tt.kind || e.Code != tt.code || e.Message != tt.msg || e.Command != "az aks update" {
				t.Errorf("kind %v, code %q, command %q, message\n%q\nwant kind %v, code %q, message\n%q", e.Kind, e.Code, e.Command, e.Message, tt.kind, tt.code, tt.msg)
			}
			if e.Principal != tt.principal || e.Action != tt.action || e.Scope != tt.scope {
				t.Errorf("principal %q, action %q, scope %q; want %q, %q, %q", e.Principal, e.Action, e.Scope, tt.principal, tt.action, tt.scope)
			}
			if len(e.Message) > 400+len("…") {
				t.Errorf("message of %d bytes", len(e.Message))
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Command: "az aks show", Kind: KindNotLoggedIn, Message: "Please run 'az login' to setup account.", ExitCode: 1},
			"az aks show: not logged in to Azure: run `az login` (az: Please run 'az login' to setup account.)"},
		{Error{Command: "az aks update", Kind: KindAuthorization, Code: "AuthorizationFailed", Message: "The client …", Principal: "u@x", Action: "Microsoft.ContainerService/managedClusters/write", Scope: scope, ExitCode: 1},
			"az aks update: no permission: Azure denied u@x the action Microsoft.ContainerService/managedClusters/write on " + scope},
		{Error{Command: "az aks update", Kind: KindAuthorization, Code: "AuthorizationFailed", Message: "denied", ExitCode: 1},
			"az aks update: no permission (az: (AuthorizationFailed) denied)"},
		{Error{Command: "az aks update", Kind: KindTimeout, ExitCode: -1, Timeout: 2 * time.Minute, TimeoutHint: "--request-timeout"},
			"az aks update: timed out: no answer from az within 2m (--request-timeout)"},
		{Error{Command: "az aks update", Kind: KindTimeout, ExitCode: -1, Timeout: 2 * time.Hour, TimeoutHint: "--request-timeout"},
			"az aks update: timed out: no answer from az within 2h (--request-timeout)"},
		{Error{Command: "az aks update", Kind: KindTimeout, ExitCode: -1, Timeout: 300 * time.Millisecond, TimeoutHint: "--request-timeout"},
			"az aks update: timed out: no answer from az within 300ms (--request-timeout)"},
		{Error{Command: "az aks update", Kind: KindTimeout, ExitCode: -1, Timeout: 90 * time.Second},
			"az aks update: timed out: no answer from az within 1m30s"},
		{Error{Command: "az aks update", Kind: KindOperationNotAllowed, Code: "OperationNotAllowed", Message: "Operation is not allowed.", ExitCode: 1},
			"az aks update failed (exit status 1): (OperationNotAllowed) Operation is not allowed."},
		{Error{Command: "az vmss run-command invoke", Kind: KindOther, Message: "something else broke", ExitCode: 2},
			"az vmss run-command invoke failed (exit status 2): something else broke"},
		{Error{Command: "az aks show", Kind: KindOther, Message: "no error message", ExitCode: -1},
			"az aks show failed (no exit status): no error message"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v:\n%s\nwant\n%s", tt.e, got, tt.want)
		}
	}
}

func TestIsKind(t *testing.T) {
	e := &Error{Command: "az aks show", Kind: KindNotFound}
	wrapped := fmt.Errorf("cluster aks: %w", e)
	switch {
	case !IsKind(e, KindNotFound), !IsKind(wrapped, KindNotFound):
		t.Error("IsKind(…, KindNotFound) is false for a KindNotFound")
	case IsKind(wrapped, KindOther), IsKind(errors.New("not found"), KindNotFound), IsKind(nil, KindOther):
		t.Error("IsKind is true for another kind, or an error that is not an *Error")
	}
	if KindPreconditionFailed.String() != "PreconditionFailed" || Kind(99).String() != "Kind(99)" {
		t.Errorf("Kind.String: %v, %v", KindPreconditionFailed, Kind(99))
	}
}

func TestCommand(t *testing.T) {
	for args, want := range map[string]string{
		"aks update -g rg -n aks --enable-x":   "az aks update",
		"vmss run-command invoke -g rg -n vm":  "az vmss run-command invoke",
		"account show":                         "az account show",
		"":                                     "az",
		"--version":                            "az",
		"aks show --query properties.x -o tsv": "az aks show",
		"config set core.output=json":          "az config set",
		"group show MyGroup":                   "az group show",
	} {
		if got := command(strings.Fields(args)); got != want {
			t.Errorf("%q: %q, want %q", args, got, want)
		}
	}
}
