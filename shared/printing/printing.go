// Package printing prints the objects commands build: a table for people
// (the default, and -o wide with more columns), and json, yaml, name,
// jsonpath and go-template for scripts through k8s.io/cli-runtime's printers.
// JSON and YAML always carry apiVersion kubecerts.io/v1alpha1 and a kind.
//
// Commands build objects of shared/api/v1alpha1; an object printed as a table
// implements Tabler, one printed with -o name implements Namer.
package printing

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/fserr"
)

// Tabler is an object that can be shown as a table. Columns with a Priority
// above 0 are shown only with -o wide.
type Tabler interface {
	Table() *metav1.Table
}

// Namer is an object that can be printed with -o name: one line per name.
type Namer interface {
	Names() []string
}

// PrintFlags are the output flags of every command that prints an object:
// -o/--output, --no-headers, and the template flags of kubectl.
type PrintFlags struct {
	*genericclioptions.PrintFlags
	NoHeaders bool
	// Extra are the formats a command adds to these, by -o value
	// (kubectl certs check's prometheus).
	Extra map[string]printers.ResourcePrinter
}

// NewPrintFlags returns the output flags with the table as default.
func NewPrintFlags() *PrintFlags {
	return &PrintFlags{PrintFlags: genericclioptions.NewPrintFlags("").WithTypeSetter(api.Scheme)}
}

// AllowedFormats lists the values -o accepts.
func (f *PrintFlags) AllowedFormats() []string {
	extra := make([]string, 0, len(f.Extra))
	for name := range f.Extra {
		extra = append(extra, name)
	}
	sort.Strings(extra)
	return append(append([]string{"wide"}, f.PrintFlags.AllowedFormats()...), extra...)
}

// AddFlags binds the output flags to cmd.
func (f *PrintFlags) AddFlags(cmd *cobra.Command) {
	f.PrintFlags.AddFlags(cmd)
	if out := cmd.Flags().Lookup("output"); out != nil {
		out.Usage = fmt.Sprintf("Output format: a table if empty, or one of (%s).", strings.Join(f.AllowedFormats(), ", "))
	}
	cmd.Flags().BoolVar(&f.NoHeaders, "no-headers", false, "When using the default or wide output format, don't print headers.")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return f.AllowedFormats(), cobra.ShellCompDirectiveNoFileComp
	})
}

// Format is the output format asked for, lower-cased; "" is the table.
func (f *PrintFlags) Format() string {
	if f.OutputFormat == nil {
		return ""
	}
	return strings.ToLower(*f.OutputFormat)
}

// Machine reports whether the output is for scripts rather than people
// (anything but the table), so that progress and notes stay off stderr's
// way.
func (f *PrintFlags) Machine() bool {
	out := f.Format()
	return out != "" && out != "wide"
}

// ToPrinter returns the printer for the flags, or an error naming the bad
// --output value and the allowed ones.
func (f *PrintFlags) ToPrinter() (printers.ResourcePrinter, error) {
	out := f.Format()
	templateGiven := f.TemplatePrinterFlags != nil && f.TemplatePrinterFlags.TemplateArgument != nil &&
		*f.TemplatePrinterFlags.TemplateArgument != ""
	switch {
	case out == "" && !templateGiven, out == "wide":
		return &TablePrinter{Options: printers.PrintOptions{Wide: out == "wide", NoHeaders: f.NoHeaders}}, nil
	case out == "name":
		return NamePrinter{}, nil
	case f.Extra[out] != nil && !templateGiven:
		return f.Extra[out], nil
	}
	if err := f.checkTemplateFile(); err != nil {
		return nil, err
	}
	p, err := f.PrintFlags.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return nil, fmt.Errorf("--output %q: unknown format; use one of: %s", *f.OutputFormat, strings.Join(f.AllowedFormats(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("--output %q: %w", *f.OutputFormat, err)
	}
	if out == "json" {
		return newJSONPrinter(p), nil
	}
	return p, nil
}

// checkTemplateFile reads the file of -o go-template-file / jsonpath-file
// (given after "=" or with --template) up front: cli-runtime's message for an
// unreadable one names the path three times and flattens the cause.
func (f *PrintFlags) checkTemplateFile() error {
	if f.OutputFormat == nil {
		return nil
	}
	out := *f.OutputFormat
	format, path, inline := strings.Cut(out, "=")
	if !strings.HasSuffix(strings.ToLower(format), "-file") {
		return nil
	}
	input := fmt.Sprintf("--output %q", out)
	if !inline {
		if f.TemplatePrinterFlags == nil || f.TemplatePrinterFlags.TemplateArgument == nil ||
			*f.TemplatePrinterFlags.TemplateArgument == "" {
			return nil // cli-runtime asks for the template
		}
		path = *f.TemplatePrinterFlags.TemplateArgument
		input = fmt.Sprintf("--template %q", path)
	}
	if _, err := os.ReadFile(path); err != nil {
		return fmt.Errorf("%s: cannot read the template file: %w", input, fserr.Cause(err))
	}
	return nil
}

// TablePrinter prints a Tabler through cli-runtime's table printer, the one
// kubectl get uses.
type TablePrinter struct {
	Options printers.PrintOptions
}

// PrintObj prints obj as a table.
func (p *TablePrinter) PrintObj(obj runtime.Object, w io.Writer) error {
	t, ok := obj.(Tabler)
	if !ok {
		return fmt.Errorf("%T cannot be printed as a table; use -o json or -o yaml", obj)
	}
	return printers.NewTablePrinter(p.Options).PrintObj(t.Table(), w)
}

// NamePrinter prints the names of a Namer, one a line.
type NamePrinter struct{}

// PrintObj prints obj's names.
func (NamePrinter) PrintObj(obj runtime.Object, w io.Writer) error {
	n, ok := obj.(Namer)
	if !ok {
		return fmt.Errorf("-o name is not supported for %T", obj)
	}
	for _, name := range n.Names() {
		if _, err := fmt.Fprintln(w, name); err != nil {
			return err
		}
	}
	return nil
}

// Column is a helper for building table column definitions.
func Column(name, description string, wideOnly bool) metav1.TableColumnDefinition {
	c := metav1.TableColumnDefinition{Name: name, Type: "string", Description: description}
	if wideOnly {
		c.Priority = 1
	}
	return c
}
