package cli

import (
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/util/i18n"
	"k8s.io/kubectl/pkg/util/templates"
)

// newCmdOptions is kubectl's options command (k8s.io/kubectl/pkg/cmd/options):
// the same command, help and output, without importing that package, whose
// package-level i18n.T call loads kubectl's translation catalog at init, in
// every run of every command (25 ms of a 60 ms start-up).
func newCmdOptions(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "options",
		Short: kubectlT("Print the list of flags inherited by all commands"),
		Long:  kubectlT("Print the list of flags inherited by all commands"),
		Example: templates.Examples(kubectlT(`
		# Print flags inherited by all commands
		kubectl options`)),
		Run: func(cmd *cobra.Command, args []string) {
			_ = cmd.Usage()
		},
	}
	// Usage goes to out (stdout), not to stderr, as kubectl's does.
	cmd.SetOut(out)
	cmd.SetErr(out)
	templates.UseOptionsTemplates(cmd)
	return cmd
}

// kubectlT is kubectl's i18n.T for the strings kubectl translates, called
// only when the locale picks one of kubectl's translations. Any other locale
// gets kubectl's default catalog (en_US is a copy of it), which gives these
// strings back unchanged, and loading a catalog costs more than the rest of
// the start-up. The locale is read as kubectl's i18n reads it: LC_ALL, else
// LC_MESSAGES, else LANG, a language only in the form lang_TERRITORY.encoding.
func kubectlT(s string) string {
	if !kubectlTranslates[kubectlLanguage()] {
		return s
	}
	return i18n.T(s)
}

// kubectlTranslates: the languages of kubectl's catalog
// (k8s.io/kubectl/pkg/util/i18n/translations/kubectl) besides default and en_US.
var kubectlTranslates = map[string]bool{
	"de_DE": true, "fr_FR": true, "it_IT": true, "ja_JP": true, "ko_KR": true,
	"pt_BR": true, "zh_CN": true, "zh_TW": true,
}

func kubectlLanguage() string {
	lang := os.Getenv("LC_ALL")
	if lang == "" {
		lang = os.Getenv("LC_MESSAGES")
	}
	if lang == "" {
		lang = os.Getenv("LANG")
	}
	pieces := strings.Split(lang, ".")
	if len(pieces) != 2 {
		return "default"
	}
	return pieces[0]
}
