package expiry

import "github.com/spf13/pflag"

func newFlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(new(discard))
	return fs
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
