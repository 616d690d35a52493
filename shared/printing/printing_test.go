package printing

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/golden"
)

func fixture() *api.Version {
	return &api.Version{
		Plugin: "certs", Version: "v1.2.3", GitCommit: "0123456789abcdef",
		BuildDate: "2026-11-23T00:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64",
	}
}

// print runs obj through the printer that the given command line selects.
func print(t *testing.T, args ...string) (string, error) {
	t.Helper()
	f := NewPrintFlags()
	cmd := &cobra.Command{Use: "test", Run: func(*cobra.Command, []string) {}}
	f.AddFlags(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	p, err := f.ToPrinter()
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	err = p.PrintObj(fixture(), &out)
	return out.String(), err
}

func TestGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"version.table", nil},
		{"version.noheaders", []string{"--no-headers"}},
		{"version.wide", []string{"-o", "wide"}},
		{"version.json", []string{"-o", "json"}},
		{"version.yaml", []string{"-o", "yaml"}},
		{"version.name", []string{"-o", "name"}},
		{"version.jsonpath", []string{"-o", "jsonpath={.apiVersion} {.kind} {.version}"}},
		{"version.gotemplate", []string{"-o", "go-template={{.kind}}/{{.plugin}}"}},
		{"version.template-without-o", []string{"--template", "{{.plugin}}"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := print(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, tt.golden, got)
		})
	}
}

func TestMachineReadableCarriesAPIVersionAndKind(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		got, err := print(t, "-o", format)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, "kubecerts.io/v1alpha1") || !strings.Contains(got, "Version") {
			t.Errorf("-o %s lacks apiVersion/kind:\n%s", format, got)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	_, err := print(t, "-o", "xml")
	if err == nil || !strings.Contains(err.Error(), `--output "xml"`) || !strings.Contains(err.Error(), "wide, json, yaml") {
		t.Errorf("error = %v, want one naming the value and the allowed formats", err)
	}
}

func TestMachine(t *testing.T) {
	for format, want := range map[string]bool{"": false, "wide": false, "json": true, "YAML": true, "name": true} {
		f := NewPrintFlags()
		*f.OutputFormat = format
		if f.Machine() != want {
			t.Errorf("Machine(%q) = %v, want %v", format, !want, want)
		}
	}
}

func TestTemplateFile(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "kind.tmpl")
	if err := os.WriteFile(tmpl, []byte("{{.kind}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonpath := filepath.Join(dir, "kind.jsonpath")
	if err := os.WriteFile(jsonpath, []byte("{.kind}"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.tmpl")
	tests := []struct {
		name    string
		args    []string
		want    string // output, when wantErr is empty
		wantErr string // the whole error
	}{
		{"go-template-file=", []string{"-o", "go-template-file=" + tmpl}, "Version", ""},
		{"jsonpath-file with --template", []string{"-o", "jsonpath-file", "--template", jsonpath}, "Version", ""},
		{"missing after =", []string{"-o", "go-template-file=" + missing}, "",
			`--output "go-template-file=` + missing + `": cannot read the template file: no such file or directory`},
		{"missing in --template", []string{"-o", "go-template-file", "--template", missing}, "",
			`--template "` + missing + `": cannot read the template file: no such file or directory`},
		{"a directory", []string{"-o", "jsonpath-file=" + dir}, "",
			`--output "jsonpath-file=` + dir + `": cannot read the template file: is a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := print(t, tt.args...)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("printed %q, want %q", got, tt.want)
			}
		})
	}
}
