package catrust

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/kubecerts/kubecerts/shared/certificate"
)

// The node-pool bundle format is what `az aks create/update
// --custom-ca-trust-certificates FILE` takes: PEM CERTIFICATE blocks (not
// base64 of them), LF line endings, separated by one blank line, at most
// DefaultMax of them.

// encodePEM is cert as one LF-only PEM CERTIFICATE block, the form every
// certificate is stored in.
func encodePEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// encodePEMs is certs as consecutive PEM blocks, for a data key that holds
// more than one certificate.
func encodePEMs(certs []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		b.Write(encodePEM(c))
	}
	return b.Bytes()
}

// FormatBundle writes certs in the node-pool bundle format: PEM blocks
// separated by one blank line, LF only, ending in a newline.
func FormatBundle(certs []*x509.Certificate) []byte {
	var b bytes.Buffer
	for i, c := range certs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.Write(encodePEM(c))
	}
	return b.Bytes()
}

// bundleFile is what readBundle found in a node-pool bundle file.
type bundleFile struct {
	// Parsed holds the certificates and how they were encoded (CRLF, base64
	// layers, DER, blocks skipped).
	Parsed *certificate.Bundle
	// Layout lists where PEM text departs from the node-pool layout.
	Layout []string
}

// readBundle reads a node-pool bundle file: any encoding certificate.Parse
// reads, with Layout telling where PEM text departs from the format
// FormatBundle writes. On error Parsed, when not nil, holds what could be
// read. Error messages never quote the data.
func readBundle(data []byte) (*bundleFile, error) {
	b, err := certificate.Parse(data)
	f := &bundleFile{Parsed: b}
	if b != nil && b.Format == certificate.FormatPEM {
		f.Layout = layoutProblems(data)
	}
	return f, err
}

// layoutProblems lists, for people, where PEM text departs from the
// node-pool layout: text outside the PEM blocks and blocks that are not
// separated by a blank line. Line numbers count from 1; CR and CRLF line
// endings count as LF (they are a problem of their own).
func layoutProblems(data []byte) []string {
	var problems []string
	for _, d := range scanLayout(data) {
		if d.text {
			problems = append(problems, textOutside(d.after, d.line))
		} else {
			problems = append(problems, fmt.Sprintf("line %d: PEM blocks %d and %d are not separated by a blank line", d.line, d.after, d.after+1))
		}
	}
	return problems
}

// hasTextOutsideBlocks reports whether PEM text holds anything but PEM
// blocks and blank lines: such text may be anything, a password too.
func hasTextOutsideBlocks(data []byte) bool {
	for _, d := range scanLayout(data) {
		if d.text {
			return true
		}
	}
	return false
}

// departure is one place where PEM text departs from the node-pool layout:
// text outside the blocks (text) or two blocks with no blank line between
// them, at line, after the first `after` blocks.
type departure struct {
	line, after int
	text        bool
}

func scanLayout(data []byte) []departure {
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	var (
		out      []departure
		inBlock  bool
		blocks   int  // blocks ended so far
		blank    bool // a blank line since the last END
		textLine int  // first line of text outside the blocks since the last END, 0 if none
	)
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		switch {
		case inBlock:
			if strings.HasPrefix(trimmed, "-----END") {
				inBlock, blocks, blank, textLine = false, blocks+1, false, 0
			}
		case strings.HasPrefix(trimmed, "-----BEGIN"):
			if textLine > 0 {
				out = append(out, departure{line: textLine, after: blocks, text: true})
			} else if blocks > 0 && !blank {
				out = append(out, departure{line: n, after: blocks})
			}
			inBlock, textLine = true, 0
		case trimmed == "":
			blank = true
		case textLine == 0:
			textLine = n
		}
	}
	if textLine > 0 {
		out = append(out, departure{line: textLine, after: blocks, text: true})
	}
	return out
}

// textOutside describes text found at line n after the first `after` blocks.
func textOutside(after, n int) string {
	where := "before the first PEM block"
	if after > 0 {
		where = fmt.Sprintf("after PEM block %d", after)
	}
	return fmt.Sprintf("line %d: text %s; the file must hold nothing but PEM blocks and blank lines", n, where)
}
