package azname

import (
	"fmt"
	"strings"
	"testing"
)

const tokenCache = "@/root/.azure/msal_token_cache.json"

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		check func(string) error
		what  string
		name  string
		err   string // empty: valid
	}{
		{Subscription, "subscription", "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8", ""},
		{Subscription, "subscription", "8ECADFC9-D1A3-4EA4-B844-0D9F87E4D7C8", ""},
		{Subscription, "subscription", "", "not a subscription ID"},
		{Subscription, "subscription", "s", "not a subscription ID"},
		{Subscription, "subscription", "@8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8", "starts with '@'"},
		{Subscription, "subscription", tokenCache, "starts with '@'"},
		{Subscription, "subscription", "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8\n", "not a subscription ID"},
		{Subscription, "subscription", "8ecadfc9d1a34ea4b8440d9f87e4d7c8", "not a subscription ID"},
		{Subscription, "subscription", "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c８", "not a subscription ID"}, // fullwidth digit

		{ResourceGroup, "resource group", "MC_rg_aks_eastus", ""},
		{ResourceGroup, "resource group", "mc_kubecerts-e2e_aks1f2e3d_westeurope", ""},
		{ResourceGroup, "resource group", "rg.(prod)_1", ""},
		{ResourceGroup, "resource group", "..a", ""},
		{ResourceGroup, "resource group", "Grüße-日本", ""}, // Azure allows Unicode letters
		{ResourceGroup, "resource group", strings.Repeat("r", 90), ""},
		{ResourceGroup, "resource group", strings.Repeat("é", 90), ""}, // characters, not bytes
		{ResourceGroup, "resource group", "", "resource group name is empty"},
		{ResourceGroup, "resource group", strings.Repeat("r", 91), "91 characters, longer than Azure's 90"},
		{ResourceGroup, "resource group", tokenCache, "starts with '@', which would make az read the file"},
		{ResourceGroup, "resource group", "@msal_token_cache.json", "starts with '@'"},
		{ResourceGroup, "resource group", "@", "starts with '@'"},
		{ResourceGroup, "resource group", "rg=@msal_token_cache.json", "has '='"},
		{ResourceGroup, "resource group", "a/b", "has '/'"},
		{ResourceGroup, "resource group", "a%2Fb", "has '%'"},
		{ResourceGroup, "resource group", "..", "ends with '.'"},
		{ResourceGroup, "resource group", ".", "ends with '.'"},
		{ResourceGroup, "resource group", "rg.", "ends with '.'"},
		{ResourceGroup, "resource group", "-g", "starts with '-', which az would read as an option"},
		{ResourceGroup, "resource group", "--debug", "starts with '-'"},
		{ResourceGroup, "resource group", "a b", "has ' '"},
		{ResourceGroup, "resource group", "a\nb", `has '\n'`},
		{ResourceGroup, "resource group", "a\x00b", `has '\x00'`},
		{ResourceGroup, "resource group", "＠msal_token_cache.json", "U+FF20"}, // fullwidth commercial at
		{ResourceGroup, "resource group", "﹫msal", "U+FE6B"},                  // small commercial at
		{ResourceGroup, "resource group", "rg\u202egpj.exe", "U+202E"},        // right-to-left override
		{ResourceGroup, "resource group", "r\u200bg", "U+200B"},               // zero-width space
		{ResourceGroup, "resource group", "rg\u0301", "U+0301"},               // combining accent
		{ResourceGroup, "resource group", "rg\xff", "not valid UTF-8"},        // a byte, not a character
		{ResourceGroup, "resource group", "rg\u2024\u2024", "U+2024"},         // one-dot leader, looks like ..
		{ResourceGroup, "resource group", "rg\uff0fx", "U+FF0F"},              // fullwidth solidus
		{ResourceGroup, "resource group", "rg;rm", "has ';'"},
		{ResourceGroup, "resource group", "$(id)", "has '$'"},

		{ScaleSet, "scale set", "aks-nodepool1-12345678-vmss", ""},
		{ScaleSet, "scale set", "AKS_np.vmss_", ""},
		{ScaleSet, "scale set", "0vmss", ""},
		{ScaleSet, "scale set", strings.Repeat("v", 64), ""},
		{ScaleSet, "scale set", strings.Repeat("v", 65), "65 characters, longer than Azure's 64"},
		{ScaleSet, "scale set", "", "scale set name is empty"},
		{ScaleSet, "scale set", tokenCache, "starts with '@'"},
		{ScaleSet, "scale set", "@msal_token_cache.json", "starts with '@'"},
		{ScaleSet, "scale set", "vmss=@msal_token_cache.json", "has '='"},
		{ScaleSet, "scale set", "..", "starts with '.'"},
		{ScaleSet, "scale set", "_vmss", "starts with '_'"},
		{ScaleSet, "scale set", "-n", "starts with '-'"},
		{ScaleSet, "scale set", "vmss.", "ends with '.'"},
		{ScaleSet, "scale set", "vmss-", "ends with '-'"},
		{ScaleSet, "scale set", "vm/ss", "has '/'"},
		{ScaleSet, "scale set", "vmßs", "has 'ß'"}, // Unicode letters: not in VM names
		{ScaleSet, "scale set", "vmѕs", "U+0455"},  // Cyrillic dze, looks like s

		{VirtualMachine, "VM", "aks-agentpool-12345678-0", ""},
		{VirtualMachine, "VM", tokenCache, "VM \"@/root/.azure/msal_token_cache.json\": starts with '@'"},
		{VirtualMachine, "VM", "@msal_token_cache.json", "starts with '@'"},
		{VirtualMachine, "VM", "", "VM name is empty"},
		{VirtualMachine, "VM", "..", "starts with '.'"},
		{VirtualMachine, "VM", "vm\n", `has '\n'`},

		{InstanceID, "scale-set instance ID", "0", ""},
		{InstanceID, "scale-set instance ID", "17", ""},
		{InstanceID, "scale-set instance ID", "4294967295", ""},
		{InstanceID, "scale-set instance ID", "", "not a number"},
		{InstanceID, "scale-set instance ID", "12345678901", "not a number"},
		{InstanceID, "scale-set instance ID", "-1", "not a number"},
		{InstanceID, "scale-set instance ID", "0x1", "not a number"},
		{InstanceID, "scale-set instance ID", "１", "not a number"}, // fullwidth one
		{InstanceID, "scale-set instance ID", "@0", "starts with '@'"},
		{InstanceID, "scale-set instance ID", tokenCache, "starts with '@'"},
		{InstanceID, "scale-set instance ID", "..", "not a number"},
	} {
		err := tt.check(tt.name)
		if tt.err == "" {
			if err != nil {
				t.Errorf("%s %q: %v, want valid", tt.what, tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %q: valid, want an error with %q", tt.what, tt.name, tt.err)
			continue
		}
		// The error names the kind of name and quotes the value.
		if msg := err.Error(); !strings.Contains(msg, tt.err) || !strings.HasPrefix(msg, tt.what) ||
			tt.name != "" && !strings.Contains(msg, fmt.Sprintf("%q", tt.name)) || strings.Contains(msg, "\n") {
			t.Errorf("%s %q: error %q, want one line naming it, with %q", tt.what, tt.name, msg, tt.err)
		}
	}
}

func TestArgs(t *testing.T) {
	for _, tt := range []struct {
		args []string
		bad  int // 1-based index of the refused argument; 0: accepted
	}{
		{[]string{"vmss", "run-command", "invoke", "-g", "MC_rg", "-n", "vmss", "--scripts", "# a script\nn=0\nk '/x=@y'\n"}, 0},
		{[]string{"a@b", "x=y@z", "mail=me@example.com"}, 0},
		{[]string{"-g", tokenCache}, 2},
		{[]string{"-g", "@"}, 2},
		{[]string{"--scripts", "@script.sh"}, 2},
		{[]string{"--resource-group=@msal_token_cache.json"}, 1},
		{[]string{"-n", "x", "rg=@~/.azure/msal_token_cache.json"}, 3},
		{[]string{"--scripts", "echo=@~/.azure/msal_token_cache.json\nmore"}, 2},
		{[]string{"--scripts", "@x=y"}, 2},
	} {
		err := Args(tt.args)
		switch {
		case tt.bad == 0 && err != nil:
			t.Errorf("%q: %v", tt.args, err)
		case tt.bad > 0 && (err == nil || !strings.Contains(err.Error(), "az argument "+string(rune('0'+tt.bad))+" ") || !strings.Contains(err.Error(), "would make az read a local file")):
			t.Errorf("%q: %v, want argument %d refused", tt.args, err, tt.bad)
		}
	}
	long := "@" + strings.Repeat("x", 500)
	if err := Args([]string{long}); err == nil || len(err.Error()) > 250 {
		t.Errorf("a long argument: %v", err)
	}
}
