package catrust

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// The codes of validate's problems; docs/api.md lists them.
const (
	codeEmpty             = "Empty"
	codeNotBase64         = "NotBase64"
	codeBase64Encoded     = "Base64Encoded"
	codeNotPEM            = "NotPEM"
	codeCRLF              = "CRLF"
	codeUnparseable       = "Unparseable"
	codePrivateKey        = "PrivateKey"
	codeOtherBlock        = "OtherBlock"
	codeLayout            = "Layout"
	codeNotCA             = "NotCA"
	codeExpired           = "Expired"
	codeNotYetValid       = "NotYetValid"
	codeExpiring          = "Expiring"
	codeDuplicate         = "Duplicate"
	codeTooMany           = "TooMany"
	codeWrongName         = "WrongName"
	codeWrongNamespace    = "WrongNamespace"
	codeWrongType         = "WrongType"
	codeNotASecret        = "NotASecret"
	codeNotCertificateKey = "NotCertificateKey"
	codeSeveralPerKey     = "SeveralPerKey"
	codeNoCertificates    = "NoCertificates"
)

// finding is a problem found in one value, before it is given a location.
type finding struct {
	severity, code, message string
}

// origin is what a value is, for the wording of findings.
type origin int

const (
	// fromSecret is the value of one data key of the trust secret.
	fromSecret origin = iota
	// fromBundle is a node-pool bundle file.
	fromBundle
	// fromAKS is one entry of an AKS managed cluster's list, its base64
	// taken off.
	fromAKS
)

// checker judges values and certificates against the settings of a command.
type checker struct {
	now        time.Time
	thresholds expiry.Thresholds
	allowNonCA bool
}

// inspectValue reads one value (a data key's or a bundle file's) and returns
// the certificates it holds and what is wrong with the value as a whole.
// Certificates are judged by checkCert. A private key is named, never read.
func (c *checker) inspectValue(data []byte, o origin) ([]*x509.Certificate, []finding) {
	what := map[origin]string{fromSecret: "the value", fromBundle: "the file", fromAKS: "the entry"}[o]
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, []finding{{api.CATrustSeverityError, codeEmpty, what + " is empty: it holds no certificate"}}
	}
	var out []finding
	hasKey := containsPrivateKey(data)
	if hasKey {
		out = append(out, finding{api.CATrustSeverityError, codePrivateKey, what + " holds a private key (not read, not printed): " +
			"a trust store takes CA certificates only; remove the key, and replace it if it was exposed"})
	}
	f, err := readBundle(data)
	b := f.Parsed
	if err != nil && !(hasKey && onlyKeys(b)) {
		code := codeUnparseable
		if errors.Is(err, certificate.ErrNoCertificate) {
			code = codeNotPEM
		}
		out = append(out, finding{api.CATrustSeverityError, code, what + " does not hold a readable certificate: " + safeMessage(err.Error())})
	}
	if b == nil {
		return nil, out
	}
	out = append(out, encodingFindings(b, o, what)...)
	if o == fromBundle && err == nil {
		for _, l := range f.Layout {
			out = append(out, finding{api.CATrustSeverityError, codeLayout, l + " (kubectl ca-trust export writes the format)"})
		}
	}
	return b.Certificates, out
}

// encodingFindings says what is wrong with how b was encoded: base64 of PEM
// where PEM belongs, DER, CRLF, blocks that are not certificates.
func encodingFindings(b *certificate.Bundle, o origin, what string) []finding {
	var out []finding
	// add and sync refuse to rewrite a value that holds more than
	// certificates: say so where they are advised.
	rewriters := "run kubectl ca-trust add or sync, which rewrite it as PEM"
	lfWriters := "kubectl ca-trust add and export, which write LF"
	if len(b.Skipped) > 0 {
		rewriters = "remove what is not a certificate and then run kubectl ca-trust add or sync, which rewrite it as PEM (they refuse to while it holds more)"
		lfWriters = "remove what is not a certificate and then run kubectl ca-trust add, which writes LF"
	}
	if b.Base64Layers > 0 {
		inner := "PEM"
		if b.Format == certificate.FormatBase64DER {
			inner = "DER"
		}
		msg := fmt.Sprintf("%s is %s%s: ", what, strings.Repeat("base64 of ", b.Base64Layers), inner)
		switch o {
		case fromSecret:
			msg += "the certificate was base64-encoded before the Secret's own encoding, so the manifest holds base64 of base64; " +
				"nodes need PEM: encode the PEM once (base64 -w0), or " + rewriters
		case fromAKS:
			msg += "the file given to az aks update --custom-ca-trust-certificates held base64 where PEM belongs, so the list holds base64 of base64 " +
				"and nodes fail with x509: certificate signed by unknown authority; " + strings.Replace(rewriters, "run kubectl ca-trust add or sync", "run kubectl ca-trust add or sync --store aks", 1)
		default:
			msg += "the node-pool file takes PEM text: decode it (base64 -d), or write it with kubectl ca-trust export"
		}
		out = append(out, finding{api.CATrustSeverityError, codeBase64Encoded, msg})
	}
	if b.Format == certificate.FormatDER || b.Format == certificate.FormatBase64DER {
		out = append(out, finding{api.CATrustSeverityError, codeNotPEM, what + " is DER, not PEM: nodes need PEM " +
			"(openssl x509 -inform der -outform pem, or kubectl ca-trust add, which converts it)"})
	}
	if b.CRLF && o == fromAKS {
		out = append(out, finding{api.CATrustSeverityError, codeCRLF, what + " has CRLF line endings: AKS takes them and nodes then fail with " +
			"x509: certificate signed by unknown authority; " + strings.Replace(rewriters, "run kubectl ca-trust add or sync", "run kubectl ca-trust add or sync --store aks", 1)})
	} else if b.CRLF {
		out = append(out, finding{api.CATrustSeverityError, codeCRLF, what + " has CRLF line endings: nodes need LF " +
			"(dos2unix, or " + lfWriters + ")"})
	}
	for _, s := range b.Skipped {
		if !strings.HasPrefix(s, "a private key") {
			out = append(out, finding{api.CATrustSeverityError, codeOtherBlock, what + " holds " + s + ", which is not a certificate: remove it"})
		}
	}
	return out
}

// checkCert judges one certificate: a CA (unless allowNonCA), and its
// validity period against the thresholds.
func (c *checker) checkCert(cert *x509.Certificate) []finding {
	var out []finding
	name := certName(cert)
	if !isCA(cert) && !c.allowNonCA {
		out = append(out, finding{api.CATrustSeverityError, codeNotCA, name + " is not a CA (basicConstraints CA:TRUE is missing): " +
			"nodes should trust the CA that issued it, not the certificate itself (--allow-non-ca accepts it)"})
	}
	left := cert.NotAfter.Sub(c.now)
	switch c.thresholds.Status(cert.NotBefore, cert.NotAfter, c.now) {
	case api.StatusExpired:
		out = append(out, finding{api.CATrustSeverityCritical, codeExpired, fmt.Sprintf("%s expired on %s (%s ago): "+
			"remove it (kubectl ca-trust remove --expired) and add its successor", name, day(cert.NotAfter), duration.Residual(-left))})
	case api.StatusNotYetValid:
		out = append(out, finding{api.CATrustSeverityCritical, codeNotYetValid, fmt.Sprintf("%s is not valid before %s", name, day(cert.NotBefore))})
	case api.StatusCritical:
		out = append(out, finding{api.CATrustSeverityCritical, codeExpiring, fmt.Sprintf("%s expires on %s, in %s (within --critical-within): "+
			"add its successor now", name, day(cert.NotAfter), duration.Residual(left))})
	case api.StatusWarning:
		out = append(out, finding{api.CATrustSeverityWarning, codeExpiring, fmt.Sprintf("%s expires on %s, in %s (within --warn-within): "+
			"add its successor", name, day(cert.NotAfter), duration.Residual(left))})
	}
	return out
}

// isCA reports whether cert says basicConstraints CA:TRUE.
func isCA(cert *x509.Certificate) bool { return cert.BasicConstraintsValid && cert.IsCA }

// certName names a certificate in messages: its subject.
func certName(cert *x509.Certificate) string {
	if s := cert.Subject.String(); s != "" {
		return s
	}
	return "the certificate with serial " + fmt.Sprintf("%x", cert.SerialNumber)
}

// day formats an instant for messages.
func day(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// onlyKeys reports whether every block b skipped is a private key and it
// holds no certificate: the private key finding says all there is to say.
func onlyKeys(b *certificate.Bundle) bool {
	if b == nil {
		return true
	}
	for _, s := range b.Skipped {
		if !strings.HasPrefix(s, "a private key") {
			return false
		}
	}
	return len(b.Certificates) == 0
}

// privateKeyMarker is how every PEM private key block (PKCS#1, PKCS#8, EC,
// encrypted, OpenSSH) names itself.
const privateKeyMarker = "PRIVATE KEY"

// containsPrivateKey reports whether data holds a PEM private key, as is or
// under up to two layers of base64. Nothing is decoded beyond the base64.
func containsPrivateKey(data []byte) bool {
	for range 3 {
		if bytes.Contains(data, []byte(privateKeyMarker)) {
			return true
		}
		decoded, ok := decodeBase64(data)
		if !ok {
			return false
		}
		data = decoded
	}
	return false
}

// decodeBase64 decodes data when it is nothing but base64 (standard or URL
// alphabet, padded or not) and white space.
func decodeBase64(data []byte) ([]byte, bool) {
	compact := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, bytes.TrimSpace(data))
	s := strings.TrimRight(string(compact), "=")
	if len(s) < 16 {
		return nil, false
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if out, err := enc.DecodeString(s); err == nil {
			return out, true
		}
	}
	return nil, false
}

// safeMessage makes a parser's message safe to print: the words a private
// key block names itself with are not repeated (the key is never printed;
// this keeps output free of anything that looks like one).
func safeMessage(s string) string {
	return strings.ReplaceAll(s, privateKeyMarker, "private key")
}
