package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/plugins/catrust"
	"github.com/kubecerts/kubecerts/plugins/certs"
	"github.com/kubecerts/kubecerts/plugins/rotate"
	"github.com/kubecerts/kubecerts/shared/cli"
)

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// Every command's long help comes from LongDesc whole (options' is
// kubectl's, plain), and is shown, and read by ResolveHelp, rendered as
// templates.LongDesc renders it.
func TestLongHelpRenderedWhenShown(t *testing.T) {
	for _, p := range []cli.Plugin{certs.Plugin, catrust.Plugin, rotate.Plugin} {
		root := cli.NewRootCommand(p, genericiooptions.NewTestIOStreamsDiscard())
		raw := map[*cobra.Command]string{}
		walk(root, func(c *cobra.Command) {
			switch {
			case c.Long == "" || c.Name() == "options" || c.Name() == "completion" || c.HasParent() && c.Parent().Name() == "completion":
			case !cli.PendingLongDesc(c.Long):
				t.Errorf("%s: Long is not LongDesc's result: %.60q", c.CommandPath(), c.Long)
			default:
				raw[c] = c.Long
			}
		})
		if len(raw) < 2 {
			t.Fatalf("%s: %d commands with a long help", p.Name, len(raw))
		}
		for c, s := range raw {
			var out bytes.Buffer
			c.SetOut(&out)
			if err := c.Help(); err != nil {
				t.Fatal(err)
			}
			want := templates.LongDesc(s)
			if !strings.HasPrefix(out.String(), want) {
				t.Errorf("%s --help begins %.80q, want the rendered %.80q", c.CommandPath(), out.String(), want)
			}
			if c.Long != want {
				t.Errorf("%s: Long after help %.60q", c.CommandPath(), c.Long)
			}
		}
		root = cli.NewRootCommand(p, genericiooptions.NewTestIOStreamsDiscard())
		cli.ResolveHelp(root)
		walk(root, func(c *cobra.Command) {
			for old, s := range raw {
				if old.CommandPath() == c.CommandPath() && c.Long != templates.LongDesc(s) {
					t.Errorf("%s: Long after ResolveHelp %.60q", c.CommandPath(), c.Long)
				}
			}
		})
	}
}
