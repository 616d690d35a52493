package source

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubecerts/kubecerts/shared/certificate"
)

// Credential is a certificate bundle a kubeconfig holds or points to.
type Credential struct {
	// Where says which field held it: "client-certificate-data" or
	// "client-certificate /path", "certificate-authority-data", ….
	Where  string
	Bundle *certificate.Bundle
}

// LoadKubeconfigFile reads a kubeconfig file, refusing files over the
// certificate size limit. Relative paths inside it are resolved against its
// directory, as kubectl does.
func LoadKubeconfigFile(path string) (*clientcmdapi.Config, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > certificate.MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes is over the %d-byte limit", path, st.Size(), certificate.MaxFileSize)
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a kubeconfig: %w", path, err)
	}
	if err := clientcmd.ResolveLocalPaths(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// UserCredential returns the client certificate of a kubeconfig user: the
// embedded client-certificate-data, or the file client-certificate names.
// It returns nil, nil when the user has no client certificate (a token, an
// exec plugin).
func UserCredential(user *clientcmdapi.AuthInfo) (*Credential, error) {
	return credential(user.ClientCertificateData, user.ClientCertificate, "client-certificate")
}

// ClusterCredential returns the CA bundle a kubeconfig cluster trusts, or
// nil, nil when it names none.
func ClusterCredential(cluster *clientcmdapi.Cluster) (*Credential, error) {
	return credential(cluster.CertificateAuthorityData, cluster.CertificateAuthority, "certificate-authority")
}

func credential(data []byte, file, field string) (*Credential, error) {
	switch {
	case len(data) > 0:
		b, err := certificate.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s-data: %w", field, err)
		}
		return &Credential{Where: field + "-data", Bundle: b}, nil
	case file != "":
		b, err := certificate.ReadFile(filepath.Clean(file))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return &Credential{Where: field + " " + file, Bundle: b}, nil
	}
	return nil, nil
}

// PoolOf is a pool of the certificates of b, to verify a served chain
// against.
func PoolOf(b *certificate.Bundle) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range b.Certificates {
		pool.AddCert(c)
	}
	return pool
}
