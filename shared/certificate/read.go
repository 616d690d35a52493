// Package certificate reads X.509 certificates from the forms operators and
// platforms store them in (PEM bundles with any line endings, DER, base64 of
// PEM) and describes them as report entries.
//
// Private keys are recognised only to be skipped: their blocks are never
// decoded, kept or printed.
package certificate

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxFileSize is the largest file ReadFile reads: 8 MiB, far above any real
// bundle (a system trust store is about 200 KiB) and small enough that a
// wrong path (a disk image, a log) fails fast instead of filling memory.
const MaxFileSize = 8 << 20

// Format is the encoding a bundle was found in.
type Format string

// The formats Parse recognises.
const (
	FormatPEM       Format = "PEM"
	FormatDER       Format = "DER"
	FormatBase64PEM Format = "base64-PEM"
	FormatBase64DER Format = "base64-DER"
)

// Bundle is what Parse found in one input.
type Bundle struct {
	Certificates []*x509.Certificate
	Format       Format
	// CRLF is true when the input had CRLF (or CR) line endings.
	CRLF bool
	// Base64Layers counts base64 encodings wrapped around the PEM or DER
	// (1 for a base64-encoded PEM file; 2 for base64 of base64).
	Base64Layers int
	// Skipped names the PEM blocks that were not certificates, by type and
	// position; a private key is named, never decoded.
	Skipped []string
}

// Notes describes, in words for people, what was unusual about the input.
func (b *Bundle) Notes() []string {
	var notes []string
	if b.Base64Layers == 1 {
		notes = append(notes, "the data is base64-encoded "+strings.TrimPrefix(string(b.Format), "base64-")+"; decoded")
	} else if b.Base64Layers > 1 {
		notes = append(notes, fmt.Sprintf("the data is base64-encoded %d times; decoded", b.Base64Layers))
	}
	if b.CRLF {
		notes = append(notes, "CRLF line endings")
	}
	for _, s := range b.Skipped {
		notes = append(notes, "skipped "+s)
	}
	return notes
}

// ErrNoCertificate is returned (wrapped) when an input holds no certificate.
var ErrNoCertificate = errors.New("no certificate found")

// ReadFile reads and parses the file at path, refusing files larger than
// MaxFileSize. Errors name the path.
func ReadFile(path string) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the path
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	} else if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes is over the %d-byte limit for a certificate file", path, st.Size(), MaxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: over the %d-byte limit for a certificate file", path, MaxFileSize)
	}
	b, err := Parse(data)
	if err != nil {
		return b, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Parse reads every certificate in data: a PEM bundle (CERTIFICATE blocks;
// other blocks skipped; LF, CRLF or CR line endings), DER (one or more
// concatenated certificates), or either of those base64-encoded (up to two
// layers, as happens when a Secret's value is encoded once too often).
//
// On error the returned Bundle, when not nil, still holds what could be read
// (the certificates before a malformed block, say).
func Parse(data []byte) (*Bundle, error) {
	return parse(data, 0)
}

const maxBase64Layers = 2

func parse(data []byte, layers int) (*Bundle, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		if layers > 0 {
			return nil, fmt.Errorf("base64 decodes to nothing")
		}
		return nil, fmt.Errorf("empty: %w", ErrNoCertificate)
	}
	switch {
	case bytes.Contains(trimmed, []byte("-----BEGIN")):
		b, err := parsePEM(trimmed)
		if b != nil {
			b.Base64Layers = layers
			if layers > 0 {
				b.Format = FormatBase64PEM
			}
		}
		return b, err
	case trimmed[0] == 0x30: // an ASN.1 SEQUENCE: DER
		// DER is binary: its last bytes may well be white space, so white
		// space after it is dropped one byte at a time until it parses.
		der := bytes.TrimLeft(data, " \t\r\n\v\f")
		certs, err := x509.ParseCertificates(der)
		for err != nil && len(der) > 0 && bytes.IndexByte([]byte(" \t\r\n\v\f"), der[len(der)-1]) >= 0 {
			der = der[:len(der)-1]
			certs, err = x509.ParseCertificates(der)
		}
		if err != nil {
			return nil, fmt.Errorf("DER data does not parse as a certificate: %v", err)
		}
		b := &Bundle{Certificates: certs, Format: FormatDER, Base64Layers: layers}
		if layers > 0 {
			b.Format = FormatBase64DER
		}
		return b, nil
	}
	if decoded, ok := decodeBase64(trimmed); ok && layers < maxBase64Layers {
		b, err := parse(decoded, layers+1)
		if err == nil {
			return b, nil
		}
		return nil, fmt.Errorf("base64 data that is not a certificate: %v", err)
	}
	if !isText(trimmed) {
		return nil, fmt.Errorf("binary data that is neither PEM, DER nor base64: %w", ErrNoCertificate)
	}
	return nil, fmt.Errorf("text without a PEM block (no -----BEGIN line): %w", ErrNoCertificate)
}

func parsePEM(data []byte) (*Bundle, error) {
	b := &Bundle{Format: FormatPEM}
	if bytes.IndexByte(data, '\r') >= 0 {
		b.CRLF = true
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	}
	rest := data
	index := 0
	lineAt := func(off int) int { return 1 + bytes.Count(data[:len(data)-len(rest)+off], []byte("\n")) }
	for {
		start := bytes.Index(rest, []byte("-----BEGIN"))
		if orphan := bytes.Index(rest, []byte("-----END")); orphan >= 0 && (start < 0 || orphan < start) {
			// An END line outside any block: its BEGIN line is missing, and
			// the body above it would otherwise pass as text and be lost.
			return b, fmt.Errorf("PEM block %d (line %d): END line without a BEGIN line", index+1, lineAt(orphan))
		}
		if start < 0 {
			break
		}
		index++
		line := lineAt(start)
		header := rest[start:]
		if nl := bytes.IndexByte(header, '\n'); nl >= 0 {
			header = header[:nl]
		}
		blockType := pemType(header)
		// Each block is cut at its own END line and decoded alone, so that a
		// malformed block is reported as such rather than skipped over.
		end := bytes.Index(rest[start:], []byte("-----END"))
		next := bytes.Index(rest[start+len("-----BEGIN"):], []byte("-----BEGIN"))
		if end < 0 || (next >= 0 && next+len("-----BEGIN") < end) {
			// No END before the next BEGIN: cut at the next block's END,
			// this block would be skipped over by pem.Decode, not reported.
			return b, fmt.Errorf("PEM block %d (line %d): truncated %s block, no END line", index, line, describeType(blockType))
		}
		segEnd := start + end
		if nl := bytes.IndexByte(rest[segEnd:], '\n'); nl >= 0 {
			segEnd += nl + 1
		} else {
			segEnd = len(rest)
		}
		segment := rest[start:segEnd]
		rest = rest[segEnd:]
		if strings.Contains(string(header), "PRIVATE KEY") {
			// Never decoded: a key is named and skipped.
			// Named in words, not by its PEM type: output is scanned for
			// the string PRIVATE KEY, and none may appear.
			b.Skipped = append(b.Skipped, fmt.Sprintf("a private key (PEM block %d), not read", index))
			continue
		}
		block, _ := pem.Decode(segment)
		if block == nil {
			return b, fmt.Errorf("PEM block %d (line %d): malformed %s block (bad base64 or mismatched BEGIN/END lines)", index, line, describeType(blockType))
		}
		if block.Type != "CERTIFICATE" && block.Type != "TRUSTED CERTIFICATE" && block.Type != "X509 CERTIFICATE" {
			b.Skipped = append(b.Skipped, fmt.Sprintf("a %s (PEM block %d)", describeType(block.Type), index))
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return b, fmt.Errorf("PEM block %d (line %d): CERTIFICATE does not parse: %v", index, line, err)
		}
		b.Certificates = append(b.Certificates, cert)
	}
	if len(b.Certificates) == 0 {
		if len(b.Skipped) > 0 {
			return b, fmt.Errorf("no CERTIFICATE block, only %s: %w", strings.Join(b.Skipped, ", "), ErrNoCertificate)
		}
		return b, fmt.Errorf("no CERTIFICATE block: %w", ErrNoCertificate)
	}
	return b, nil
}

// pemType is the type named by a "-----BEGIN TYPE-----" line, or "" when
// the line is not well formed.
func pemType(header []byte) string {
	h := strings.TrimRight(string(header), " \t")
	if !strings.HasPrefix(h, "-----BEGIN ") || !strings.HasSuffix(h, "-----") || len(h) < len("-----BEGIN -----") {
		return ""
	}
	t := h[len("-----BEGIN ") : len(h)-len("-----")]
	for _, c := range t {
		if c < ' ' || c > '~' {
			return ""
		}
	}
	return t
}

// describeType names a block type in messages: a private key in words (no
// output may contain the string PRIVATE KEY), an unreadable header as such,
// and nothing taken verbatim beyond 40 characters.
func describeType(t string) string {
	switch {
	case t == "":
		return "PEM (malformed BEGIN line)"
	case strings.Contains(t, "PRIVATE KEY"):
		return "private key"
	case len(t) > 40:
		return t[:40] + "…"
	}
	return t
}

// decodeBase64 decodes data when it is nothing but base64 (standard or URL
// alphabet, padded or not) and white space.
func decodeBase64(data []byte) ([]byte, bool) {
	compact := make([]byte, 0, len(data))
	for _, c := range data {
		switch {
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
			c == '+', c == '/', c == '=', c == '-', c == '_':
			compact = append(compact, c)
		default:
			return nil, false
		}
	}
	if len(compact) < 16 { // too short to be a certificate in any form
		return nil, false
	}
	s := strings.TrimRight(string(compact), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if out, err := enc.DecodeString(s); err == nil {
			return out, true
		}
	}
	return nil, false
}

func isText(data []byte) bool {
	for _, c := range data {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
			return false
		}
	}
	return true
}
