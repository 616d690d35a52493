package framework

import (
	"fmt"
	"path/filepath"
	"regexp"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// AdminUser and AdminGroup are the identity of AdminKubeconfig.
	AdminUser  = "kubecerts-admin"
	AdminGroup = "system:masters"
	// contextName is the cluster, user and context name in the kubeconfigs.
	contextName = "kubecerts-e2e"
)

func (c *Cluster) writeAdminKubeconfig() error {
	admin, err := sign(clientTemplate(AdminUser, AdminGroup), leafLifetime, c.ca)
	if err != nil {
		return err
	}
	c.AdminKubeconfig = filepath.Join(c.Dir, "admin.conf")
	if err := c.writeKubeconfig(c.AdminKubeconfig, c.Server, admin); err != nil {
		return err
	}
	c.admin = &rest.Config{
		Host: c.Server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.ca.certPEM,
			CertData: admin.certPEM,
			KeyData:  admin.keyPEM,
		},
		QPS:   100,
		Burst: 200,
	}
	c.clientset, err = kubernetes.NewForConfig(c.admin)
	return err
}

// writeKubeconfig writes a kubeconfig for server that trusts the cluster CA
// and authenticates with the client certificate, all embedded.
func (c *Cluster) writeKubeconfig(path, server string, client *certKey) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{
		Server:                   server,
		CertificateAuthorityData: c.ca.certPEM,
	}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: client.certPEM,
		ClientKeyData:         client.keyPEM,
	}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	cfg.CurrentContext = contextName
	return clientcmd.WriteToFile(*cfg, path)
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// UserKubeconfig writes a new kubeconfig for Server that authenticates with
// a client certificate for CN=cn, O=groups, signed by the cluster CA and
// valid for a year, and returns its path. Each call writes a new file.
func (c *Cluster) UserKubeconfig(cn string, groups ...string) (string, error) {
	return c.UserKubeconfigFor(c.Server, cn, groups...)
}

// UserKubeconfigFor is UserKubeconfig for another apiserver of the cluster,
// such as APIServer.URL.
func (c *Cluster) UserKubeconfigFor(server, cn string, groups ...string) (string, error) {
	client, err := sign(clientTemplate(cn, groups...), leafLifetime, c.ca)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.kubeconfigSeq++
	path := filepath.Join(c.Dir, "kubeconfigs",
		fmt.Sprintf("%s-%d.kubeconfig", unsafeFileChars.ReplaceAllString(cn, "_"), c.kubeconfigSeq))
	c.mu.Unlock()
	if err := c.writeKubeconfig(path, server, client); err != nil {
		return "", err
	}
	return path, nil
}

// NodeKubeconfig writes a kubeconfig with the credentials of the kubelet of
// node name, CN=system:node:<name>, O=system:nodes, and returns its path.
func (c *Cluster) NodeKubeconfig(name string) (string, error) {
	return c.UserKubeconfig("system:node:"+name, "system:nodes")
}

// ClientsetFromKubeconfig returns a clientset for the kubeconfig at path.
func ClientsetFromKubeconfig(path string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}
