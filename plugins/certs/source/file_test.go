package source

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
)

// TestReadCertificateFileFindsKubeconfigs: a kubeconfig is recognised
// however its keys are laid out, not only when they show in the first
// 4 KiB: several clusters with embedded CAs push contexts: and kind: past
// them, and a JSON kubeconfig has neither in YAML's spelling.
func TestReadCertificateFileFindsKubeconfigs(t *testing.T) {
	const clusters = 6
	cfg := clientcmdapi.NewConfig()
	var want []string
	for i := range clusters {
		name := fmt.Sprintf("cluster-%d", i)
		ca := certtest.CA(t, name+"-ca")
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443", CertificateAuthorityData: ca.PEM()}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "admin"}
		want = append(want, fmt.Sprintf("(cluster %s) certificate-authority-data", name))
	}
	client := certtest.New(t, certtest.Template{CommonName: "admin"}, nil)
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: client.PEM()}
	cfg.CurrentContext = "cluster-0"
	want = append(want, "(user admin) client-certificate-data")
	sort.Strings(want)

	yamlConfig, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(yamlConfig, []byte("\ncontexts:")); i < 4096 {
		t.Fatalf("contexts: at byte %d; the test needs it past the first 4 KiB", i)
	}
	jsonConfig, err := yaml.YAMLToJSON(yamlConfig)
	if err != nil {
		t.Fatal(err)
	}
	small := clientcmdapi.NewConfig()
	small.Clusters["one"] = cfg.Clusters["cluster-0"]
	smallYAML, _ := clientcmd.Write(*small)
	smallJSON, _ := yaml.YAMLToJSON(smallYAML)

	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		// want are the locations reported, after the path; none: err.
		want []string
		err  string
	}{
		{name: "YAML, contexts past 4 KiB", data: yamlConfig, want: want},
		{name: "JSON", data: jsonConfig, want: want},
		{name: "JSON, one cluster", data: smallJSON, want: []string{"(cluster one) certificate-authority-data"}},
		{name: "YAML that is not a kubeconfig", data: []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n"), err: "text without a PEM block"},
		{name: "JSON that is not a kubeconfig", data: []byte(`{"hello": "world"}`), err: "text without a PEM block"},
		{name: "plain text", data: []byte("no certificate here\n"), err: "text without a PEM block"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, dir, fmt.Sprintf("file-%d", i), tt.data)
			rec := newRecorder()
			ReadCertificateFile("file", path, rec)
			r := rec.Report()
			var got []string
			for _, c := range r.Certificates {
				got = append(got, strings.TrimPrefix(c.Location, path+" "))
			}
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("locations = %q\nwant        %q", got, tt.want)
			}
			switch {
			case tt.err == "" && len(r.Errors) != 0:
				t.Errorf("errors = %+v", r.Errors)
			case tt.err != "" && (len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, tt.err) || r.Errors[0].Location != filepath.Clean(path)):
				t.Errorf("errors = %+v, want one at %s containing %q", r.Errors, path, tt.err)
			}
		})
	}
}
