package catrust

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/expiry"
	"github.com/kubecerts/kubecerts/shared/printing"
)

var (
	validateLong = cli.LongDesc(`
		Check the trust secret in the cluster, a Secret manifest (-f), or a
		node-pool bundle file (--file) offline, and explain each problem found:

		* CRLF line endings; data that is base64 of base64 (a certificate encoded
		  before the Secret's own encoding), or a base64-encoded bundle file; DER or
		  text that is not PEM; manifest data that is not base64 at all
		* a certificate that does not parse, a private key (never printed), other
		  PEM blocks; in a bundle file, text outside the PEM blocks or blocks not
		  separated by a blank line
		* a certificate that is not a CA, expired, not yet valid, or expiring within
		  --critical-within or --warn-within; the same certificate twice; more than
		  --max (10) certificates
		* a Secret with another name or namespace than --secret and -n
		  (custom-ca-trust-secret in kube-system), or of a type other than Opaque

		Exit status: 1 when an error is found; 2 when the worst is a certificate
		within --warn-within; 3 when one is expired, not yet valid or within
		--critical-within; the highest wins; 0 when nothing but notes is found.

		With --store aks (the default on an AKS cluster) it checks the managed
		cluster's CA list instead, each entry by the secret's rules, plus what AKS
		refuses or nodes fail on: an entry that is not base64 (NotBase64), base64
		of base64 (Base64Encoded), CRLF line endings (CRLF), more than 10.`)

	validateExample = templates.Examples(`
		# The secret in the cluster
		kubectl ca-trust validate

		# A manifest before it is applied, in CI
		kubectl ca-trust validate -f custom-ca-trust-secret.yaml

		# The file for az aks create/update --custom-ca-trust-certificates
		kubectl ca-trust validate --file cas.pem -o json`)
)

// The kinds of input validate checks.
const (
	inputSecret   = "secret"
	inputManifest = "manifest"
	inputBundle   = "bundle"
	inputAKS      = "aks"
)

// ValidateOptions is kubectl ca-trust validate.
type ValidateOptions struct {
	secretOptions
	BundleFile string
	Filename   string
	Max        int
	AllowNonCA bool
	Thresholds expiry.Thresholds
	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	printer printers.ResourcePrinter
}

// NewValidateOptions returns the defaults.
func NewValidateOptions(streams genericiooptions.IOStreams) *ValidateOptions {
	return &ValidateOptions{Max: DefaultMax, Thresholds: expiry.DefaultThresholds(), PrintFlags: printing.NewPrintFlags(), IOStreams: streams}
}

// NewCmdValidate is kubectl ca-trust validate.
func NewCmdValidate(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdValidate(f, NewValidateOptions(streams))
}

func newCmdValidate(f cmdutil.Factory, o *ValidateOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "validate [--file BUNDLE | -f SECRET.yaml] [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Check the trust secret, a Secret manifest or a bundle file, and explain each problem",
		Long:                  validateLong,
		Example:               validateExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.addFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.BundleFile, "file", "", "Check this node-pool bundle file (- for standard input) instead of the secret in the cluster.")
	fl.StringVarP(&o.Filename, "filename", "f", "", "Check this Secret manifest, YAML or JSON (- for standard input), instead of the secret in the cluster.")
	fl.IntVar(&o.Max, "max", o.Max, "The most certificates allowed (the node-pool file of az aks takes 10).")
	fl.BoolVar(&o.AllowNonCA, "allow-non-ca", false, "Do not report certificates that are not CAs.")
	o.Thresholds.AddFlags(fl)
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Complete resolves the secret and the printer.
func (o *ValidateOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return cli.UsageErrorf(cmd, "unexpected argument %q; use --file for a bundle or -f for a manifest", args[0])
	}
	o.complete(f)
	var err error
	o.printer, err = o.PrintFlags.ToPrinter()
	return err
}

// Validate checks the flags.
func (o *ValidateOptions) Validate(cmd *cobra.Command) error {
	if o.BundleFile != "" && o.Filename != "" {
		return cli.UsageErrorf(cmd, "--file and -f/--filename exclude each other")
	}
	if o.Max < 1 {
		return cli.UsageErrorf(cmd, "--max %d: must be at least 1", o.Max)
	}
	if o.isAKS() && o.BundleFile == "" && o.Filename == "" && o.Max > AKSMax {
		return cli.UsageErrorf(cmd, "--max %d: an AKS cluster's list holds at most %d", o.Max, AKSMax)
	}
	if err := o.Thresholds.Validate(); err != nil {
		return cli.UsageErrorf(cmd, "%v", err)
	}
	return o.validate(cmd)
}

// Run checks the input, prints what it found and returns the exit status.
func (o *ValidateOptions) Run(cmd *cobra.Command) error {
	var (
		v   *validator
		err error
	)
	switch {
	case o.BundleFile != "":
		v, err = o.validateBundleFile()
	case o.Filename != "":
		v, err = o.validateManifestFile()
	case o.isAKS():
		o.printStoreNotes(o.ErrOut, o.PrintFlags.Machine())
		v, err = o.validateAKSList(cmd)
	default:
		o.printStoreNotes(o.ErrOut, o.PrintFlags.Machine())
		v, err = o.validateClusterSecret(cmd)
	}
	if err != nil {
		return err
	}
	if err := o.printer.PrintObj(v.out, o.Out); err != nil {
		return err
	}
	if !o.PrintFlags.Machine() && len(v.out.Problems) == 0 {
		fmt.Fprintf(o.ErrOut, "note: %s: %s, no problems found\n", v.out.Input, certificates(len(v.out.Certificates)))
	}
	return exitcode.WithStatus(v.exitCode(), nil)
}

// certificates is "1 certificate" or "N certificates".
func certificates(n int) string {
	if n == 1 {
		return "1 certificate"
	}
	return fmt.Sprintf("%d certificates", n)
}

// newValidator starts a validation of the input named.
func (o *ValidateOptions) newValidator(kind, input string) *validator {
	now := o.now()
	return &validator{
		checker: checker{now: now, thresholds: o.Thresholds, allowNonCA: o.AllowNonCA},
		max:     o.Max,
		out: &api.CATrustValidation{
			InputKind:             kind,
			Input:                 input,
			GeneratedAt:           metav1.NewTime(now.UTC()),
			WarnWithinSeconds:     int64(o.Thresholds.WarnWithin.Seconds()),
			CriticalWithinSeconds: int64(o.Thresholds.CriticalWithin.Seconds()),
			MaxCertificates:       o.Max,
			Certificates:          []api.CATrustEntry{},
			Problems:              []api.CATrustProblem{},
		},
		seen: map[string]string{},
	}
}

// validateClusterSecret checks the secret in the cluster.
func (o *ValidateOptions) validateClusterSecret(cmd *cobra.Command) (*validator, error) {
	sec, err := o.mustGet(cmd.Context())
	if err != nil {
		return nil, err
	}
	v := o.newValidator(inputSecret, "secret/"+o.ref.String())
	v.checkType(string(sec.Type), "type")
	v.checkData(sec.Data, nil, "", "secrets", v.out.Input+"/")
	v.finish("secret")
	return v, nil
}

// validateAKSList checks an AKS managed cluster's list: what the secret's
// values are checked for, each entry's base64 taken off, plus what AKS
// refuses: an entry that is not base64 of PEM, more than AKSMax.
func (o *ValidateOptions) validateAKSList(cmd *cobra.Command) (*validator, error) {
	mc, err := o.aks.show(cmd.Context())
	if err != nil {
		return nil, err
	}
	v := o.newValidator(inputAKS, "managedcluster/"+o.aks.ref.String())
	data, where := map[string][]byte{}, map[string]string{}
	for i, val := range mc.cas() {
		key, loc := fmt.Sprintf("ca%d.crt", i+1), fmt.Sprintf("customCATrustCertificates[%d]", i)
		decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val))
		if err != nil && strings.Contains(val, "-----BEGIN") {
			// az with the aks-preview extension shows the list decoded.
			decoded, err = []byte(val), nil
		}
		if err != nil {
			v.problem(loc, api.CATrustSeverityError, codeNotBase64, "is not base64 ("+err.Error()+"): AKS refuses such a list "+
				"(failed to decode one of SecurityProfile.CustomCATrustCertificates to PEM after base64 decoding); remove it (kubectl ca-trust remove "+key+" --store aks)")
			continue
		}
		data[key], where[key] = decoded, loc
	}
	v.checkAKSData(data, where, v.out.Input+"/")
	v.finish("customCATrustCertificates")
	return v, nil
}

// validateBundleFile checks a node-pool bundle file.
func (o *ValidateOptions) validateBundleFile() (*validator, error) {
	name, data, err := readData(o.BundleFile, o.In)
	if err != nil {
		return nil, err
	}
	v := o.newValidator(inputBundle, name)
	certs, findings := v.inspectValue(data, fromBundle)
	v.problems("file", findings)
	for i, c := range certs {
		key := fmt.Sprintf("#%d", i+1)
		v.addCert(key, key, "file", name+key, c)
	}
	v.finish("file")
	return v, nil
}

// validateManifestFile checks the Secret documents of a manifest.
func (o *ValidateOptions) validateManifestFile() (*validator, error) {
	name, data, err := readData(o.Filename, o.In)
	if err != nil {
		return nil, err
	}
	docs, err := decodeDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	v := o.newValidator(inputManifest, name)
	secrets := 0
	for _, d := range docs {
		if d.isSecret() {
			secrets++
		}
	}
	if secrets == 0 {
		v.problem("kind", api.CATrustSeverityError, codeNotASecret, "the manifest holds no Secret (apiVersion v1, kind Secret)")
	}
	for i, d := range docs {
		prefix := ""
		if len(docs) > 1 {
			prefix = fmt.Sprintf("document %d: ", i+1)
		}
		if !d.isSecret() {
			if secrets > 0 {
				v.problem(prefix+"kind", api.CATrustSeverityInfo, codeNotASecret, fmt.Sprintf("a %s %s, not a Secret; not checked", d.str("apiVersion"), d.str("kind")))
			}
			continue
		}
		o.checkManifestSecret(v, d, prefix, name)
		v.finish(strings.TrimSuffix(prefix, ": ") + "secret")
	}
	return v, nil
}

// checkManifestSecret checks one Secret document: its name, namespace and
// type, and every value of data (which must be base64) and stringData.
func (o *ValidateOptions) checkManifestSecret(v *validator, d document, prefix, file string) {
	meta := d.object("metadata")
	name, ns := meta.str("name"), meta.str("namespace")
	if name != o.ref.Name {
		v.problem(prefix+"metadata.name", api.CATrustSeverityError, codeWrongName,
			fmt.Sprintf("the Secret is named %q; nodes read the trust secret %s (--secret)", name, o.ref.Name))
	}
	switch {
	case ns == "":
		v.problem(prefix+"metadata.namespace", api.CATrustSeverityError, codeWrongNamespace,
			fmt.Sprintf("no namespace: kubectl apply would create the Secret in the current namespace; nodes read it from %s (-n)", o.ref.Namespace))
	case ns != o.ref.Namespace:
		v.problem(prefix+"metadata.namespace", api.CATrustSeverityError, codeWrongNamespace,
			fmt.Sprintf("the Secret is in namespace %q; nodes read it from %s (-n)", ns, o.ref.Namespace))
	}
	v.checkType(d.str("type"), prefix+"type")
	data := map[string][]byte{}
	where := map[string]string{}
	raw := d.object("data")
	for _, k := range raw.keys() {
		loc := prefix + "data." + k
		decoded, err := base64.StdEncoding.DecodeString(raw.str(k))
		if err != nil {
			v.problem(loc, api.CATrustSeverityError, codeNotBase64, notBase64Message(raw.str(k), err))
			continue
		}
		data[k], where[k] = decoded, loc
	}
	plain := d.object("stringData")
	for _, k := range plain.keys() {
		data[k], where[k] = []byte(plain.str(k)), prefix+"stringData."+k
	}
	v.checkData(data, where, prefix, "file", file+": ")
}

// notBase64Message explains a data value that is not base64.
func notBase64Message(value string, err error) string {
	if strings.Contains(value, "-----BEGIN") {
		return "holds PEM text where base64 belongs: a Secret's data values are base64 (base64 -w0 ca.crt); " +
			"or put the PEM under stringData, or use kubectl ca-trust add"
	}
	return "is not base64 (" + err.Error() + "): a Secret's data values are base64 (base64 -w0 ca.crt)"
}

// validator gathers what validate finds.
type validator struct {
	checker
	max  int
	out  *api.CATrustValidation
	seen map[string]string // fingerprint → location of its first copy
}

// problem records one problem.
func (v *validator) problem(location, severity, code, message string) {
	v.out.Problems = append(v.out.Problems, api.CATrustProblem{Severity: severity, Code: code, Location: location, Message: message})
}

// problems records findings at location.
func (v *validator) problems(location string, fs []finding) {
	for _, f := range fs {
		v.problem(location, f.severity, f.code, f.message)
	}
}

// addCert records a certificate found under key at location and checks it:
// a CA, its validity, a copy of one seen before.
func (v *validator) addCert(key, location, source, fullLocation string, cert *x509.Certificate) {
	e := api.CATrustEntry{Key: key, Certificate: certificate.Describe(cert, v.now, v.thresholds)}
	e.Source, e.Location = source, fullLocation
	v.out.Certificates = append(v.out.Certificates, e)
	v.problems(location, v.checkCert(cert))
	if first, ok := v.seen[e.SHA256Fingerprint]; ok {
		v.problem(location, api.CATrustSeverityError, codeDuplicate, fmt.Sprintf("%s is also at %s (sha256 %s): keep one copy",
			certName(cert), first, api.ShortFingerprint(e.SHA256Fingerprint)))
	} else {
		v.seen[e.SHA256Fingerprint] = location
	}
}

// checkType checks a Secret's type: Opaque (or empty, which is Opaque).
func (v *validator) checkType(t, location string) {
	if t != "" && t != string(corev1.SecretTypeOpaque) {
		v.problem(location, api.CATrustSeverityError, codeWrongType, fmt.Sprintf("the Secret's type is %s; the trust secret must be Opaque", t))
	}
}

// checkData checks the values of a secret: every certificate key as a
// value of the trust secret; other keys are noted. where gives a key's
// location (nil: prefix + the key); entryPrefix + that location is the
// location of its certificates in the report, from source.
func (v *validator) checkData(data map[string][]byte, where map[string]string, prefix, source, entryPrefix string) {
	v.checkValues(data, where, prefix, source, entryPrefix, fromSecret)
}

// checkAKSData checks the entries of an AKS cluster's list as checkData
// checks a secret's values, with AKS's wording.
func (v *validator) checkAKSData(data map[string][]byte, where map[string]string, entryPrefix string) {
	v.checkValues(data, where, "", "aks", entryPrefix, fromAKS)
}

// checkValues is checkData for values of origin o.
func (v *validator) checkValues(data map[string][]byte, where map[string]string, prefix, source, entryPrefix string, o origin) {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	found := 0
	for _, k := range keys {
		loc := prefix + k
		if w, ok := where[k]; ok {
			loc = w
		}
		if !isCertKey(k) {
			v.problem(loc, api.CATrustSeverityInfo, codeNotCertificateKey, notCertKeyMessage(data[k]))
			continue
		}
		certs, findings := v.inspectValue(data[k], o)
		v.problems(loc, findings)
		if len(certs) > 1 {
			v.problem(loc, api.CATrustSeverityInfo, codeSeveralPerKey, fmt.Sprintf("holds %d certificates; kubectl ca-trust stores one per key", len(certs)))
		}
		for _, c := range certs {
			v.addCert(k, loc, source, entryPrefix+loc, c)
		}
		found++
	}
	switch {
	case found == 0 && o == fromAKS:
		v.problem("customCATrustCertificates", api.CATrustSeverityInfo, codeNoCertificates, "the list is empty: nodes get no custom CA from it")
	case found == 0:
		v.problem(strings.TrimSuffix(prefix, ": ")+"data", api.CATrustSeverityInfo, codeNoCertificates, "no certificate keys (*"+certKeySuffix+"): nodes get no custom CA from it")
	}
}

// notCertKeyMessage explains a key that is not a certificate key, without
// ever quoting its value.
func notCertKeyMessage(value []byte) string {
	if !containsPrivateKey(value) {
		if b, err := certificate.Parse(value); err == nil && len(b.Certificates) > 0 {
			return "holds a certificate, but its name does not end in " + certKeySuffix + ": it is not a certificate key, " +
				"ca-trust does not count it and nodes may ignore it; store it as caN.crt"
		}
	}
	return "not a certificate key (its name does not end in " + certKeySuffix + "): not checked, and kept untouched by ca-trust"
}

// finish checks the count of certificates against --max.
func (v *validator) finish(location string) {
	if n := len(v.out.Certificates); n > v.max {
		v.problem(location, api.CATrustSeverityError, codeTooMany, fmt.Sprintf("%d certificates, over --max %d: "+
			"AKS takes at most 10 custom CAs (the node-pool file's limit)", n, v.max))
	}
}

// exitCode is the exit status of the problems found: error 1, warning 2,
// critical 3, the highest wins.
func (v *validator) exitCode() int {
	code := exitcode.OK
	for _, p := range v.out.Problems {
		switch p.Severity {
		case api.CATrustSeverityError:
			code = exitcode.Max(code, exitcode.Error)
		case api.CATrustSeverityWarning:
			code = exitcode.Max(code, exitcode.Warning)
		case api.CATrustSeverityCritical:
			code = exitcode.Max(code, exitcode.Critical)
		}
	}
	return code
}

// document is one decoded YAML or JSON document of a manifest.
type document map[string]interface{}

// decodeDocuments decodes every document of a YAML stream or JSON file.
func decodeDocuments(data []byte) ([]document, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var docs []document
	for {
		var raw interface{}
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a YAML or JSON manifest: %s", safeMessage(err.Error()))
		}
		switch d := raw.(type) {
		case nil:
		case map[string]interface{}:
			docs = append(docs, document(d))
		default:
			return nil, fmt.Errorf("not a YAML or JSON manifest: document %d is %s, not an object "+
				"(a Secret manifest is a map with apiVersion: v1 and kind: Secret)", len(docs)+1, jsonKind(d))
		}
	}
	if len(docs) == 0 {
		return nil, errors.New("empty: no YAML or JSON document")
	}
	return docs, nil
}

// jsonKind names the kind of a decoded JSON value that is not an object,
// without quoting it.
func jsonKind(v interface{}) string {
	switch v.(type) {
	case string:
		return "a string (text)"
	case []interface{}:
		return "a list"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// isSecret reports whether d is a v1 Secret.
func (d document) isSecret() bool { return d.str("apiVersion") == "v1" && d.str("kind") == "Secret" }

// str is the string at key, "" when absent or not a string.
func (d document) str(key string) string {
	s, _ := d[key].(string)
	return s
}

// object is the map at key, empty when absent or not a map.
func (d document) object(key string) document {
	m, _ := d[key].(map[string]interface{})
	return document(m)
}

// keys lists d's keys, sorted.
func (d document) keys() []string {
	out := make([]string, 0, len(d))
	for k := range d {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
