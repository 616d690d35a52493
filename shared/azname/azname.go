// Package azname checks the Azure names kubecerts hands to the Azure CLI (az)
// against Azure's naming rules, before az is run.
//
// The names are input to distrust: a Node's spec.providerID is written by
// whoever controls the node. az reads an argument that starts with '@', or
// whose text after its first '=' does, from the file it names
// (`@~/.azure/msal_token_cache.json` is az's own token cache) and sends what
// it read to Azure; and an argument that starts with '-' is an option. A name
// that passes these checks can do neither, nor name another resource ('/',
// "..", '%'). Args checks a whole argument list for the '@' forms, as the
// last line of defence before az runs.
//
// The rules are Azure's
// (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules),
// narrowed where a rule says so. Every error quotes the value and says which
// rule it breaks.
package azname

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kubecerts/kubecerts/shared/lazyregexp"
)

var guid = lazyregexp.New(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// Subscription checks a subscription ID: a GUID
// (8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8).
func Subscription(id string) error {
	if !guid.MatchString(id) {
		return fmt.Errorf("subscription %q: %snot a subscription ID (a GUID such as 8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8)", id, atNote(id))
	}
	return nil
}

// MaxResourceGroup is the longest resource group name, in characters.
const MaxResourceGroup = 90

// ResourceGroup checks a resource group name: 1 to 90 letters (Unicode
// letters, as Azure allows), digits, '_', '-', '.', '(' and ')', not ending
// in '.'. Narrower than Azure: not starting with '-', which az would read as
// an option.
func ResourceGroup(name string) error {
	const what = "resource group"
	const allowed = "letters, digits, '_', '-', '.', '(' and ')'"
	if err := common(what, name, MaxResourceGroup); err != nil {
		return err
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.()", r) {
			return badRune(what, name, r, allowed)
		}
	}
	switch {
	case strings.HasSuffix(name, "."):
		return fmt.Errorf("%s %q: ends with '.', which Azure does not allow", what, name)
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("%s %q: starts with '-', which az would read as an option", what, name)
	}
	return nil
}

// MaxVMName is the longest name of a Linux VM or scale set, in characters.
const MaxVMName = 64

// VirtualMachine checks the name of a VM (Microsoft.Compute/virtualMachines):
// see computeName.
func VirtualMachine(name string) error { return computeName("VM", name) }

// ScaleSet checks the name of a scale set
// (Microsoft.Compute/virtualMachineScaleSets): see computeName.
func ScaleSet(name string) error { return computeName("scale set", name) }

// computeName checks a VM or scale-set name: 1 to 64 ASCII letters,
// digits, '_', '-' and '.', starting with a letter or digit, not ending in
// '.' or '-'. Azure forbids fewer characters (its rule is a list of
// forbidden ones); the names AKS gives are of these.
func computeName(what, name string) error {
	const allowed = "ASCII letters, digits, '_', '-' and '.'"
	if err := common(what, name, MaxVMName); err != nil {
		return err
	}
	for _, r := range name {
		if !isASCIIAlnum(r) && r != '_' && r != '-' && r != '.' {
			return badRune(what, name, r, allowed)
		}
	}
	if r := rune(name[0]); !isASCIIAlnum(r) {
		return fmt.Errorf("%s %q: starts with %q: it must start with a letter or digit", what, name, r)
	}
	if r := rune(name[len(name)-1]); r == '.' || r == '-' {
		return fmt.Errorf("%s %q: ends with %q, which Azure does not allow", what, name, r)
	}
	return nil
}

// InstanceID checks the instance ID of a scale-set VM: decimal digits (at
// most 10).
func InstanceID(id string) error {
	ok := id != "" && len(id) <= 10
	for i := 0; ok && i < len(id); i++ {
		ok = id[i] >= '0' && id[i] <= '9'
	}
	if !ok {
		return fmt.Errorf("scale-set instance ID %q: %snot a number (decimal digits)", id, atNote(id))
	}
	return nil
}

// Args checks az's arguments: none may make az read a file, that is start
// with '@', or have '@' right after its first '='. A long argument (a
// script) is quoted in part.
func Args(args []string) error {
	for i, a := range args {
		if ReadsFile(a) {
			return fmt.Errorf("az argument %d %s would make az read a local file and send it to Azure ('@' at its start or after its first '=')", i+1, clipQuote(a, 80))
		}
	}
	return nil
}

// ReadsFile is true for an argument az may replace with the content of a
// file: "@PATH", or "NAME=@PATH" (anything before the first '='). It errs
// on the safe side: az reads no file for "@" alone or for "@A=B", and
// ReadsFile is true for both.
func ReadsFile(arg string) bool {
	_, after, hasEq := strings.Cut(arg, "=")
	return strings.HasPrefix(arg, "@") || hasEq && strings.HasPrefix(after, "@")
}

// common checks what every name shares: not empty, not too long, UTF-8, and
// an '@' at the start said for what it is.
func common(what, name string, maxLen int) error {
	switch n := utf8.RuneCountInString(name); {
	case name == "":
		return fmt.Errorf("%s name is empty", what)
	case !utf8.ValidString(name):
		return fmt.Errorf("%s %q: not valid UTF-8", what, name)
	case strings.HasPrefix(name, "@"):
		return fmt.Errorf("%s %q: starts with '@', which would make az read the file it names and send it to Azure", what, name)
	case n > maxLen:
		return fmt.Errorf("%s %q: %d characters, longer than Azure's %d", what, name, n, maxLen)
	}
	return nil
}

func badRune(what, name string, r rune, allowed string) error {
	return fmt.Errorf("%s %q: has %q (%U), which Azure does not allow in the name (only %s)", what, name, r, r, allowed)
}

// atNote says what a leading '@' would do, for the checks whose rule does
// not say it.
func atNote(s string) string {
	if strings.HasPrefix(s, "@") {
		return "starts with '@', which would make az read the file it names; "
	}
	return ""
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// clipQuote quotes s, cut to n bytes (on a rune boundary) with "…" after.
func clipQuote(s string, n int) string {
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%q…", s[:n])
}
