package cli

import (
	"sync"

	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/util/templates"
)

// LongDesc is kubectl's templates.LongDesc (the text dedented, its Markdown
// rendered for a terminal), done when the help is shown instead of when the
// command is built. Eagerly, the plugins rendered every command's long help
// in every run of every command, `version` included: ~1 ms for kubectl-certs
// (check's help is long), more for the plugins with more commands.
//
// LongDesc returns s and remembers it: the root command's help (and
// ResolveHelp, for what else reads Long) renders a command's Long that is
// such a text. A Long must be LongDesc's result as is, not a part of it.
func LongDesc(s string) string {
	if s != "" {
		longDescs.LoadOrStore(s, &longDesc{raw: s})
	}
	return s
}

// longDescs maps each text given to LongDesc to its rendering.
var longDescs sync.Map // string → *longDesc

type longDesc struct {
	raw      string
	once     sync.Once
	rendered string
}

func (d *longDesc) render() string {
	d.once.Do(func() { d.rendered = templates.LongDesc(d.raw) })
	return d.rendered
}

// resolveLong renders c's Long if LongDesc gave it.
func resolveLong(c *cobra.Command) {
	if d, ok := longDescs.Load(c.Long); ok {
		c.Long = d.(*longDesc).render()
	}
}

// ResolveHelp renders the Long of root and of every command under it, for
// readers of Long other than the help (hack/gendocs' reference pages).
func ResolveHelp(root *cobra.Command) {
	resolveLong(root)
	for _, c := range root.Commands() {
		ResolveHelp(c)
	}
}
