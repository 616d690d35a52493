package cli

import (
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/component-base/logs"
)

// The log flags are component-base's, which kubectl and the plugins used to add.
func TestLogFlagsAsComponentBase(t *testing.T) {
	var ours, theirs pflag.FlagSet
	addLogFlags(&ours)
	logs.AddFlags(&theirs)
	if len(flagNames(&ours)) != len(flagNames(&theirs)) {
		t.Fatalf("flags %q, component-base's %q", flagNames(&ours), flagNames(&theirs))
	}
	theirs.VisitAll(func(k *pflag.Flag) {
		o := ours.Lookup(k.Name)
		if o == nil {
			t.Errorf("--%s missing", k.Name)
			return
		}
		if o.Shorthand != k.Shorthand || o.Usage != k.Usage || o.DefValue != k.DefValue || o.NoOptDefVal != k.NoOptDefVal ||
			o.Value.Type() != k.Value.Type() || o.Value.String() != k.Value.String() {
			t.Errorf("--%s = %+v, component-base's %+v", k.Name, o, k)
		}
	})
	// -v and --vmodule set klog's own settings: back to the defaults after.
	defer func() { _ = ours.Parse([]string{"-v", "0", "--vmodule", ""}) }()
	for _, args := range [][]string{{"-v", "3"}, {"--vmodule", "foo=2"}, {"--log-flush-frequency", "2s"}} {
		if err := ours.Parse(args); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
	for _, args := range [][]string{{"-v", "x"}, {"--log-flush-frequency", "soon"}} {
		err := ours.Parse(args)
		want := theirs.Parse(args)
		if err == nil || err.Error() != want.Error() {
			t.Errorf("%q: %v, component-base's %v", args, err, want)
		}
	}
}

func flagNames(fs *pflag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	return names
}
