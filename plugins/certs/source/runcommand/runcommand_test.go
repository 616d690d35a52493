package runcommand

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// message is the message Azure's RunShellScript returns.
func message(status, stdout, stderr string) string {
	return status + "\n[stdout]\n" + tail(stdout) + "\n[stderr]\n" + tail(stderr)
}

// tail keeps the last MaxOutput bytes, as Azure does with each stream.
func tail(s string) string {
	if len(s) > MaxOutput {
		return s[len(s)-MaxOutput:]
	}
	return s
}

// azJSON is what az run-command invoke -o json prints.
func azJSON(code, display, level, msg string) string {
	b, _ := json.MarshalIndent(map[string]any{"value": []map[string]any{{
		"code": code, "displayStatus": display, "level": level, "message": msg, "time": nil,
	}}}, "", "  ")
	return string(b) + "\n"
}

const (
	succeeded = "Enable succeeded: "
	fp1       = "e4d58788afc4586f9a905887067c1dbd83e946fdcec51a355789306fa94adf71"
	fp2       = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func certLine(i int) string {
	return fmt.Sprintf("c|1700000000|%d|%s|/etc/kubernetes/certs/file-%02d.crt|CN=file-%02d,O=kubecerts", 1800000000+i, fp2, i, i)
}

// scriptOutput is the node script's output for n certificate files.
func scriptOutput(n int) string {
	var b strings.Builder
	b.WriteString(Header + "\n")
	for i := 0; i < n; i++ {
		b.WriteString(certLine(i) + "\n")
	}
	fmt.Fprintf(&b, "%s%d\n", TrailerPrefix, n)
	return b.String()
}

func TestParse(t *testing.T) {
	dec30 := time.Date(2025, 12, 30, 23, 36, 0, 0, time.UTC)
	documented := message(succeeded, "notAfter=Dec 30 23:36:00 2025 GMT\n", "")
	full := Header + "\n" +
		"c|1700000000|1767137760|" + strings.ToUpper(fp1) + "|/etc/kubernetes/certs/apiserver.crt|CN=apiserver\n" +
		"a|/var/lib/kubelet/pki/kubelet.crt\n" +
		"e|/etc/kubernetes/certs/bad.crt|Could not read certificate from /etc/kubernetes/certs/bad.crt\n" +
		"c|Nov 14 22:13:20 2023 GMT|Dec 30 23:36:00 2025 GMT|" + fp2 + "|/var/lib/kubelet/pki/kubelet-client-current.pem|" + strings.Repeat("S", SubjectMax) + "\n" +
		TrailerPrefix + "4\n"
	big := scriptOutput(40)                                               // ~4,400 bytes: Azure cuts it
	atLine := big[strings.Index(big, certLine(30)):]                      // lines 30..39 and the trailer
	nearEnd := big[strings.Index(big, certLine(30))+len(certLine(30))-3:] // "rts\n", then lines 31..39
	openssl3Missing := "Could not open file or uri for loading certificate from /etc/kubernetes/certs/apiserver.crt\n" +
		"80ABC8E4327F0000:error:16000069:STORE routines:ossl_store_get0_loader_int:unregistered scheme:../crypto/store/store_register.c:237:scheme=file\n" +
		"80ABC8E4327F0000:error:80000002:system library:file_open:No such file or directory:../providers/implementations/storemgmt/file_store.c:266:calling stat(/etc/kubernetes/certs/apiserver.crt)\n" +
		"Unable to load certificate\n"
	failedExit := "Enable failed: failed to execute command: command terminated with exit status=1"
	var opensslMany strings.Builder
	for i := 0; i < 80; i++ {
		fmt.Fprintf(&opensslMany, "subject=CN=host-%02d\nnotAfter=Dec 30 23:36:%02d 2025 GMT\n", i, i%60)
	}

	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, o *Output)
	}{
		{"documented tsv message, single notAfter line", documented + "\n", func(t *testing.T, o *Output) {
			wantForm(t, o, "text", false)
			wantFiles(t, o, 1)
			f := o.Files[0]
			if f.Kind != Cert || f.Path != "" || !f.NotAfter.Equal(dec30) || !f.NotBefore.IsZero() || f.SHA256 != "" {
				t.Errorf("file = %+v", f)
			}
			if o.Status.Message != succeeded || !o.Sections || o.Lost != nil || len(o.Problems) != 0 {
				t.Errorf("status %+v, sections %v, lost %+v, problems %+v", o.Status, o.Sections, o.Lost, o.Problems)
			}
		}},
		{"documented JSON form", azJSON("ProvisioningState/succeeded", "Provisioning succeeded", "Info", documented), func(t *testing.T, o *Output) {
			wantForm(t, o, "json", false)
			wantFiles(t, o, 1)
			if o.Status.Code != "ProvisioningState/succeeded" || o.Status.DisplayStatus != "Provisioning succeeded" || o.Status.Message != succeeded {
				t.Errorf("status = %+v", o.Status)
			}
			if !o.Files[0].NotAfter.Equal(dec30) {
				t.Errorf("notAfter = %v", o.Files[0].NotAfter)
			}
		}},
		{"message as a JSON string (--query value[0].message -o json)", mustJSON(documented), func(t *testing.T, o *Output) {
			wantForm(t, o, "json", false)
			wantFiles(t, o, 1)
		}},
		{"bare value list (--query value)", mustJSON([]map[string]string{{"code": "ProvisioningState/succeeded", "message": documented}}), func(t *testing.T, o *Output) {
			wantFiles(t, o, 1)
		}},
		{"CRLF line endings", strings.ReplaceAll(documented, "\n", "\r\n"), func(t *testing.T, o *Output) {
			wantFiles(t, o, 1)
			if !o.Files[0].NotAfter.Equal(dec30) {
				t.Errorf("notAfter = %v", o.Files[0].NotAfter)
			}
		}},
		{"node script, whole", azJSON("ProvisioningState/succeeded", "Provisioning succeeded", "Info", message(succeeded, full, "")), func(t *testing.T, o *Output) {
			wantForm(t, o, "json", true)
			if !o.Complete || o.Lost != nil {
				t.Errorf("complete %v, lost %+v", o.Complete, o.Lost)
			}
			wantFiles(t, o, 4)
			a, abs, bad, k := o.Files[0], o.Files[1], o.Files[2], o.Files[3]
			if a.Kind != Cert || a.Path != "/etc/kubernetes/certs/apiserver.crt" || a.SHA256 != fp1 || a.Subject != "CN=apiserver" ||
				!a.NotAfter.Equal(dec30) || a.NotBefore.Unix() != 1700000000 || a.SubjectCut {
				t.Errorf("apiserver = %+v", a)
			}
			if abs.Kind != Absent || abs.Path != "/var/lib/kubelet/pki/kubelet.crt" {
				t.Errorf("absent = %+v", abs)
			}
			if bad.Kind != Unreadable || bad.Path != "/etc/kubernetes/certs/bad.crt" || !strings.HasPrefix(bad.Message, "Could not read certificate") {
				t.Errorf("unreadable = %+v", bad)
			}
			if !k.NotBefore.Equal(time.Unix(1700000000, 0)) || !k.NotAfter.Equal(dec30) || !k.SubjectCut {
				t.Errorf("openssl-form dates and a cut subject: %+v", k)
			}
		}},
		{"node script, bare output without az's message", full, func(t *testing.T, o *Output) {
			wantForm(t, o, "text", true)
			wantFiles(t, o, 4)
			if o.Sections || !o.Complete {
				t.Errorf("sections %v, complete %v", o.Sections, o.Complete)
			}
		}},
		{"node script cut mid-line by Azure", message(succeeded, big, ""), func(t *testing.T, o *Output) {
			wantForm(t, o, "text", true)
			kept := strings.Count(tail(big), "\nc|") // whole lines after the cut one
			if o.Lost == nil || o.Lost.Of != 40 || o.Lost.Lines != 40-kept || o.Lost.Partial == "" || strings.HasPrefix(o.Lost.Partial, "c|") {
				t.Fatalf("lost = %+v, want %d of 40 and the partial line", o.Lost, 40-kept)
			}
			wantFiles(t, o, kept)
			if last := o.Files[len(o.Files)-1]; last.Path != "/etc/kubernetes/certs/file-39.crt" || last.NotAfter.Unix() != 1800000039 {
				t.Errorf("last file = %+v", last)
			}
			if o.Complete {
				t.Error("complete = true for cut output")
			}
		}},
		{"node script cut at a line boundary", message(succeeded, atLine, ""), func(t *testing.T, o *Output) {
			wantFiles(t, o, 10)
			if o.Lost == nil || o.Lost.Lines != 30 || o.Lost.Of != 40 || o.Lost.Partial != "" {
				t.Errorf("lost = %+v, want 30 of 40, no partial line", o.Lost)
			}
			if o.Files[0].Path != "/etc/kubernetes/certs/file-30.crt" {
				t.Errorf("first kept = %+v", o.Files[0])
			}
		}},
		{"node script cut near a line's end", message(succeeded, nearEnd, ""), func(t *testing.T, o *Output) {
			wantFiles(t, o, 9)
			if o.Lost == nil || o.Lost.Lines != 31 || o.Lost.Partial != "rts" { // "…,O=kubecerts" cut
				t.Errorf("lost = %+v", o.Lost)
			}
		}},
		{"node script: the header line cut, every file line whole", message(succeeded, (Header + "\n" + certLine(1) + "\n" + TrailerPrefix + "1\n")[4:], ""), func(t *testing.T, o *Output) {
			wantFiles(t, o, 1)
			if o.Lost != nil || !o.Complete {
				t.Errorf("lost %+v, complete %v: nothing of value was lost", o.Lost, o.Complete)
			}
		}},
		{"node script without its trailer", message(succeeded, Header+"\n"+certLine(1)+"\n", ""), func(t *testing.T, o *Output) {
			wantFiles(t, o, 1)
			if o.Complete || o.Lost != nil {
				t.Errorf("complete %v, lost %+v", o.Complete, o.Lost)
			}
		}},
		{"node script: trailer counts more lines than there are", message(succeeded, Header+"\n"+certLine(1)+"\n"+TrailerPrefix+"3\n", ""), func(t *testing.T, o *Output) {
			if o.Complete || o.Lost == nil || o.Lost.Lines != 2 {
				t.Errorf("complete %v, lost %+v", o.Complete, o.Lost)
			}
		}},
		{"node script: openssl missing", message(succeeded, Header+"\nx|openssl: command not found\n"+TrailerPrefix+"0\n", ""), func(t *testing.T, o *Output) {
			wantFiles(t, o, 0)
			if len(o.Problems) != 1 || o.Problems[0].Kind != OpenSSLMissing {
				t.Errorf("problems = %+v", o.Problems)
			}
		}},
		{"stderr: file missing (OpenSSL 3)", azJSON("ProvisioningState/failed", "Provisioning failed", "Error", message(failedExit, "", openssl3Missing)), func(t *testing.T, o *Output) {
			wantFiles(t, o, 0)
			if !o.Status.Failed() || o.Status.Message != failedExit {
				t.Errorf("status = %+v", o.Status)
			}
			if len(o.Problems) != 1 || o.Problems[0].Kind != FileMissing || o.Problems[0].Path != "/etc/kubernetes/certs/apiserver.crt" {
				t.Errorf("problems = %+v", o.Problems)
			}
		}},
		{"stderr: file missing (OpenSSL 1.1)", message(failedExit, "", "Can't open /etc/kubernetes/certs/apiserver.crt for reading, No such file or directory\n140000000000000:error:02001002:system library:fopen:No such file or directory:../crypto/bio/bss_file.c:69:fopen('/etc/kubernetes/certs/apiserver.crt','r')\nunable to load certificate\n"), func(t *testing.T, o *Output) {
			if len(o.Problems) < 1 || o.Problems[0].Kind != FileMissing || o.Problems[0].Path != "/etc/kubernetes/certs/apiserver.crt" {
				t.Errorf("problems = %+v", o.Problems)
			}
		}},
		{"stderr: openssl missing (dash)", azJSON("ProvisioningState/failed/127", "Provisioning failed", "Error", message("Enable failed: failed to execute command: command terminated with exit status=127", "", "/var/lib/waagent/run-command/download/3/script.sh: 1: openssl: not found\n")), func(t *testing.T, o *Output) {
			if len(o.Problems) != 1 || o.Problems[0].Kind != OpenSSLMissing || !o.Status.Failed() {
				t.Errorf("problems = %+v, status %+v", o.Problems, o.Status)
			}
		}},
		{"stderr: openssl missing (bash)", message(failedExit, "", "bash: line 1: openssl: command not found\n"), func(t *testing.T, o *Output) {
			if len(o.Problems) != 1 || o.Problems[0].Kind != OpenSSLMissing {
				t.Errorf("problems = %+v", o.Problems)
			}
		}},
		{"stderr: some other error", message(succeeded, "notAfter=Dec 30 23:36:00 2025 GMT\n", "Permission denied\n"), func(t *testing.T, o *Output) {
			wantFiles(t, o, 1)
			if len(o.Problems) != 1 || o.Problems[0].Kind != Other || o.Problems[0].Message != "Permission denied" {
				t.Errorf("problems = %+v", o.Problems)
			}
		}},
		{"failed provisioning without sections", azJSON("ProvisioningState/failed", "Provisioning failed", "Error", "VM has reported a failure when processing extension 'RunCommandLinux'. Error message: \"Enable failed: timed out\"."), func(t *testing.T, o *Output) {
			wantFiles(t, o, 0)
			if !o.Status.Failed() || o.Sections {
				t.Errorf("status %+v, sections %v", o.Status, o.Sections)
			}
		}},
		{"the tsv form of a failure: the first line says it", "Enable failed: failed to execute command: command terminated with exit status=2\n", func(t *testing.T, o *Output) {
			if !o.Status.Failed() || len(o.Files) != 0 {
				t.Errorf("status %+v, files %+v", o.Status, o.Files)
			}
		}},
		{"openssl fields of several files", message(succeeded, "subject=CN=apiserver\nnotBefore=Nov 14 22:13:20 2023 GMT\nnotAfter=Dec 30 23:36:00 2025 GMT\nsha256 Fingerprint="+colons(fp1)+"\nsubject=CN=ca\nnotAfter=Dec 30 23:36:00 2035 GMT\nSHA256 Fingerprint="+colons(strings.ToUpper(fp2))+"\n", ""), func(t *testing.T, o *Output) {
			wantForm(t, o, "text", false)
			wantFiles(t, o, 2)
			if f := o.Files[0]; f.Subject != "CN=apiserver" || f.SHA256 != fp1 || f.NotBefore.Unix() != 1700000000 || !f.NotAfter.Equal(dec30) {
				t.Errorf("first = %+v", f)
			}
			if f := o.Files[1]; f.Subject != "CN=ca" || f.SHA256 != fp2 || f.NotAfter.Year() != 2035 {
				t.Errorf("second = %+v", f)
			}
		}},
		{"openssl fields cut by Azure", message(succeeded, opensslMany.String()[opensslMany.Len()-MaxOutput-7:], ""), func(t *testing.T, o *Output) {
			if o.Lost == nil || o.Lost.Lines != -1 || o.Lost.Partial == "" {
				t.Errorf("lost = %+v", o.Lost)
			}
			if len(o.Files) < 70 {
				t.Errorf("%d files kept", len(o.Files))
			}
			if last := o.Files[len(o.Files)-1]; last.Subject != "CN=host-79" {
				t.Errorf("last = %+v", last)
			}
		}},
		{"Windows-style StdOut and StdErr components", mustJSON(map[string]any{"value": []map[string]any{
			{"code": "ComponentStatus/StdOut/succeeded", "displayStatus": "Provisioning succeeded", "level": "Info", "message": "notAfter=Dec 30 23:36:00 2025 GMT"},
			{"code": "ComponentStatus/StdErr/succeeded", "displayStatus": "Provisioning succeeded", "level": "Info", "message": ""},
		}}), func(t *testing.T, o *Output) {
			wantFiles(t, o, 1)
		}},
		{"unrelated text", "hello world\n", func(t *testing.T, o *Output) {
			wantFiles(t, o, 0)
			if len(o.Unrecognized) != 1 || o.Unrecognized[0] != "hello world" {
				t.Errorf("unrecognized = %q", o.Unrecognized)
			}
		}},
		{"a bad line inside whole script output is not a certificate", message(succeeded, Header+"\nc|x|y|z|/p|s\n"+TrailerPrefix+"1\n", ""), func(t *testing.T, o *Output) {
			wantFiles(t, o, 0)
			if o.Complete || o.Lost == nil || o.Lost.Lines != 1 || len(o.Unrecognized) != 1 {
				t.Errorf("complete %v, lost %+v, unrecognized %q", o.Complete, o.Lost, o.Unrecognized)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, o)
		})
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "empty",
		" \n\t\n":                  "empty",
		`{"value": [`:              "not valid JSON",
		`{"error": {"code": "x"}}`: `without "value"`,
		`{"value": []}`:            "empty \"value\" list",
		`"unterminated`:            "not valid JSON",
	} {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", in, err, want)
		}
	}
	if _, err := Parse(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("Parse(nil) = %v, want ErrEmpty", err)
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"1735787045", "Jan  2 03:04:05 2025 GMT", "Jan 2 03:04:05 2025 GMT", "2025-01-02 03:04:05Z", "2025-01-02T03:04:05Z"} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "soon", "Jan  2 03:04:05 2025 PST", "99999999999999"} {
		if _, err := parseTime(s); err == nil {
			t.Errorf("parseTime(%q): no error", s)
		}
	}
}

func TestSplit(t *testing.T) {
	in := "\n### node: aks-a-vmss000000\n" + message(succeeded, "notAfter=Dec 30 23:36:00 2025 GMT\n", "") +
		"### node: aks-b-vmss000001\r\n" + azJSON("ProvisioningState/succeeded", "", "", "x") +
		"### node: empty\n"
	chunks := Split([]byte(in))
	if len(chunks) != 3 {
		t.Fatalf("%d chunks: %+v", len(chunks), chunks)
	}
	if chunks[0].Node != "aks-a-vmss000000" || chunks[0].Line != 3 || !strings.HasPrefix(string(chunks[0].Data), succeeded) {
		t.Errorf("first = %+v", chunks[0])
	}
	if chunks[1].Node != "aks-b-vmss000001" || !strings.HasPrefix(string(chunks[1].Data), "{") {
		t.Errorf("second = %+v", chunks[1])
	}
	if chunks[2].Node != "empty" || len(chunks[2].Data) != 0 {
		t.Errorf("third = %+v", chunks[2])
	}
	if c := Split([]byte("notAfter=Dec 30 23:36:00 2025 GMT\n")); len(c) != 1 || c[0].Node != "" || c[0].Line != 1 {
		t.Errorf("unnamed = %+v", c)
	}
	if c := Split([]byte(" \n\n")); len(c) != 0 {
		t.Errorf("blank = %+v", c)
	}
}

func wantForm(t *testing.T, o *Output, form string, script bool) {
	t.Helper()
	if o.Form != form || o.Script != script {
		t.Errorf("form %q script %v, want %q %v", o.Form, o.Script, form, script)
	}
}

func wantFiles(t *testing.T, o *Output, n int) {
	t.Helper()
	if len(o.Files) != n {
		t.Fatalf("%d files, want %d: %+v (unrecognized %q, problems %+v)", len(o.Files), n, o.Files, o.Unrecognized, o.Problems)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func colons(hex string) string {
	var parts []string
	for i := 0; i < len(hex); i += 2 {
		parts = append(parts, hex[i:i+2])
	}
	return strings.Join(parts, ":")
}
