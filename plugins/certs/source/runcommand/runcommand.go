// Package runcommand parses what Azure's RunShellScript run command returns
// for a Linux VM: az vm|vmss run-command invoke in its JSON form, the tsv
// form of --query 'value[0].message' -otsv, or the bare message. It knows
// two kinds of script output: the kubecerts node script's (one line per
// file, see the format below) and plain `openssl x509 -noout` output such as
// the single line `notAfter=Dec 30 23:36:00 2025 GMT` of the documented
// per-file command.
//
// The message Azure returns is
//
//	Enable succeeded: \n[stdout]\n<stdout>\n[stderr]\n<stderr>\n
//
// ("Enable failed: …" when the script or the extension failed), where each
// stream is cut to its last 4,096 bytes.
//
// The node script's output:
//
//	#kubecerts-node v1                                   header
//	c|<notBefore>|<notAfter>|<sha256>|<path>|<subject>    a certificate (first one of the file)
//	a|<path>                                             no such file
//	e|<path>|<message>                                   openssl could not read the file
//	x|<message>                                          the node cannot run the check (openssl missing)
//	#kubecerts-end <n>                                   trailer: n = the c, a and e lines printed
//
// Dates are Unix seconds, or openssl's own form ("Dec 30 23:36:00 2025 GMT")
// when the node's date cannot convert them; sha256 is lower-case hex; the
// subject is openssl's RFC 2253 form cut to SubjectMax bytes. When Azure
// cut the output, the header and the first lines are gone: the trailer says
// how many file lines there were, so what was lost is counted.
package runcommand

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kubecerts/kubecerts/shared/lazyregexp"
)

// MaxOutput is how much of each stream (stdout, stderr) Azure keeps: the
// last 4,096 bytes.
const MaxOutput = 4096

// SubjectMax is how many bytes of a subject the node script sends.
const SubjectMax = 64

// Markers of the node script's output.
const (
	Header        = "#kubecerts-node v1"
	TrailerPrefix = "#kubecerts-end "
)

// Record kinds of the node script's output.
const (
	RecordCert    = "c"
	RecordAbsent  = "a"
	RecordError   = "e"
	RecordFailure = "x"
)

// FileKind says what became of one file.
type FileKind int

// File kinds.
const (
	// Cert: the file holds a certificate; its fields are set.
	Cert FileKind = iota
	// Absent: no such file on the node.
	Absent
	// Unreadable: openssl could not read a certificate from the file.
	Unreadable
)

func (k FileKind) String() string {
	switch k {
	case Cert:
		return "cert"
	case Absent:
		return "absent"
	case Unreadable:
		return "unreadable"
	}
	return "unknown"
}

// File is what the output says about one file.
type File struct {
	Kind FileKind
	// Path on the node; empty when the output does not name it (plain
	// openssl output).
	Path string
	// Subject in RFC 2253 form as openssl prints it; may be cut (SubjectCut).
	Subject    string
	SubjectCut bool
	// NotBefore and NotAfter, UTC; NotBefore is zero when not known.
	NotBefore, NotAfter time.Time
	// SHA256 fingerprint in lower-case hex; empty when not known.
	SHA256 string
	// Message is openssl's error for an Unreadable file.
	Message string
}

// ProblemKind classifies an error the script's output reports.
type ProblemKind int

// Problem kinds.
const (
	// Other is any error line not recognised below.
	Other ProblemKind = iota
	// FileMissing: a file the command named does not exist.
	FileMissing
	// OpenSSLMissing: openssl is not installed on the node.
	OpenSSLMissing
)

func (k ProblemKind) String() string {
	switch k {
	case FileMissing:
		return "file missing"
	case OpenSSLMissing:
		return "openssl missing"
	}
	return "error"
}

// Problem is an error in the [stderr] section, or a failure line (x|) of
// the node script.
type Problem struct {
	Kind ProblemKind
	// Path of the missing file, when the message names it.
	Path    string
	Message string
}

// Lost says that Azure cut the output to its last MaxOutput bytes.
type Lost struct {
	// Lines is how many file lines were lost entirely or in part; -1 when
	// not known (the output is not the node script's).
	Lines int
	// Of is how many file lines the script printed (its trailer); 0 when not
	// known.
	Of int
	// Partial is what remains of the first line, which was cut: dropped.
	Partial string
}

// Provisioning is the run command's status: the JSON form's code,
// displayStatus and level, or the first line of the message ("Enable
// succeeded: ").
type Provisioning struct {
	Code          string
	DisplayStatus string
	Level         string
	// Message is the first line of the message: "Enable succeeded: ",
	// "Enable failed: failed to execute command: …".
	Message string
}

// Failed is true for a failed or cancelled run command: the script could
// not run, or exited non-zero (code "ProvisioningState/failed/<exit status>").
func (p Provisioning) Failed() bool {
	code := strings.ToLower(p.Code)
	return strings.Contains(code, "/failed") || strings.Contains(code, "/canceled") ||
		strings.EqualFold(p.Level, "Error") ||
		strings.HasPrefix(strings.ToLower(strings.TrimSpace(p.Message)), "enable failed")
}

// Output is what Parse found.
type Output struct {
	// Form is "json" or "text" (the tsv message, or the bare script output).
	Form   string
	Status Provisioning
	// Sections is true when the message has [stdout] and [stderr] sections.
	Sections bool
	// Stdout and Stderr are the sections (the whole text when there are none).
	Stdout, Stderr string
	// Script is true when stdout is the kubecerts node script's.
	Script bool
	// Complete is true when the node script's output is whole: header and
	// trailer present, nothing lost.
	Complete bool
	Files    []File
	Problems []Problem
	Lost     *Lost
	// Unrecognized holds stdout lines that are neither records nor openssl
	// fields (at most 10).
	Unrecognized []string
}

// ErrEmpty is returned for empty input.
var ErrEmpty = errors.New("the run-command output is empty")

// Parse reads one node's run-command output in any of its forms.
func Parse(raw []byte) (*Output, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, ErrEmpty
	}
	out := &Output{Form: "text"}
	message := string(raw)
	if c := trimmed[0]; c == '{' || c == '[' || c == '"' {
		var err error
		if message, err = out.parseJSON(trimmed); err != nil {
			return nil, err
		}
	}
	out.parseMessage(message)
	return out, nil
}

// azValue is one element of the JSON form's value list.
type azValue struct {
	Code          string `json:"code"`
	DisplayStatus string `json:"displayStatus"`
	Level         string `json:"level"`
	Message       string `json:"message"`
}

// parseJSON takes {"value":[…]}, the bare list (--query value), or the
// message as a JSON string (--query 'value[0].message' -o json). A Windows
// style answer with StdOut and StdErr components is joined into sections.
func (o *Output) parseJSON(data []byte) (string, error) {
	o.Form = "json"
	var values []azValue
	switch data[0] {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return "", fmt.Errorf("the run-command output is not valid JSON: %v", err)
		}
		return s, nil
	case '[':
		if err := json.Unmarshal(data, &values); err != nil {
			return "", fmt.Errorf("the run-command output is not valid JSON: %v", err)
		}
	default:
		var doc struct {
			Value *[]azValue `json:"value"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return "", fmt.Errorf("the run-command output is not valid JSON: %v", err)
		}
		if doc.Value == nil {
			return "", fmt.Errorf(`the run-command output is JSON without "value": not an az run-command invoke answer`)
		}
		values = *doc.Value
	}
	if len(values) == 0 {
		return "", fmt.Errorf(`the run-command output has an empty "value" list: no status, no message`)
	}
	var stdout, stderr *azValue
	for i := range values {
		code := strings.ToLower(values[i].Code)
		switch {
		case strings.Contains(code, "/stdout/"):
			stdout = &values[i]
		case strings.Contains(code, "/stderr/"):
			stderr = &values[i]
		}
	}
	if stdout != nil {
		o.Status = Provisioning{Code: stdout.Code, DisplayStatus: stdout.DisplayStatus, Level: stdout.Level}
		msg := "[stdout]\n" + stdout.Message + "\n[stderr]\n"
		if stderr != nil {
			msg += stderr.Message
		}
		return msg, nil
	}
	v := values[0]
	o.Status = Provisioning{Code: v.Code, DisplayStatus: v.DisplayStatus, Level: v.Level}
	return v.Message, nil
}

var (
	stdoutMarker = "[stdout]\n"
	stderrMarker = "\n[stderr]\n"
)

func (o *Output) parseMessage(msg string) {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	if i := strings.Index(msg, stdoutMarker); i >= 0 && (i == 0 || msg[i-1] == '\n') {
		o.Sections = true
		if o.Status.Message == "" {
			o.Status.Message = strings.TrimRight(msg[:i], "\n")
		}
		rest := msg[i+len(stdoutMarker):]
		if j := strings.Index(rest, stderrMarker); j >= 0 {
			o.Stdout, o.Stderr = rest[:j], rest[j+len(stderrMarker):]
		} else if strings.HasSuffix(rest, "\n[stderr]") {
			o.Stdout = strings.TrimSuffix(rest, "\n[stderr]")
		} else {
			o.Stdout = rest
		}
	} else if o.Form == "json" && o.Status.Failed() {
		// A failure without sections: the message says what failed.
		o.Status.Message = clip(strings.TrimSpace(msg), 500)
		return
	} else {
		// No sections: a failure message ("Enable failed: …" alone) or the
		// script's output pasted bare.
		first, _, _ := strings.Cut(strings.TrimLeft(msg, "\n"), "\n")
		if l := strings.ToLower(first); strings.HasPrefix(l, "enable succeeded") || strings.HasPrefix(l, "enable failed") {
			o.Status.Message = first
			msg = strings.TrimPrefix(strings.TrimLeft(msg, "\n"), first)
		}
		o.Stdout = msg
	}
	o.parseStdout()
	o.parseStderr()
}

// parseStdout reads the node script's records, or plain openssl fields.
func (o *Output) parseStdout() {
	text := strings.TrimRight(o.Stdout, "\n")
	if strings.TrimSpace(text) == "" {
		return
	}
	lines := strings.Split(text, "\n")
	headerAt, trailerAt, total := -1, -1, 0
	for i, l := range lines {
		l = strings.TrimRight(l, "\r ")
		if l == Header && headerAt < 0 {
			headerAt = i
		}
		if rest, ok := strings.CutPrefix(l, TrailerPrefix); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil && n >= 0 {
				trailerAt, total = i, n
			}
		}
	}
	if headerAt >= 0 || trailerAt >= 0 {
		o.parseScript(lines, headerAt, trailerAt, total)
		return
	}
	o.parseOpenSSL(lines)
}

func (o *Output) parseScript(lines []string, headerAt, trailerAt, total int) {
	o.Script = true
	start, end := 0, len(lines)
	if headerAt >= 0 {
		start = headerAt + 1
	}
	if trailerAt >= 0 && trailerAt >= start {
		end = trailerAt
	}
	cut := headerAt < 0 // Azure kept the end: the header and the first lines are gone
	fileLines := 0
	for i := start; i < end; i++ {
		l := strings.TrimRight(lines[i], "\r")
		if l == "" {
			continue
		}
		f, problem, ok := parseRecord(l)
		if !ok {
			if cut && i == start {
				o.Lost = &Lost{Partial: l}
				continue
			}
			o.unrecognized(l)
			continue
		}
		if problem != nil {
			o.Problems = append(o.Problems, *problem)
			continue
		}
		fileLines++
		o.Files = append(o.Files, f)
	}
	switch {
	case cut:
		// The trailer is there (else this would not be known as the
		// script's output): count what is missing.
		lost := max(total-fileLines, 0)
		if lost == 0 {
			o.Lost = nil // only the header was cut: every file line is whole
			o.Complete = true
			return
		}
		if o.Lost == nil {
			o.Lost = &Lost{}
		}
		o.Lost.Lines, o.Lost.Of = lost, total
	case trailerAt >= 0:
		o.Complete = fileLines == total
		if !o.Complete {
			o.Lost = &Lost{Lines: max(total-fileLines, 0), Of: total}
		}
	}
}

// parseRecord reads one line of the node script.
func parseRecord(l string) (File, *Problem, bool) {
	kind, rest, ok := strings.Cut(l, "|")
	if !ok {
		return File{}, nil, false
	}
	switch kind {
	case RecordCert:
		f := strings.SplitN(rest, "|", 5)
		if len(f) != 5 || !validPath(f[3]) {
			return File{}, nil, false
		}
		nb, err1 := parseTime(f[0])
		na, err2 := parseTime(f[1])
		fp := strings.ToLower(f[2])
		if err1 != nil || err2 != nil || !isHex64(fp) {
			return File{}, nil, false
		}
		return File{Kind: Cert, Path: f[3], Subject: f[4], SubjectCut: len(f[4]) >= SubjectMax, NotBefore: nb, NotAfter: na, SHA256: fp}, nil, true
	case RecordAbsent:
		if !validPath(rest) {
			return File{}, nil, false
		}
		return File{Kind: Absent, Path: rest}, nil, true
	case RecordError:
		path, msg, _ := strings.Cut(rest, "|")
		if !validPath(path) {
			return File{}, nil, false
		}
		return File{Kind: Unreadable, Path: path, Message: strings.TrimSpace(msg)}, nil, true
	case RecordFailure:
		p := classifyLine(rest)
		if p.Message == "" {
			p.Message = "the node script failed without saying why"
		}
		return File{}, &p, true
	}
	return File{}, nil, false
}

func validPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.ContainsAny(p, "|\n")
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseTime reads Unix seconds, openssl's date ("Dec 30 23:36:00 2025 GMT")
// or its ISO 8601 form ("2025-12-30 23:36:00Z").
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty date")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < -62135596800 || n > 253402300799 { // years 1 to 9999
			return time.Time{}, fmt.Errorf("date %d out of range", n)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	// openssl prints GMT; Parse also takes a fraction after the seconds.
	if t, err := time.Parse("Jan _2 15:04:05 2006 MST", s); err == nil {
		if zone, _ := t.Zone(); zone != "GMT" && zone != "UTC" {
			return time.Time{}, fmt.Errorf("date %q: not in GMT", s)
		}
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05Z07:00", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q: not Unix seconds nor openssl's form", s)
}

// parseOpenSSL reads `openssl x509 -noout` fields: notBefore=, notAfter=,
// subject=, sha256 Fingerprint=. A field seen twice starts the next file.
func (o *Output) parseOpenSSL(lines []string) {
	var cur *File
	seen := map[string]bool{}
	flush := func() {
		if cur != nil && !cur.NotAfter.IsZero() {
			o.Files = append(o.Files, *cur)
		} else if cur != nil {
			o.unrecognized("a certificate without notAfter=")
		}
		cur, seen = nil, map[string]bool{}
	}
	truncated := len(o.Stdout) >= MaxOutput
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		key, value, ok := strings.Cut(l, "=")
		key = strings.TrimSpace(key)
		field := ""
		if ok {
			switch {
			case key == "notBefore", key == "notAfter", key == "subject":
				field = key
			case strings.EqualFold(key, "sha256 Fingerprint"):
				field = "sha256"
			}
		}
		if field == "" {
			if truncated && i == 0 {
				o.Lost = &Lost{Lines: -1, Partial: l}
				continue
			}
			if ok && (strings.HasSuffix(key, "Fingerprint") || key == "issuer" || key == "serial") {
				continue // fields the report does not use
			}
			o.unrecognized(l)
			continue
		}
		if seen[field] {
			flush()
		}
		if cur == nil {
			cur = &File{Kind: Cert}
		}
		seen[field] = true
		value = strings.TrimSpace(value)
		switch field {
		case "notBefore", "notAfter":
			t, err := parseTime(value)
			if err != nil {
				if truncated && i == 0 {
					o.Lost = &Lost{Lines: -1, Partial: l}
				} else {
					o.unrecognized(l)
				}
				continue
			}
			if field == "notBefore" {
				cur.NotBefore = t
			} else {
				cur.NotAfter = t
			}
		case "subject":
			cur.Subject = value
		case "sha256":
			fp := strings.ToLower(strings.ReplaceAll(value, ":", ""))
			if isHex64(fp) {
				cur.SHA256 = fp
			}
		}
	}
	flush()
	if truncated && o.Lost == nil {
		o.Lost = &Lost{Lines: -1}
	}
}

func (o *Output) unrecognized(l string) {
	if len(o.Unrecognized) < 10 {
		o.Unrecognized = append(o.Unrecognized, clip(l, 200))
	}
}

var (
	// OpenSSL 3: "Could not open file or uri for loading certificate from /x"
	openFailed3 = lazyregexp.New(`(?i)could not open file or uri for loading certificate from (\S.*?)\s*$`)
	// OpenSSL 1.1: "Can't open /x for reading, No such file or directory"
	openFailed11 = lazyregexp.New(`(?i)can't open (\S.*?) for reading,?\s*(.*)$`)
	// OpenSSL 1.0: "Error opening Certificate /x"
	openFailed10 = lazyregexp.New(`(?i)error opening certificate (\S.*?)\s*$`)
	// OpenSSL's error stack: "80ABC8E4327F0000:error:16000069:STORE routines:…"
	errorStack = lazyregexp.New(`^[0-9A-Fa-f]+:error:`)
)

// parseStderr classifies the [stderr] section: a missing file, openssl
// missing, anything else. OpenSSL's error stack lines are details of the
// line before them.
func (o *Output) parseStderr() {
	text := strings.ReplaceAll(o.Stderr, "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		return
	}
	noSuchFile := strings.Contains(text, "No such file or directory")
	var pendingOpen *Problem
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if errorStack.MatchString(l) {
			continue
		}
		if m := openFailed3.FindStringSubmatch(l); m != nil {
			p := Problem{Kind: Other, Path: m[1], Message: clip(l, 300)}
			if noSuchFile {
				p.Kind = FileMissing
			}
			o.addProblem(p)
			pendingOpen = &p
			continue
		}
		if lower := strings.ToLower(l); lower == "unable to load certificate" || strings.HasPrefix(lower, "could not read certificate from") {
			if pendingOpen != nil {
				continue // the same failure, said again
			}
		}
		p := classifyLine(l)
		if p.Path != "" {
			pendingOpen = &p
		}
		o.addProblem(p)
	}
}

func (o *Output) addProblem(p Problem) {
	for _, q := range o.Problems {
		if q == p {
			return
		}
	}
	o.Problems = append(o.Problems, p)
}

// classifyLine classifies one error line.
func classifyLine(l string) Problem {
	l = strings.TrimSpace(l)
	lower := strings.ToLower(l)
	switch {
	case strings.Contains(lower, "openssl: not found"), strings.Contains(lower, "openssl: command not found"),
		strings.Contains(lower, "openssl: no such file or directory"), strings.Contains(lower, "openssl not found"):
		return Problem{Kind: OpenSSLMissing, Message: clip(l, 300)}
	}
	if m := openFailed11.FindStringSubmatch(l); m != nil {
		k := Other
		if strings.Contains(m[2], "No such file") {
			k = FileMissing
		}
		return Problem{Kind: k, Path: m[1], Message: clip(l, 300)}
	}
	if m := openFailed10.FindStringSubmatch(l); m != nil {
		return Problem{Kind: FileMissing, Path: m[1], Message: clip(l, 300)}
	}
	return Problem{Kind: Other, Message: clip(l, 300)}
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
