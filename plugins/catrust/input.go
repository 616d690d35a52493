package catrust

import (
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kubecerts/kubecerts/shared/certificate"
)

// input is one FILE (or - for standard input) given to add or sync, read
// and parsed.
type input struct {
	// name is the path, or "stdin".
	name  string
	certs []*x509.Certificate
	// notes say, for people, what was converted: CRLF, base64, DER, blocks
	// skipped.
	notes []string
}

// readData reads path, or standard input for "-", refusing more than
// certificate.MaxFileSize bytes. Errors name the input.
func readData(path string, stdin io.Reader) (name string, data []byte, err error) {
	name = path
	var r io.Reader
	if path == "-" {
		name, r = "stdin", stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return name, nil, err // *PathError names the path
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return name, nil, fmt.Errorf("%s: is a directory", name)
		}
		r = f
	}
	data, err = io.ReadAll(io.LimitReader(r, certificate.MaxFileSize+1))
	if err != nil {
		return name, nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > certificate.MaxFileSize {
		return name, nil, fmt.Errorf("%s: over the %d-byte limit for a certificate file", name, certificate.MaxFileSize)
	}
	return name, data, nil
}

// readInput reads one input of add or sync: PEM (one or many certificates,
// any line endings), DER, or base64 of either. An input that holds a private
// key is refused as a whole; the key is neither decoded nor echoed.
func readInput(path string, stdin io.Reader) (*input, error) {
	name, data, err := readData(path, stdin)
	if err != nil {
		return nil, err
	}
	if containsPrivateKey(data) {
		return nil, fmt.Errorf("%s: holds a private key; refused: a trust store takes CA certificates only "+
			"(the key was not read and is not printed; give the certificate alone)", name)
	}
	b, err := certificate.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, safeMessage(err.Error()))
	}
	in := &input{name: name, certs: b.Certificates}
	if b.Base64Layers > 0 {
		in.notes = append(in.notes, fmt.Sprintf("%s: base64-encoded %s; decoded, stored as PEM", name, strings.TrimPrefix(string(b.Format), "base64-")))
	}
	if b.Format == certificate.FormatDER || b.Format == certificate.FormatBase64DER {
		in.notes = append(in.notes, name+": DER; stored as PEM")
	}
	if b.CRLF {
		in.notes = append(in.notes, name+": CRLF line endings; stored with LF")
	}
	for _, s := range b.Skipped {
		in.notes = append(in.notes, name+": skipped "+s+", not a certificate")
	}
	return in, nil
}

// readInputs reads every input, all or nothing.
func readInputs(paths []string, stdin io.Reader) ([]*input, error) {
	var out []*input
	for _, p := range paths {
		in, err := readInput(p, stdin)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// admission says which certificates add and sync accept.
type admission struct {
	allowNonCA, allowExpired bool
}

// check judges every certificate of inputs at now: a CA unless allowNonCA,
// not expired unless allowExpired. The error lists every refusal, naming
// the input and the certificate.
func (a admission) check(inputs []*input, now time.Time) error {
	var problems []string
	for _, in := range inputs {
		for i, c := range in.certs {
			where := in.name + ": "
			if len(in.certs) > 1 {
				where = fmt.Sprintf("%s: certificate %d, ", in.name, i+1)
			}
			if !isCA(c) && !a.allowNonCA {
				problems = append(problems, where+certName(c)+" is not a CA (basicConstraints CA:TRUE is missing): "+
					"a trust store takes the CA that issued a server's certificate, not the certificate itself (--allow-non-ca adds it anyway)")
			}
			if now.After(c.NotAfter) && !a.allowExpired {
				problems = append(problems, where+certName(c)+" expired on "+day(c.NotAfter)+" (--allow-expired adds it anyway)")
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s; nothing was written", strings.Join(problems, "; "))
	}
	return nil
}
