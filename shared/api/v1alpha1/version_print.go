package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Table shows the version as one row.
func (v *Version) Table() *metav1.Table {
	return &metav1.Table{
		ColumnDefinitions: []metav1.TableColumnDefinition{
			{Name: "Plugin", Type: "string"},
			{Name: "Version", Type: "string"},
			{Name: "Git Commit", Type: "string"},
			{Name: "Build Date", Type: "string"},
			{Name: "Go", Type: "string"},
			{Name: "Platform", Type: "string"},
		},
		Rows: []metav1.TableRow{{
			Cells: []interface{}{v.Plugin, v.Version, orNone(v.GitCommit), orNone(v.BuildDate), v.GoVersion, v.Platform},
		}},
	}
}

// Names gives version/<plugin>.
func (v *Version) Names() []string { return []string{"version/" + v.Plugin} }

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
