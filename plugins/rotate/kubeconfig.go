package rotate

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/atomicfile"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/fserr"
	"github.com/kubecerts/kubecerts/shared/pki"
	"github.com/kubecerts/kubecerts/shared/printing"
	"github.com/kubecerts/kubecerts/shared/tlsprobe"
)

// KubeconfigOptions is kubectl rotate kubeconfig.
type KubeconfigOptions struct {
	AddCA              string
	RemoveCA           string
	RemoveFingerprints []string
	Force              bool
	DryRun             bool

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	file        string
	src         *kubeconfigFile
	clusterName string
	config      *clientcmdapi.Config
	timeout     time.Duration
	printer     printers.ResourcePrinter
	now         func() time.Time
}

// NewCmdKubeconfig is kubectl rotate kubeconfig.
func NewCmdKubeconfig(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdKubeconfig(f, &KubeconfigOptions{PrintFlags: printing.NewPrintFlags(), IOStreams: streams, now: time.Now})
}

func newCmdKubeconfig(f cmdutil.Factory, o *KubeconfigOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubeconfig (--add-ca FILE | --remove-ca FILE | --remove-fingerprint SHA256)",
		Short: "Move a kubeconfig across a CA rotation",
		Long: cli.LongDesc(`
			Change the CA bundle of the current context's cluster entry: during a CA
			rotation add the new CA beside the old one (the "update clients" phase:
			the kubeconfig then trusts both), and after the rotation completes remove
			the old one.

			Before writing, the new bundle is checked against the live server when it
			can be reached: a kubeconfig that could not verify the server is refused
			unless --force. The kubeconfig file is backed up first and replaced
			atomically; a CA given as a file path becomes embedded data.`),
		Example: templates.Examples(`
			# Trust the new CA too, while the rotation is under way
			kubectl rotate kubeconfig --add-ca new-ca.crt

			# After completion, drop the old CA
			kubectl rotate kubeconfig --remove-ca old-ca.crt`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(f, cmd); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.AddCA, "add-ca", "", "A file of CA certificates to add to the cluster's bundle.")
	fl.StringVar(&o.RemoveCA, "remove-ca", "", "A file of CA certificates to remove from the cluster's bundle.")
	fl.StringArrayVar(&o.RemoveFingerprints, "remove-fingerprint", nil, "The SHA-256 fingerprint of a CA to remove (hex, colons allowed); repeatable.")
	fl.BoolVar(&o.Force, "force", false, "Write even when the new bundle does not verify the live server.")
	fl.BoolVar(&o.DryRun, "dry-run", false, "Print the change; write nothing.")
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Complete finds the file that defines the current context's cluster.
func (o *KubeconfigOptions) Complete(f cmdutil.Factory, cmd *cobra.Command) error {
	n := 0
	for _, set := range []bool{o.AddCA != "", o.RemoveCA != "", len(o.RemoveFingerprints) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return cli.UsageErrorf(cmd, "give exactly one of --add-ca, --remove-ca or --remove-fingerprint")
	}
	for _, fp := range o.RemoveFingerprints {
		if normalizeFingerprint(fp) == "" {
			return cli.UsageErrorf(cmd, "--remove-fingerprint %q: not a SHA-256 fingerprint (64 hex digits, colons allowed)", fp)
		}
	}
	var err error
	if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
		return err
	}
	loader := f.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	ctxName, _ := cmd.Flags().GetString("context")
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	files := strings.Join(loader.ConfigAccess().GetLoadingPrecedence(), string(filepath.ListSeparator))
	if ctxName == "" {
		return fmt.Errorf("kubeconfig %s: no current context; give --context", files)
	}
	kctx := raw.Contexts[ctxName]
	if kctx == nil {
		return fmt.Errorf("--context %q: no such context in %s", ctxName, files)
	}
	o.clusterName = kctx.Cluster
	if v, _ := cmd.Flags().GetString("cluster"); v != "" {
		o.clusterName = v
	}
	if cfg, err := f.ToRESTConfig(); err == nil {
		o.timeout = cfg.Timeout
	}
	for _, file := range loader.ConfigAccess().GetLoadingPrecedence() {
		cfg, err := clientcmd.LoadFromFile(file)
		if err != nil {
			continue
		}
		if _, ok := cfg.Clusters[o.clusterName]; ok {
			// Read again, held where it lives: what is written is this
			// file, and only if nothing changed it meanwhile (see write).
			if o.src, o.config, err = openKubeconfig(file); err != nil {
				return err
			}
			if _, ok := o.config.Clusters[o.clusterName]; !ok {
				o.src.close()
				return fmt.Errorf("kubeconfig %s: changed while being read: cluster %q is gone; run the command again", file, o.clusterName)
			}
			o.file = file
			return nil
		}
	}
	return fmt.Errorf("kubeconfig %s: no file defines cluster %q (of context %q)", files, o.clusterName, ctxName)
}

// kubeconfigFile is the kubeconfig file the command read, held where it
// lives — the directory of the file it leads to (symbolic links followed
// once, when read) and the directory of the path given, where the backup
// goes — with what was read: the write replaces that file in that
// directory, and only if it is still the file read, unchanged. Root, when
// it rewrites a user's kubeconfig, thus never writes where the user
// re-pointed the path meanwhile (at /etc/passwd, say), and an edit made
// during the live check is not silently undone.
type kubeconfigFile struct {
	dir      *os.Root // the directory of the file
	name     string   // the file's name in dir
	linkDir  *os.Root // the directory of the path given
	linkName string   // the path's name in linkDir
	info     fs.FileInfo
	sum      [sha256.Size]byte
}

// openKubeconfig opens the directories of path and reads it as
// clientcmd.LoadFromFile does, through them.
func openKubeconfig(path string) (k *kubeconfigFile, cfg *clientcmdapi.Config, err error) {
	target := renewResolve(path)
	k = &kubeconfigFile{name: filepath.Base(target), linkName: filepath.Base(path)}
	defer func() {
		if err != nil {
			k.close()
		}
	}()
	if k.dir, err = os.OpenRoot(filepath.Dir(target)); err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", path, fserr.Cause(err))
	}
	if k.linkDir, err = os.OpenRoot(filepath.Dir(path)); err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", path, fserr.Cause(err))
	}
	if k.info, err = k.dir.Lstat(k.name); err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", path, fserr.Cause(err))
	}
	if !k.info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("kubeconfig %s: not a regular file", path)
	}
	data, err := k.dir.ReadFile(k.name)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", path, fserr.Cause(err))
	}
	k.sum = sha256.Sum256(data)
	if cfg, err = clientcmd.Load(data); err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	for _, c := range cfg.Clusters {
		c.LocationOfOrigin = path
	}
	for _, a := range cfg.AuthInfos {
		a.LocationOfOrigin = path
	}
	for _, c := range cfg.Contexts {
		c.LocationOfOrigin = path
	}
	return k, cfg, nil
}

func (k *kubeconfigFile) close() {
	if k == nil {
		return
	}
	for _, r := range []*os.Root{k.dir, k.linkDir} {
		if r != nil {
			r.Close()
		}
	}
}

// Run computes the new bundle, checks it against the live server, backs up
// and writes.
func (o *KubeconfigOptions) Run(ctx context.Context) error {
	defer o.src.close()
	cluster := o.config.Clusters[o.clusterName]
	current, err := o.currentBundle(cluster)
	if err != nil {
		return err
	}
	change := &api.KubeconfigCAChange{File: o.file, Cluster: o.clusterName, Server: cluster.Server, DryRun: o.DryRun}
	for _, c := range current {
		change.Before = append(change.Before, certificate.Fingerprint(c))
	}
	next, err := o.apply(current, change)
	if err != nil {
		return err
	}
	if len(next) == 0 {
		return fmt.Errorf("%s: that would remove every CA of cluster %q in %s; refusing", o.removing(), o.clusterName, o.file)
	}
	for _, c := range next {
		change.After = append(change.After, certificate.Fingerprint(c))
	}
	if o.AddCA != "" && len(change.Added) == 0 {
		fmt.Fprintf(o.ErrOut, "note: --add-ca %s: every CA in it is already in the bundle of cluster %q; nothing to change\n", o.AddCA, o.clusterName)
	}
	if err := o.checkLive(ctx, cluster, next, change); err != nil {
		return err
	}
	if !o.DryRun && (len(change.Added) > 0 || len(change.Removed) > 0) {
		if err := o.write(cluster, next, change); err != nil {
			return err
		}
	}
	return o.printer.PrintObj(change, o.Out)
}

func (o *KubeconfigOptions) currentBundle(cluster *clientcmdapi.Cluster) ([]*x509.Certificate, error) {
	data := cluster.CertificateAuthorityData
	where := "certificate-authority-data"
	if len(data) == 0 && cluster.CertificateAuthority != "" {
		path := cluster.CertificateAuthority
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(o.file), path)
		}
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("cluster %q: certificate-authority: %w", o.clusterName, err)
		}
		where = "certificate-authority " + path
	}
	if len(data) == 0 {
		return nil, nil
	}
	b, err := certificate.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %s: %w", o.clusterName, where, err)
	}
	return b.Certificates, nil
}

func (o *KubeconfigOptions) apply(current []*x509.Certificate, change *api.KubeconfigCAChange) ([]*x509.Certificate, error) {
	have := map[string]bool{}
	for _, c := range current {
		have[certificate.Fingerprint(c)] = true
	}
	switch {
	case o.AddCA != "":
		b, err := certificate.ReadFile(o.AddCA)
		if err != nil {
			return nil, fmt.Errorf("--add-ca: %w", err)
		}
		o.notes("--add-ca "+o.AddCA, b)
		next := append([]*x509.Certificate{}, current...)
		for _, c := range b.Certificates {
			if !c.IsCA {
				return nil, fmt.Errorf("--add-ca %s: %q is not a CA certificate", o.AddCA, c.Subject.String())
			}
			fp := certificate.Fingerprint(c)
			if !have[fp] {
				have[fp] = true
				next = append(next, c)
				change.Added = append(change.Added, fp)
			}
		}
		return next, nil
	default:
		remove := map[string]bool{}
		if o.RemoveCA != "" {
			b, err := certificate.ReadFile(o.RemoveCA)
			if err != nil {
				return nil, fmt.Errorf("--remove-ca: %w", err)
			}
			o.notes("--remove-ca "+o.RemoveCA, b)
			for _, c := range b.Certificates {
				remove[certificate.Fingerprint(c)] = true
			}
		}
		for _, fp := range o.RemoveFingerprints {
			remove[normalizeFingerprint(fp)] = true
		}
		var next []*x509.Certificate
		for _, c := range current {
			fp := certificate.Fingerprint(c)
			if remove[fp] {
				change.Removed = append(change.Removed, fp)
				continue
			}
			next = append(next, c)
		}
		if len(change.Removed) == 0 {
			return nil, fmt.Errorf("%s: not in the CA bundle of cluster %q in %s", o.removing(), o.clusterName, o.file)
		}
		return next, nil
	}
}

// notes tells what was unusual about a CA file read (CRLF, DER, base64, a
// private key skipped, never decoded).
func (o *KubeconfigOptions) notes(what string, b *certificate.Bundle) {
	for _, n := range b.Notes() {
		fmt.Fprintf(o.ErrOut, "note: %s: %s\n", what, n)
	}
}

// removing names what is to be removed, as given: --remove-ca FILE or
// --remove-fingerprint F.
func (o *KubeconfigOptions) removing() string {
	if o.RemoveCA != "" {
		return "--remove-ca " + o.RemoveCA
	}
	return "--remove-fingerprint " + strings.Join(o.RemoveFingerprints, ", ")
}

// normalizeFingerprint is a SHA-256 fingerprint as certificate.Fingerprint
// spells it (lower-case hex, no colons), or "" when fp is not one.
func normalizeFingerprint(fp string) string {
	h := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fp), ":", ""))
	if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
		return ""
	}
	return h
}

// checkLive probes the server with the new bundle; a reachable server that
// the bundle cannot verify is refused without --force.
func (o *KubeconfigOptions) checkLive(ctx context.Context, cluster *clientcmdapi.Cluster, bundle []*x509.Certificate, change *api.KubeconfigCAChange) error {
	if !strings.HasPrefix(cluster.Server, "https://") {
		return nil
	}
	roots := x509.NewCertPool()
	for _, c := range bundle {
		roots.AddCert(c)
	}
	probe := &tlsprobe.Probe{URL: cluster.Server, ServerName: cluster.TLSServerName, Roots: roots, Timeout: o.timeout, Proxy: http.ProxyFromEnvironment}
	if cluster.ProxyURL != "" {
		// As kubectl reaches the server: through the cluster's proxy-url.
		u, err := parseProxyURL(cluster.ProxyURL)
		if err != nil {
			return fmt.Errorf("cluster %q in %s: proxy-url %q: %v", o.clusterName, o.file, redactedURL(cluster.ProxyURL), err)
		}
		probe.Proxy = http.ProxyURL(u)
	}
	res, err := probe.Run(ctx)
	if err != nil {
		fmt.Fprintf(o.ErrOut, "warning: %s could not be reached (%v): the new bundle is not verified against it\n", cluster.Server, err)
		return nil
	}
	change.Verified = &res.Verified
	if !res.Verified && !o.Force {
		return fmt.Errorf("cluster %q: with the new bundle the kubeconfig could not verify %s (%v); refusing (--force to write anyway)", o.clusterName, cluster.Server, res.VerifyError)
	}
	return nil
}

// write backs the file read up and replaces it, in the directories it was
// read from (a symbolic link is kept: the file it leads to is replaced);
// nothing is written when the file is no longer the one read, or its bytes
// changed.
func (o *KubeconfigOptions) write(cluster *clientcmdapi.Cluster, bundle []*x509.Certificate, change *api.KubeconfigCAChange) error {
	k := o.src
	st, err := k.dir.Lstat(k.name)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, fserr.Cause(err))
	}
	if !os.SameFile(st, k.info) {
		return fmt.Errorf("%s: no longer the file read (replaced, or its link re-pointed, during the command): nothing written; run the command again", o.file)
	}
	original, err := k.dir.ReadFile(k.name)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, fserr.Cause(err))
	}
	if sha256.Sum256(original) != k.sum {
		return fmt.Errorf("%s: changed since it was read: nothing written, so that the change is not lost; run the command again", o.file)
	}
	backup, err := kubeconfigBackup(k.linkDir, k.linkName, o.file, original, o.now())
	if err != nil {
		return fmt.Errorf("backing up %s: %w", o.file, err)
	}
	change.Backup = backup
	cluster.CertificateAuthorityData = pki.EncodeCert(bundle...)
	cluster.CertificateAuthority = ""
	data, err := clientcmd.Write(*o.config)
	if err != nil {
		return err
	}
	return atomicfile.WriteIn(k.dir, k.name, o.file, data, st.Mode().Perm())
}

// kubeconfigBackup writes data to <name>.kubecerts-backup-<UTC time> in dir
// (file is the path of name, for the messages and the result), 0600, never
// over an existing file: another backup made in the same second gets a
// suffix (-1, -2, …), so the original is never lost.
func kubeconfigBackup(dir *os.Root, name, file string, data []byte, now time.Time) (string, error) {
	suffix := ".kubecerts-backup-" + now.UTC().Format("20060102T150405Z")
	backup := suffix
	for i := 1; ; i++ {
		err := atomicfile.WriteExclusiveIn(dir, name+backup, file+backup, data, 0o600)
		if err == nil {
			return file + backup, nil
		}
		if !errors.Is(err, fs.ErrExist) || i >= 1000 {
			return "", err
		}
		backup = fmt.Sprintf("%s-%d", suffix, i)
	}
}

// parseProxyURL is a kubeconfig's proxy-url as client-go's clientcmd
// accepts it: http, https or socks5.
// redactedURL is raw with the password of its user info, if any, as xxxxx:
// a proxy-url may hold one, and errors must not print it.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(a URL with user info, not shown)"
		}
		return raw
	}
	return u.Redacted()
}

func parseProxyURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	switch u.Scheme {
	case "http", "https", "socks5":
		return u, nil
	}
	return nil, fmt.Errorf("unsupported scheme %q: use http, https or socks5", u.Scheme)
}
