package main

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// The actions ARM checks.
const (
	clusterRead  = "Microsoft.ContainerService/managedClusters/read"
	clusterWrite = "Microsoft.ContainerService/managedClusters/write"
	poolRead     = "Microsoft.ContainerService/managedClusters/agentPools/read"
	poolWrite    = "Microsoft.ContainerService/managedClusters/agentPools/write"
)

// maxCACerts is how many certificates az aks update takes from the file.
const maxCACerts = 10

var (
	groupFlag = flagSpec{names: []string{"--resource-group", "-g"}, required: true}
	nameFlag  = flagSpec{names: []string{"--name", "-n"}, required: true}
)

// aks answers az aks list|show|update.
func aks(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return aksList(args[1:])
		case "show":
			return aksShow(args[1:])
		case "update":
			return aksUpdate(args[1:])
		}
	}
	return misspelled(append([]string{"aks"}, args...))
}

// target is a managed cluster as the call names it.
type target struct{ sub, rg, name string }

// scope is the cluster's id as ARM spells it in AuthorizationFailed.
func (t target) scope() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s", t.sub, t.rg, t.name)
}

func (t target) notFound() error { return resourceNotFound(t.rg, "managedClusters/"+t.name) }

// withCluster is one request on a managed cluster: ARM's 404s, the
// cluster's not-logged-in marker and those of markers that deny action
// over scope, then fn on the cluster's state brought up to now, all
// holding the lock.
func (s store) withCluster(t target, action, scope string, markers []string, fn func(*cluster) error) error {
	dir, err := s.clusterDir(t.rg, t.name)
	if err != nil {
		return err
	}
	return s.locked(func() error {
		c, err := loadCluster(dir)
		if errors.Is(err, fs.ErrNotExist) || err == nil && !c.inSubscription(t.sub) {
			return t.notFound()
		}
		if err != nil {
			return err
		}
		if err := denied(dir, action, scope, markers...); err != nil {
			return err
		}
		if err := c.settle(time.Now()); err != nil {
			return err
		}
		if fn == nil {
			return nil
		}
		return fn(c)
	})
}

// denied: not-logged-in in dir, or one of markers, which deny action.
func denied(dir, action, scope string, markers ...string) error {
	if exists(dir, "not-logged-in") {
		return errNotLoggedIn
	}
	for _, m := range markers {
		if exists(dir, m) {
			return authorizationFailed(action, scope)
		}
	}
	return nil
}

func aksList(args []string) int {
	f, err := parseFlags(args, flagSpec{names: groupFlag.names})
	if err != nil {
		return report(argError("%v", err), false)
	}
	if loggedOut() {
		return report(errNotLoggedIn, false)
	}
	s, sub, rg := openStore(), subscription(f), f.vals["--resource-group"]
	var list []*cluster
	if rg != "" || s.exists() {
		dirs, err := s.clusterDirs(rg)
		if err != nil {
			return report(err, false)
		}
		err = s.locked(func() error {
			for _, d := range dirs {
				c, err := loadCluster(d)
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed meanwhile
				}
				if err != nil {
					return err
				}
				if !c.inSubscription(sub) {
					continue
				}
				if err := c.settle(time.Now()); err != nil {
					return err
				}
				list = append(list, c)
			}
			return nil
		})
		if err != nil {
			return report(err, false)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id() < list[j].id() })
	out := make([]any, len(list))
	for i, c := range list {
		out[i] = c.obj
	}
	return printJSON(out)
}

func aksShow(args []string) int {
	f, err := parseFlags(args, groupFlag, nameFlag)
	if err != nil {
		return report(argError("%v", err), false)
	}
	if loggedOut() {
		return report(errNotLoggedIn, false)
	}
	t := target{sub: subscription(f), rg: f.vals["--resource-group"], name: f.vals["--name"]}
	var out map[string]any
	err = openStore().withCluster(t, clusterRead, t.scope(), []string{"no-permission"}, func(c *cluster) error {
		out = c.obj
		return nil
	})
	if err != nil {
		return report(err, false)
	}
	return printJSON(out)
}

// aksUpdate is az aks update --custom-ca-trust-certificates FILE, in az's
// order: it reads the cluster, reads the file, then sends the cluster back
// (--if-match with it), and unless --no-wait polls until the operation
// ends.
func aksUpdate(args []string) int {
	f, err := parseFlags(args, groupFlag, nameFlag,
		flagSpec{names: []string{"--custom-ca-trust-certificates", "--ca-certs"}},
		flagSpec{names: []string{"--if-match"}},
		flagSpec{names: []string{"--no-wait"}, kind: boolFlag},
		flagSpec{names: []string{"--yes", "-y"}, kind: boolFlag})
	if err != nil {
		return report(argError("%v", err), false)
	}
	file := f.vals["--custom-ca-trust-certificates"]
	if file == "" {
		return report(argError("fakeaz's az aks update changes only the custom CA list: --custom-ca-trust-certificates FILE"), false)
	}
	if loggedOut() {
		return report(errNotLoggedIn, false)
	}
	s := openStore()
	t := target{sub: subscription(f), rg: f.vals["--resource-group"], name: f.vals["--name"]}

	// GET: no-permission already fails here, on the read action.
	if err := s.withCluster(t, clusterRead, t.scope(), []string{"no-permission"}, nil); err != nil {
		return report(err, false)
	}
	certs, err := readCAFile(file)
	if err != nil {
		return report(err, false)
	}
	// PUT.
	op := &operation{ID: newUUID(), Kind: updateKind}
	err = s.withCluster(t, clusterWrite, t.scope(), []string{"no-permission", "no-write-permission"}, func(c *cluster) error {
		if err := validateCACerts(certs); err != nil {
			return err
		}
		if c.op != nil {
			return operationNotAllowed(c.op)
		}
		if m, ok := f.vals["--if-match"]; ok && m != c.str("eTag") {
			return preconditionFailed(m, c.str("eTag"))
		}
		d, err := updateDuration(c.dir)
		if err != nil {
			return err
		}
		if op.Code, op.Fail, err = takeUpdateFailure(c.dir); err != nil {
			return err
		}
		op.StartedAt = time.Now().UTC()
		op.EndsAt = op.StartedAt.Add(d)
		encoded := make([]string, len(certs))
		for i, cert := range certs {
			encoded[i] = base64.StdEncoding.EncodeToString([]byte(cert))
		}
		c.setCACerts(encoded)
		c.obj["eTag"] = newUUID()
		return c.start(op)
	})
	if err != nil {
		return report(err, false)
	}
	if f.has("--no-wait") {
		return 0
	}
	// Poll: the first read after endsAt ends the operation (settle).
	var out map[string]any
	for {
		time.Sleep(time.Until(op.EndsAt))
		done := false
		err := s.withCluster(t, clusterRead, t.scope(), nil, func(c *cluster) error {
			done, out = c.op == nil || c.op.ID != op.ID, c.obj
			return nil
		})
		if err != nil {
			return report(err, false)
		}
		if done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if op.Fail != "" {
		return report(&armError{code: op.Code, message: op.Fail}, false)
	}
	return printJSON(out)
}

// readCAFile reads the file as az aks update does, before it sends
// anything: UTF-8 (a BOM dropped), cut at each "\n\n" (a blank line; with
// CRLF line ends there is none), pieces of at most one character dropped,
// at most 10 left.
func readCAFile(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return nil, &cliError{text: fmt.Sprintf("%s is not valid file, or not accessible.", path), exit: 1}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &cliError{text: fmt.Sprintf("%s is not valid file, or not accessible.", path), exit: 1}
	}
	if !utf8.Valid(data) {
		return nil, &cliError{text: fmt.Sprintf("Failed to decode file %s - unknown decoding", path), exit: 1}
	}
	var certs []string
	for _, piece := range strings.Split(strings.TrimPrefix(string(data), "\ufeff"), "\n\n") {
		if utf8.RuneCountInString(piece) > 1 {
			certs = append(certs, piece)
		}
	}
	if len(certs) > maxCACerts {
		return nil, &cliError{text: fmt.Sprintf("Only up to %d new-line separated CAs can be passed, got %d instead.", maxCACerts, len(certs)), exit: 1}
	}
	return certs, nil
}

// validateCACerts is AKS's check of the list: each entry exactly one PEM
// block of type CERTIFICATE (blank space around it allowed, CRLF line ends
// too) holding an X.509 certificate.
func validateCACerts(certs []string) error {
	for _, c := range certs {
		if !oneCertificate([]byte(c)) {
			return &armError{http.StatusBadRequest, "InvalidParameter", "failed to decode one of SecurityProfile.CustomCATrustCertificates to PEM after base64 decoding"}
		}
	}
	return nil
}

func oneCertificate(b []byte) bool {
	b = bytes.TrimSpace(b)
	if !bytes.HasPrefix(b, []byte("-----BEGIN ")) {
		return false
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" || len(block.Headers) > 0 || len(bytes.TrimSpace(rest)) > 0 {
		return false
	}
	_, err := x509.ParseCertificate(block.Bytes)
	return err == nil
}

// updateDuration is the update-duration marker: how long an update runs.
func updateDuration(dir string) (time.Duration, error) {
	data, err := os.ReadFile(filepath.Join(dir, "update-duration"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, internal("%v", err)
	}
	d, err := time.ParseDuration(strings.TrimSpace(string(data)))
	if err != nil || d < 0 {
		return 0, internal("%s: not a duration: %q", filepath.Join(dir, "update-duration"), data)
	}
	return d, nil
}

// takeUpdateFailure reads and removes the update-fails marker: the update
// it is used by ends Failed with its text ("(Code) message", or a message
// of code CustomCATrustReconcileFailed).
func takeUpdateFailure(dir string) (code, msg string, err error) {
	p := filepath.Join(dir, "update-fails")
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", internal("%v", err)
	}
	if err := os.Remove(p); err != nil {
		return "", "", internal("%v", err)
	}
	text := strings.TrimSpace(string(data))
	if text == "" {
		text = "Custom CA trust certificates could not be installed on one or more nodes."
	}
	code, msg = splitCode(text, "CustomCATrustReconcileFailed")
	return code, msg, nil
}
