package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubecerts/kubecerts/plugins/certs/source/runcommand"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/azname"
)

// Defaults of the nodes source.
const (
	DefaultAzPath       = az.DefaultPath
	DefaultNodeParallel = 10
	DefaultNodeTimeout  = 5 * time.Minute
	// maxCapturedOutput bounds --run-command-output.
	maxCapturedOutput = 64 << 20
)

// Nodes reports the certificates on AKS nodes: it lists the Nodes, and runs
// one script per node through Azure's run command (az vmss|vm run-command
// invoke), or reads run-command output captured earlier. Windows nodes and
// nodes that are not Azure VMs are skipped.
type Nodes struct {
	// Scope lists the nodes (its label and field selectors apply); unused
	// with Captured.
	Scope *Scope
	// Names picks nodes by name (--node). With Captured, the one name is
	// that of output without "### node:" lines, and several pick nodes
	// from the capture.
	Names []string
	// ExtraPaths are files to check besides DefaultNodeFiles
	// (--node-cert-path); absent ones are errors. With Captured, they name
	// the files of output that does not name them, in order.
	ExtraPaths []string
	// AzPath is the Azure CLI, a path or a name looked up on PATH.
	AzPath   string
	Parallel int
	// Timeout is how long one node's az call may take.
	Timeout time.Duration
	// Captured is the --run-command-output file, or "-" for Stdin.
	Captured string
	Stdin    io.Reader
	// NodeResourceGroups are the resource groups whose VMs the script may
	// run on (--node-resource-group); when empty, the node resource group
	// of the AKS cluster whose API server is Scope.Host.
	NodeResourceGroups []ResourceGroup
}

// NodesSource is the nodes source's name.
const NodesSource = "nodes"

// Name implements Source.
func (s *Nodes) Name() string { return NodesSource }

// Collect implements Source.
func (s *Nodes) Collect(ctx context.Context, sink Sink) {
	if s.Captured != "" {
		s.collectCaptured(sink)
		return
	}
	targets := s.targets(ctx, sink)
	if len(targets) == 0 {
		return
	}
	azPath := s.AzPath
	if azPath == "" {
		azPath = DefaultAzPath
	}
	runner := az.Runner{Path: azPath}
	if err := runner.Resolve(); err != nil {
		// Resolve's error, with the number of nodes it leaves unchecked.
		sink.Error(s.Name(), "az", fmt.Errorf("the Azure CLI is needed to check %d node(s) and %q is not found: install it (https://aka.ms/azure-cli) or give --az-path (%v)", len(targets), azPath, errors.Unwrap(err)))
		return
	}
	groups, err := s.nodeResourceGroups(ctx, runner.Path)
	if err != nil {
		for _, t := range targets {
			sink.Error(s.Name(), nodeLocation(t.node, ""), err)
		}
		return
	}
	targets = s.inGroups(sink, targets, groups)
	script := NodeScript(s.ExtraPaths)
	parallel := max(s.Parallel, 1)
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultNodeTimeout
	}
	work := make(chan nodeTarget)
	var wg sync.WaitGroup
	for i := 0; i < min(parallel, len(targets)); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				s.checkNode(ctx, sink, runner.Path, timeout, script, t)
			}
		}()
	}
	for _, t := range targets {
		if ctx.Err() != nil {
			sink.Error(s.Name(), nodeLocation(t.node, ""), ctx.Err())
			continue
		}
		work <- t
	}
	close(work)
	wg.Wait()
}

// nodeTarget is a node to run the script on.
type nodeTarget struct {
	node   string
	object *api.ObjectReference
	vm     AzureVM
}

// nodeRef refers to a Node: the object node and kubelet certificates are
// reported on.
func nodeRef(n *corev1.Node) *api.ObjectReference {
	return objectRef(n, "v1", "Node", "")
}

func nodeLocation(node, file string) string {
	if file == "" {
		return "node/" + node
	}
	return "node/" + node + ":" + file
}

// targets lists the nodes and keeps those to run on; the others are
// skipped or errors.
func (s *Nodes) targets(ctx context.Context, sink Sink) []nodeTarget {
	nodes := selectNodes(ctx, sink, s.Name(), s.Scope, s.Names)
	var out []nodeTarget
	for _, n := range nodes {
		loc := nodeLocation(n.Name, "")
		if isWindows(n) {
			sink.Skipped(s.Name(), loc, "a Windows node: the check is a shell script with openssl (RunShellScript); Windows nodes are not checked")
			continue
		}
		id := n.Spec.ProviderID
		if _, ok := cutPrefixFold(id, "azure://"); !ok {
			why := "not an Azure VM: no spec.providerID"
			if id != "" {
				why = fmt.Sprintf("not an Azure VM: providerID %q", id)
			}
			sink.Skipped(s.Name(), loc, why)
			continue
		}
		vm, err := ParseProviderID(id)
		if err != nil {
			sink.Error(s.Name(), loc, err)
			continue
		}
		out = append(out, nodeTarget{node: n.Name, object: nodeRef(n), vm: vm})
	}
	return s.unclaimedTwice(sink, out)
}

// inGroups drops, each an error, the targets whose VM is in none of
// groups: a providerID naming a VM elsewhere (in any resource group or
// subscription az can reach) would have the script run there, as the
// operator.
func (s *Nodes) inGroups(sink Sink, targets []nodeTarget, groups []ResourceGroup) []nodeTarget {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.String()
	}
	var out []nodeTarget
	for _, t := range targets {
		if slices.ContainsFunc(groups, func(g ResourceGroup) bool { return g.holds(t.vm) }) {
			out = append(out, t)
			continue
		}
		sink.Error(s.Name(), nodeLocation(t.node, ""), fmt.Errorf("%s is not in the cluster's node resource group %s: a providerID is the node's own claim, so the script runs only there (--node-resource-group names others)",
			t.vm, strings.Join(names, ", ")))
	}
	return out
}

// unclaimedTwice drops the targets whose VM another target names too, each
// an error naming the others. A Node's providerID is what its kubelet (or
// whoever registered it) wrote: a second Node naming a VM is a claim
// against it, and running the script once for each would report one VM's
// certificates under two nodes (one of them masking its own). Which claim
// is true cannot be told from the Nodes, so neither is run.
func (s *Nodes) unclaimedTwice(sink Sink, targets []nodeTarget) []nodeTarget {
	byVM := map[string][]string{}
	for _, t := range targets {
		byVM[t.vm.key()] = append(byVM[t.vm.key()], t.node)
	}
	var out []nodeTarget
	for _, t := range targets {
		nodes := byVM[t.vm.key()]
		if len(nodes) == 1 {
			out = append(out, t)
			continue
		}
		var others []string
		for _, n := range nodes {
			if n != t.node {
				others = append(others, n)
			}
		}
		sink.Error(s.Name(), nodeLocation(t.node, ""), fmt.Errorf("%s is named by the providerID of Node %s too: a providerID is the node's own claim, so none of them is checked",
			t.vm, strings.Join(others, ", ")))
	}
	return out
}

// selectNodes lists the Nodes of scope (its label and field selectors
// apply), keeps those of names (--node; all when empty) and returns them
// sorted by name; a name matching no Node is an error of source.
func selectNodes(ctx context.Context, sink Sink, source string, scope *Scope, names []string) []*corev1.Node {
	if scope == nil || scope.Client == nil {
		sink.Error(source, "nodes", errors.New("no cluster to list the nodes of"))
		return nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	seen := map[string]bool{}
	var nodes []*corev1.Node
	list := func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
		return scope.Client.CoreV1().Nodes().List(ctx, o)
	}
	opts := metav1.ListOptions{LabelSelector: scope.LabelSelector, FieldSelector: scope.FieldSelector}
	scope.each(ctx, sink, source, "nodes", false, list, opts, func(obj runtime.Object) {
		n, ok := obj.(*corev1.Node)
		if !ok || len(want) > 0 && !want[n.Name] {
			return
		}
		seen[n.Name] = true
		nodes = append(nodes, n)
	})
	for _, n := range names {
		if !seen[n] {
			why := "no such node"
			if scope.LabelSelector != "" || scope.FieldSelector != "" {
				why = "no such node matches the selectors"
			}
			sink.Error(source, nodeLocation(n, ""), errors.New(why))
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes
}

func isWindows(n *corev1.Node) bool {
	return strings.EqualFold(n.Labels[corev1.LabelOSStable], "windows") || strings.EqualFold(n.Status.NodeInfo.OperatingSystem, "windows")
}

// checkNode runs the script on one node through az (azPath, resolved) and
// reports what it printed.
func (s *Nodes) checkNode(ctx context.Context, sink Sink, azPath string, timeout time.Duration, script string, t nodeTarget) {
	args := t.vm.RunCommandArgs(script)
	loc := nodeLocation(t.node, "")
	// ParseProviderID checked the names; this checks them again, and the
	// arguments (as az.Runner does too), with errors that name the VM: no
	// argument may make az read a file.
	if err := t.vm.Validate(); err != nil {
		sink.Error(s.Name(), loc, err)
		return
	}
	if err := azname.Args(args); err != nil {
		sink.Error(s.Name(), loc, fmt.Errorf("not running az for %s: %v", t.vm, err))
		return
	}
	runner := az.Runner{Path: azPath, Timeout: timeout, TimeoutHint: "--node-timeout"}
	stdout, err := runner.Run(ctx, args...)
	if err != nil {
		if ctx.Err() != nil {
			sink.Error(s.Name(), loc, ctx.Err())
			return
		}
		sink.Error(s.Name(), loc, describeAzError(t.vm, err))
		return
	}
	out, err := runcommand.Parse(stdout)
	if err != nil {
		sink.Error(s.Name(), loc, fmt.Errorf("az answered for %s with something that is not run-command output: %v", t.vm, err))
		return
	}
	s.report(sink, t.node, t.object, out)
}

// collectCaptured reads --run-command-output: one node's output, or several
// each after a "### node: NAME" line.
func (s *Nodes) collectCaptured(sink Sink) {
	var (
		data []byte
		err  error
	)
	from := s.Captured
	if from == "-" {
		from = "standard input"
		if s.Stdin == nil {
			err = errors.New("no standard input")
		} else {
			data, err = io.ReadAll(io.LimitReader(s.Stdin, maxCapturedOutput+1))
		}
	} else {
		var f *os.File
		if f, err = os.Open(s.Captured); err == nil {
			data, err = io.ReadAll(io.LimitReader(f, maxCapturedOutput+1))
			f.Close()
		}
	}
	if err == nil && len(data) > maxCapturedOutput {
		err = fmt.Errorf("larger than %d MiB", maxCapturedOutput>>20)
	}
	if err == nil && (bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data)) {
		err = errors.New("binary data, not the output of az run-command invoke (JSON or tsv)")
	}
	if err != nil {
		sink.Error(s.Name(), from, err)
		return
	}
	chunks := runcommand.Split(data)
	if len(chunks) == 0 {
		sink.Error(s.Name(), from, runcommand.ErrEmpty)
		return
	}
	want := map[string]bool{}
	for _, n := range s.Names {
		want[n] = true
	}
	allNamed := chunksNamed(chunks)
	seen := map[string]bool{}
	for _, c := range chunks {
		name := c.Node
		switch {
		case name == "" && len(s.Names) != 1:
			sink.Error(s.Name(), from, fmt.Errorf("output for an unnamed node (line %d): name it with --node NAME, or put a line \"### node: NAME\" before each node's output", c.Line))
			continue
		case name == "":
			name = s.Names[0]
		case allNamed && len(want) > 0 && !want[name]:
			continue // --node picks nodes from the capture
		}
		seen[name] = true
		out, err := runcommand.Parse(c.Data)
		if err != nil {
			sink.Error(s.Name(), nodeLocation(name, ""), fmt.Errorf("%s, line %d: %v", from, c.Line, err))
			continue
		}
		// What the output says is wrong is said of the capture, which
		// is the input the user gave.
		s.report(capturedSink{sink, fmt.Sprintf("%s, line %d", from, c.Line)}, name, nil, out)
	}
	for _, n := range s.Names {
		if !seen[n] {
			sink.Error(s.Name(), nodeLocation(n, ""), fmt.Errorf("not in %s", from))
		}
	}
}

// capturedSink is a Sink whose errors name the captured output they were
// found in.
type capturedSink struct {
	Sink
	from string
}

func (c capturedSink) Error(source, location string, err error) {
	c.Sink.Error(source, location, fmt.Errorf("%s: %w", c.from, err))
}

// chunksNamed is true when every chunk names its node.
func chunksNamed(chunks []runcommand.Chunk) bool {
	for _, c := range chunks {
		if c.Node == "" {
			return false
		}
	}
	return true
}

// report turns one node's parsed output into entries, skipped files and
// errors.
func (s *Nodes) report(sink Sink, node string, object *api.ObjectReference, out *runcommand.Output) {
	name := s.Name()
	loc := nodeLocation(node, "")
	explained := false
	for _, p := range out.Problems {
		switch p.Kind {
		case runcommand.OpenSSLMissing:
			sink.Error(name, loc, fmt.Errorf("openssl is not installed on the node, and the check needs it (%s)", p.Message))
		case runcommand.FileMissing:
			s.absent(sink, node, p.Path, p.Message)
		default:
			sink.Error(name, loc, fmt.Errorf("the script on the node failed: %s", p.Message))
		}
		explained = true
	}
	unnamed := 0
	for _, f := range out.Files {
		switch f.Kind {
		case runcommand.Absent:
			s.absent(sink, node, f.Path, "")
		case runcommand.Unreadable:
			sink.Error(name, nodeLocation(node, f.Path), fmt.Errorf("openssl could not read a certificate from it: %s", orDefault(f.Message, "no message")))
		case runcommand.Cert:
			file, notes := f.Path, []string(nil)
			if file == "" {
				if unnamed < len(s.ExtraPaths) {
					file = s.ExtraPaths[unnamed]
				} else {
					notes = append(notes, "the output does not name the file: give it with --node-cert-path")
				}
				unnamed++
			}
			l := nodeLocation(node, file)
			if file == "" && countUnnamed(out.Files) > 1 {
				l = fmt.Sprintf("%s [%d]", loc, unnamed-1)
			}
			if f.SubjectCut {
				notes = append(notes, fmt.Sprintf("the subject may be cut: the node sends its first %d bytes", runcommand.SubjectMax))
			}
			desc := &api.Certificate{
				Subject:           f.Subject,
				SHA256Fingerprint: f.SHA256,
				NotAfter:          metav1.NewTime(f.NotAfter),
			}
			if !f.NotBefore.IsZero() {
				desc.NotBefore = metav1.NewTime(f.NotBefore)
			}
			baseName := ""
			if file != "" {
				baseName = path.Base(file)
			}
			sink.Found(name, Found{Description: desc, Location: l, Name: baseName, Object: object, Notes: notes})
		}
	}
	if out.Lost != nil {
		what := "some file lines were lost"
		switch {
		case out.Lost.Lines > 0 && out.Lost.Of > 0:
			what = fmt.Sprintf("%d of %d file lines were lost, those files are not checked", out.Lost.Lines, out.Lost.Of)
		case out.Lost.Lines > 0:
			what = fmt.Sprintf("%d file lines were lost, those files are not checked", out.Lost.Lines)
		}
		if out.Lost.Partial != "" {
			what += fmt.Sprintf("; the first line kept was cut: %q", clipString(out.Lost.Partial, 120))
		}
		sink.Error(name, loc, fmt.Errorf("output cut: Azure keeps only the last %d bytes of a run command's output: %s", runcommand.MaxOutput, what))
		explained = true
	} else if out.Script && !out.Complete {
		sink.Error(name, loc, errors.New("the node script's output ends early (no \"#kubecerts-end\" line): it was stopped, or its output is incomplete"))
		explained = true
	}
	if out.Status.Failed() && !explained {
		status := orDefault(strings.TrimSpace(out.Status.Message), orDefault(out.Status.DisplayStatus, out.Status.Code))
		sink.Error(name, loc, fmt.Errorf("the run command failed on the VM: %s", status))
		explained = true
	}
	if len(out.Files) == 0 && !explained {
		what := "no [stdout] section"
		switch {
		case len(out.Unrecognized) > 0:
			what = fmt.Sprintf("first line %q", out.Unrecognized[0])
		case out.Sections:
			what = "[stdout] is empty"
		}
		sink.Error(name, loc, fmt.Errorf("the run-command output reports no certificate (%s)", what))
	}
}

// absent reports a file the node lacks: a default one is skipped, any other
// is an error.
func (s *Nodes) absent(sink Sink, node, file, message string) {
	extra := false
	for _, p := range s.ExtraPaths {
		if p == file {
			extra = true
		}
	}
	if file == "" {
		if len(s.ExtraPaths) == 1 {
			file, extra = s.ExtraPaths[0], true
		} else {
			sink.Error(s.Name(), nodeLocation(node, ""), fmt.Errorf("a file is missing on the node: %s", message))
			return
		}
	}
	loc := nodeLocation(node, file)
	switch {
	case !extra && file == NodeCertsGlob:
		sink.Skipped(s.Name(), loc, "no *.crt file in "+path.Dir(NodeCertsGlob)+" on the node")
	case !extra && isDefaultNodeFile(file):
		sink.Skipped(s.Name(), loc, "not on the node")
	default:
		sink.Error(s.Name(), loc, errors.New("no such file on the node"))
	}
}

func countUnnamed(files []runcommand.File) int {
	n := 0
	for _, f := range files {
		if f.Kind == runcommand.Cert && f.Path == "" {
			n++
		}
	}
	return n
}
