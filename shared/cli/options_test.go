package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func optionsCommand(t *testing.T) *cobra.Command {
	t.Helper()
	root := NewRootCommand(testPlugin(nil), genericiooptions.NewTestIOStreamsDiscard())
	cmd, _, err := root.Find([]string{"options"})
	if err != nil || cmd.Name() != "options" {
		t.Fatalf("no options command: %v", err)
	}
	return cmd
}

func TestOptionsPrintsTheGlobalFlags(t *testing.T) {
	code, out, stderr := run(t, testPlugin(nil), "options")
	if code != 0 || stderr != "" {
		t.Fatalf("options: exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(out, "The following options can be passed to any command:\n") {
		t.Errorf("options output begins %.80q", out)
	}
	for _, want := range []string{"--kubeconfig=''", "--context=''", "-n, --namespace=''", "--request-timeout='0'", "-v, --v=0"} {
		if !strings.Contains(out, want) {
			t.Errorf("options lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--help") || strings.Contains(out, "Usage:") {
		t.Errorf("options prints more than the global flags:\n%s", out)
	}
}

// The options command's help is kubectl's, translated as kubectl translates
// it, but without loading kubectl's catalog when the locale has no translation.
func TestOptionsHelp(t *testing.T) {
	const english = "Print the list of flags inherited by all commands"
	for _, lang := range []string{"", "C", "C.UTF-8", "en_US.UTF-8", "fr_FR", "xx_YY.UTF-8"} {
		t.Setenv("LC_ALL", lang)
		t.Setenv("LANG", "")
		if got := optionsCommand(t); got.Short != english || got.Long != english ||
			got.Example != "  # Print flags inherited by all commands\n  kubectl options" {
			t.Errorf("LC_ALL=%q: options help %q / %q / %q", lang, got.Short, got.Long, got.Example)
		}
		if kubectlTranslates[kubectlLanguage()] {
			t.Errorf("LC_ALL=%q: would load kubectl's catalog", lang)
		}
	}
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "de_DE.UTF-8")
	if got := optionsCommand(t).Short; got != "Schreibt die Liste von Optionen, die alle Befehle erben" {
		t.Errorf("LANG=de_DE.UTF-8: options help %q, want kubectl's German", got)
	}
}
