// Package cli builds and runs the root command of a kubecerts plugin binary:
// kubectl's global flags (genericclioptions.ConfigFlags), klog's -v, the
// version command, completion of flags whose values are cluster objects, a
// context cancelled on SIGINT and SIGTERM, and the one place where an error
// becomes a message on stderr and an exit status.
package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/klog/v2"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// Plugin describes one plugin binary.
type Plugin struct {
	// Name is the plugin's name as kubectl calls it: certs, ca-trust, rotate.
	// The binary is kubectl-<Name with dashes as underscores>.
	Name string
	// Short and Long are the root command's help.
	Short string
	Long  string
	// Commands builds the plugin's subcommands on the shared factory.
	Commands func(f cmdutil.Factory, streams genericiooptions.IOStreams) []*cobra.Command
}

// Binary is the executable's name: kubectl-ca_trust for ca-trust.
func (p Plugin) Binary() string { return "kubectl-" + strings.ReplaceAll(p.Name, "-", "_") }

// DisplayName is how users call it: kubectl ca-trust.
func (p Plugin) DisplayName() string { return "kubectl " + p.Name }

// NewRootCommand builds the plugin's root command with kubectl's global
// flags bound once on its persistent flags, and the factory every subcommand
// shares created before any subcommand is.
func NewRootCommand(p Plugin, streams genericiooptions.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   p.Binary(),
		Short: p.Short,
		Long:  p.Long,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: p.DisplayName(),
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		// The root does nothing by itself but print its help.
		Run: func(cmd *cobra.Command, args []string) { _ = cmd.Help() },
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return UsageErrorf(cmd, "unknown command %q for %q", args[0], p.DisplayName())
			}
			return nil
		},
	}
	// Global flags client-go would only reject deep inside a request, with
	// a message naming neither flag nor value, are checked before any
	// command runs.
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if v, err := cmd.Flags().GetString("request-timeout"); err == nil && v != "" {
			if _, err := clientcmd.ParseTimeout(v); err != nil {
				return UsageErrorf(cmd, "--request-timeout %q: give seconds (30) or a number with a unit (30s, 2m, 1h); 0 waits forever", v)
			}
		}
		if as, err := cmd.Flags().GetString("as"); err == nil && as == "" {
			for _, name := range []string{"as-group", "as-uid", "as-user-extra"} {
				if cmd.Flags().Changed(name) {
					return UsageErrorf(cmd, "--%s needs --as, the user to impersonate", name)
				}
			}
		}
		return nil
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)

	flags := root.PersistentFlags()
	flags.SetNormalizeFunc(cliflag.WarnWordSepNormalizeFunc)
	// No WithDeprecatedPasswordFlag: basic auth left the API server in
	// 1.19, and with it cli-runtime's loader would prompt on stdin for a
	// username when no kubeconfig is found (which `ca-trust add -` reads,
	// and a script never answers).
	configFlags := genericclioptions.NewConfigFlags(true).
		WithDiscoveryBurst(300).
		WithDiscoveryQPS(50.0).
		WithWarningPrinter(streams)
	configFlags.AddFlags(flags)
	matchVersionFlags := cmdutil.NewMatchVersionFlags(configFlags)
	matchVersionFlags.AddFlags(flags)
	addLogFlags(flags)
	f := cmdutil.NewFactory(matchVersionFlags)

	registerGlobalFlagCompletion(root, f)

	if p.Commands != nil {
		root.AddCommand(p.Commands(f, streams)...)
	}
	root.AddCommand(NewCmdVersion(p.Name, streams))
	root.AddCommand(newCmdOptions(streams.Out))
	// kubectl's help layout: global flags listed by "options", not by every
	// command's help.
	templates.ActsAsRootCommand(root, []string{"options"})
	useDisplayName(root, p)
	renderLongOnHelp(root)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return UsageErrorf(cmd, "%v", err)
	})
	return root
}

// renderLongOnHelp renders the long help (LongDesc) of the command whose
// help is shown, just before it is.
func renderLongOnHelp(root *cobra.Command) {
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		resolveLong(c)
		help(c, args)
	})
}

// useDisplayName makes help name the binary as users call it ("kubectl
// ca-trust …") where kubectl's help template names a command by its binary.
func useDisplayName(root *cobra.Command, p Plugin) {
	fix := func(s string) string { return strings.ReplaceAll(s, `"`+p.Binary()+" ", `"`+p.DisplayName()+" ") }
	help, usage := root.HelpFunc(), root.UsageFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		var buf bytes.Buffer
		out := c.OutOrStdout()
		c.SetOut(&buf)
		help(c, args)
		c.SetOut(out)
		_, _ = io.WriteString(out, fix(buf.String()))
	})
	root.SetUsageFunc(func(c *cobra.Command) error {
		var buf bytes.Buffer
		dest, out, errOut := c.OutOrStderr(), c.OutOrStdout(), c.ErrOrStderr()
		c.SetOut(&buf)
		c.SetErr(&buf)
		err := usage(c)
		c.SetOut(out)
		c.SetErr(errOut)
		_, _ = io.WriteString(dest, fix(buf.String()))
		return err
	})
}

// Main runs the plugin with the process's arguments and streams and returns
// the exit status; main is the only place that exits.
func Main(p Plugin) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	return Run(ctx, NewRootCommand(p, streams), os.Args[1:], streams.ErrOut)
}

// Run executes root with args and turns its outcome into an exit status,
// printing a failure to stderr as one `error: …` line (plus, for usage
// errors, a pointer to --help, as kubectl does).
func Run(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	defer klog.Flush()
	root.SetArgs(args)
	err := root.ExecuteContext(withRedactingLogger(ctx))
	if err == nil {
		return exitcode.OK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "error: interrupted")
		return exitcode.Error
	}
	if !exitcode.Silent(err) {
		fmt.Fprintln(stderr, "error: "+oneLine(err.Error()))
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "See '%s -h' for help and examples.\n", ue.command)
		}
	}
	return exitcode.FromError(err)
}

// oneLine folds a multi-line message (an aggregate of errors, say) into one
// line, so that every failure is a single `error: …` line, and escapes the
// control characters left in it: messages quote what a cluster or a file
// holds (a CSR's DNS names, a Secret's name, a path), and an escape sequence
// there must not reach the terminal, where it could rewrite or hide lines.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n") {
		var parts []string
		for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if l = strings.TrimSpace(l); l != "" {
				parts = append(parts, l)
			}
		}
		s = strings.Join(parts, "; ")
	}
	return escapeControl(s)
}

// escapeControl writes every control character of s but tab as a Go escape
// (\x1b, \u009b), and invalid UTF-8 as \ufffd.
func escapeControl(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r != '\t' && (unicode.IsControl(r) || r == utf8.RuneError) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || !unicode.IsControl(r) && r != utf8.RuneError:
			b.WriteRune(r)
		case r < 0x100 && r != utf8.RuneError:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

type usageError struct {
	command string
	err     error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// UsageErrorf reports a wrong use of cmd (a bad flag or argument); Run adds a
// pointer to cmd's --help.
func UsageErrorf(cmd *cobra.Command, format string, args ...interface{}) error {
	return &usageError{command: cmd.CommandPath(), err: fmt.Errorf(format, args...)}
}
