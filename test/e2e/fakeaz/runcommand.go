package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// maxStream is how much of each stream Azure keeps.
const maxStream = 4096

type call struct {
	group                  string // vm or vmss
	rg, name, instance     string
	commandID, script, sub string
	output, query          string
}

// runCommand answers az vm|vmss run-command invoke.
func runCommand(args []string) int {
	c, err := parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: %v\n", err)
		return 2
	}
	if loggedOut() {
		return report(errNotLoggedIn, false)
	}
	dir := c.nodeDir()
	if dir == "" {
		what := "virtualMachines/" + c.name
		if c.group == "vmss" {
			what = "virtualMachineScaleSets/" + c.name
		}
		msg := fmt.Sprintf("The Resource 'Microsoft.Compute/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", what, c.rg)
		if c.group == "vmss" && scaleSetExists(c) {
			msg = fmt.Sprintf("The resource 'Microsoft.Compute/virtualMachineScaleSets/%s/virtualMachines/%s' under resource group '%s' was not found.", c.name, c.instance, c.rg)
		}
		return azError("ResourceNotFound", msg)
	}
	if d, err := os.ReadFile(filepath.Join(dir, "slow")); err == nil {
		wait, err := time.ParseDuration(strings.TrimSpace(string(d)))
		if err != nil {
			wait = time.Minute
		}
		time.Sleep(wait)
	}
	switch {
	case exists(dir, "not-logged-in"):
		fmt.Fprintln(os.Stderr, "ERROR: Please run 'az login' to setup account.")
		return 1
	case exists(dir, "no-permission"):
		action := "Microsoft.Compute/virtualMachines/runCommand/action"
		scope := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s", c.sub, c.rg, c.name)
		if c.group == "vmss" {
			action = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action"
			scope = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/virtualMachines/%s", c.sub, c.rg, c.name, c.instance)
		}
		return azError("AuthorizationFailed", fmt.Sprintf("The client 'ops@kubecerts.example' with object id '6b8c3c2e-0000-4000-8000-000000000001' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.", action, scope))
	case exists(dir, "deallocated"):
		vm := c.name
		if c.group == "vmss" {
			vm = c.name + "_" + c.instance
		}
		return azError("OperationNotAllowed", fmt.Sprintf("Operation 'RunCommand' is not allowed on VM '%s' since the VM is deallocated or marked to be deallocated.", vm))
	}
	if p := os.Getenv("FAKEAZ_REPLY"); p != "" {
		reply, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fakeaz: %v\n", err)
			return 3
		}
		os.Stdout.Write(reply)
		return 0
	}
	v := value{Code: "ProvisioningState/succeeded", DisplayStatus: "Provisioning succeeded", Level: "Info"}
	if d, err := os.ReadFile(filepath.Join(dir, "provisioning-failed")); err == nil {
		v = value{Code: "ProvisioningState/failed", DisplayStatus: "Provisioning failed", Level: "Error", Message: strings.TrimSpace(string(d))}
		if v.Message == "" {
			v.Message = "VM has reported a failure when processing extension 'RunCommandLinux'. Error message: \"Enable failed: failed to download the script\"."
		}
	} else {
		stdout, stderr, status, err := runScript(dir, c.script, exists(dir, "no-openssl"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "fakeaz: %v\n", err)
			return 3
		}
		head := "Enable succeeded: "
		if status != 0 {
			head = fmt.Sprintf("Enable failed: failed to execute command: command terminated with exit status=%d", status)
			v = value{Code: fmt.Sprintf("ProvisioningState/failed/%d", status), DisplayStatus: "Provisioning failed", Level: "Error"}
		}
		v.Message = head + "\n[stdout]\n" + last(stdout) + "\n[stderr]\n" + last(stderr)
	}
	return answer(c, v)
}

func parse(args []string) (*call, error) {
	if len(args) < 3 || args[1] != "run-command" || args[2] != "invoke" || (args[0] != "vm" && args[0] != "vmss") {
		return nil, fmt.Errorf("'%s' is misspelled or not recognized by the system (%s)", strings.Join(args, " "), knownCommands)
	}
	c := &call{group: args[0], output: "json"}
	for i := 3; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "-g" || a == "--resource-group":
			c.rg = val()
		case a == "-n" || a == "--name" || a == "--vmss-name":
			c.name = val()
		case a == "--instance-id":
			c.instance = val()
		case a == "--command-id":
			c.commandID = val()
		case a == "--subscription":
			c.sub = val()
		case a == "-o" || a == "--output":
			c.output = val()
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			c.output = a[2:]
		case a == "--query":
			c.query = val()
		case a == "--scripts":
			var lines []string
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				lines = append(lines, args[i])
			}
			c.script = strings.Join(lines, "\n")
		default:
			return nil, fmt.Errorf("unrecognized arguments: %s", a)
		}
	}
	var missing []string
	if c.rg == "" {
		missing = append(missing, "--resource-group/-g")
	}
	if c.name == "" {
		missing = append(missing, "--name/-n")
	}
	if c.group == "vmss" && c.instance == "" {
		missing = append(missing, "--instance-id")
	}
	if c.commandID == "" {
		missing = append(missing, "--command-id")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	if c.commandID != "RunShellScript" {
		return nil, fmt.Errorf("fakeaz runs only --command-id RunShellScript, not %q", c.commandID)
	}
	if c.output != "json" && c.output != "tsv" {
		return nil, fmt.Errorf("fakeaz prints only -o json or tsv, not %q", c.output)
	}
	return c, nil
}

func (c *call) nodeDir() string {
	root := os.Getenv("FAKEAZ_ROOT")
	var dir string
	if c.group == "vmss" {
		dir = filepath.Join(root, strings.ToLower(c.rg), "vmss", strings.ToLower(c.name), c.instance)
	} else {
		dir = filepath.Join(root, strings.ToLower(c.rg), "vm", strings.ToLower(c.name))
	}
	if root != "" && isDir(dir) {
		return dir
	}
	if d := os.Getenv("FAKEAZ_DEFAULT_NODE"); d != "" && isDir(d) {
		return d
	}
	return ""
}

func scaleSetExists(c *call) bool {
	return isDir(filepath.Join(os.Getenv("FAKEAZ_ROOT"), strings.ToLower(c.rg), "vmss", strings.ToLower(c.name)))
}

// runScript runs the script with bash (or $FAKEAZ_SHELL) against dir, as
// root would on the VM.
func runScript(dir, script string, noOpenSSL bool) (stdout, stderr string, status int, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", 0, err
	}
	for _, p := range []string{"/etc/kubernetes", "/var/lib/kubelet"} {
		script = strings.ReplaceAll(script, p, abs+p)
	}
	shell := "bash"
	if sh := os.Getenv("FAKEAZ_SHELL"); sh != "" {
		shell = sh
	}
	cmd := exec.Command(shell, "-c", script)
	cmd.Dir = abs
	env := os.Environ()
	if noOpenSSL {
		bin, err := toolsWithoutOpenSSL()
		if err != nil {
			return "", "", 0, err
		}
		defer os.RemoveAll(bin)
		env = append(env, "PATH="+bin)
	}
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			return "", "", 0, err
		}
		status = ee.ExitCode()
	}
	back := func(s string) string { return strings.ReplaceAll(s, abs, "") }
	return back(out.String()), back(errOut.String()), status, nil
}

// toolsWithoutOpenSSL makes a PATH directory with the usual tools and no
// openssl.
func toolsWithoutOpenSSL() (string, error) {
	bin, err := os.MkdirTemp("", "fakeaz-path-")
	if err != nil {
		return "", err
	}
	for _, t := range []string{"sh", "bash", "date", "tr", "head", "tail", "cut", "grep", "sed", "cat", "printf", "echo", "sleep", "ls", "awk", "env", "mv", "rm", "wc", "sort"} {
		if p, err := exec.LookPath(t); err == nil {
			_ = os.Symlink(p, filepath.Join(bin, t))
		}
	}
	return bin, nil
}

// last keeps the last 4,096 bytes, as Azure does.
func last(s string) string {
	if len(s) > maxStream {
		return s[len(s)-maxStream:]
	}
	return s
}

// value is one element of the answer's value list, in az's key order.
type value struct {
	Code          string  `json:"code"`
	DisplayStatus string  `json:"displayStatus"`
	Level         string  `json:"level"`
	Message       string  `json:"message"`
	Time          *string `json:"time"`
}

func answer(c *call, v value) int {
	if c.output == "tsv" {
		if c.query == "value[0].message" {
			fmt.Println(v.Message)
			return 0
		}
		fmt.Printf("%s\t%s\t%s\t%s\tNone\n", v.Code, v.DisplayStatus, v.Level, v.Message)
		return 0
	}
	var out any = map[string][]value{"value": {v}}
	switch c.query {
	case "":
	case "value[0].message":
		out = v.Message
	case "value":
		out = []value{v}
	default:
		fmt.Fprintf(os.Stderr, "ERROR: fakeaz does not know the query %q\n", c.query)
		return 2
	}
	enc := json.NewEncoder(os.Stdout) // az prints <, > and & as they are
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		return 1
	}
	return 0
}
