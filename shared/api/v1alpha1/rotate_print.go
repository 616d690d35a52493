package v1alpha1

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Table shows one row per staged file.
func (s *StagedFiles) Table() *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "File", Type: "string"}, {Name: "Kind", Type: "string"}, {Name: "What", Type: "string"},
		{Name: "Expires", Type: "string"}, {Name: "SHA256", Type: "string", Priority: 1}, {Name: "Subject", Type: "string", Priority: 1},
	}}
	for _, f := range s.Files {
		expires := ""
		if f.NotAfter != nil {
			expires = f.NotAfter.UTC().Format(ExpiresLayout)
		}
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []interface{}{f.Path, f.Kind, f.What, orNone(expires), orNone(f.SHA256Fingerprint), orNone(f.Subject)}})
	}
	return t
}

// Names gives file/<path> per file.
func (s *StagedFiles) Names() []string {
	var n []string
	for _, f := range s.Files {
		n = append(n, "file/"+f.Path)
	}
	return n
}

// Table shows one row per check.
func (v *CAVerification) Table() *metav1.Table {
	return checksTable(v.Checks)
}

// Names gives check/<name> per failed check.
func (v *CAVerification) Names() []string {
	var n []string
	for _, c := range v.Checks {
		if !c.Passed {
			n = append(n, "check/"+c.Name)
		}
	}
	return n
}

func checksTable(checks []Check) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Check", Type: "string"}, {Name: "Result", Type: "string"}, {Name: "Message", Type: "string"},
	}}
	for _, c := range checks {
		result := "ok"
		if !c.Passed {
			result = c.Severity
			if result == "" {
				result = "error"
			}
		}
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []interface{}{c.Name, result, c.Message}})
	}
	return t
}

// Table shows the bundle before and after.
func (k *KubeconfigCAChange) Table() *metav1.Table {
	verified := "unknown (server unreachable)"
	if k.Verified != nil {
		verified = fmt.Sprint(*k.Verified)
	}
	return &metav1.Table{
		ColumnDefinitions: []metav1.TableColumnDefinition{
			{Name: "Cluster", Type: "string"}, {Name: "File", Type: "string"}, {Name: "Added", Type: "string"},
			{Name: "Removed", Type: "string"}, {Name: "CAs", Type: "string"}, {Name: "Verified", Type: "string"},
			{Name: "Backup", Type: "string", Priority: 1},
		},
		Rows: []metav1.TableRow{{Cells: []interface{}{
			k.Cluster, k.File, orNone(shortPrints(k.Added)), orNone(shortPrints(k.Removed)), len(k.After), verified, orNone(k.Backup),
		}}},
	}
}

// Names gives cluster/<name>.
func (k *KubeconfigCAChange) Names() []string { return []string{"cluster/" + k.Cluster} }

func shortPrints(prints []string) string {
	short := make([]string, 0, len(prints))
	for _, p := range prints {
		if len(p) > 16 {
			p = p[:16]
		}
		short = append(short, p)
	}
	return strings.Join(short, ",")
}

// Table shows one row per phase.
func (p *RotationPlan) Table() *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Phase", Type: "string"}, {Name: "At", Type: "string"}, {Name: "What", Type: "string"},
		{Name: "Commands", Type: "string", Priority: 1},
	}}
	for _, ph := range p.Phases {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []interface{}{ph.Name, ph.At.UTC().Format(ExpiresLayout), ph.Description, orNone(strings.Join(ph.Commands, "; "))}})
	}
	return t
}

// Names gives phase/<name> per phase.
func (p *RotationPlan) Names() []string {
	var n []string
	for _, ph := range p.Phases {
		n = append(n, "phase/"+ph.Name)
	}
	return n
}
