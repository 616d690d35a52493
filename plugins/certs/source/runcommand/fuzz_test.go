package runcommand

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and what it returns keeps its promises.
// Seeds: testdata/fuzz/FuzzParse (every form: tsv, JSON, the documented
// single line, the node script whole and cut, stderr errors, failures).
func FuzzParse(f *testing.F) {
	f.Add([]byte(message(succeeded, scriptOutput(3), "")))
	f.Add([]byte(azJSON("ProvisioningState/succeeded", "Provisioning succeeded", "Info", message(succeeded, "notAfter=Dec 30 23:36:00 2025 GMT\n", ""))))
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := Parse(raw)
		if err != nil {
			if o != nil {
				t.Fatal("an error and an output")
			}
			return
		}
		for _, file := range o.Files {
			if file.Path != "" && !validPath(file.Path) {
				t.Errorf("invalid path %q", file.Path)
			}
			switch file.Kind {
			case Cert:
				if file.NotAfter.IsZero() {
					t.Errorf("a certificate without notAfter: %+v", file)
				}
				if file.SHA256 != "" && !isHex64(file.SHA256) {
					t.Errorf("fingerprint %q", file.SHA256)
				}
				if file.NotAfter.Location().String() != "UTC" {
					t.Errorf("notAfter not in UTC: %v", file.NotAfter)
				}
			case Absent, Unreadable:
				if file.Path == "" {
					t.Errorf("%v file without a path", file.Kind)
				}
			default:
				t.Errorf("kind %v", file.Kind)
			}
		}
		if l := o.Lost; l != nil {
			if l.Lines < -1 || l.Of < 0 || (l.Of > 0 && l.Lines > l.Of) {
				t.Errorf("lost = %+v", l)
			}
			if o.Complete {
				t.Error("complete and lost")
			}
		}
		if o.Complete && !o.Script {
			t.Error("complete without the node script")
		}
		if len(o.Unrecognized) > 10 {
			t.Errorf("%d unrecognized lines kept", len(o.Unrecognized))
		}
		for _, p := range o.Problems {
			if strings.TrimSpace(p.Message) == "" && p.Kind != OpenSSLMissing {
				t.Errorf("problem without a message: %+v", p)
			}
		}
		again, err := Parse(raw)
		if err != nil || len(again.Files) != len(o.Files) || len(again.Problems) != len(o.Problems) {
			t.Error("Parse is not deterministic")
		}
	})
}
