// Command pagelist lists the kubernetes.io/tls Secrets of a cluster as
// kubectl certs check does, through client-go's pager in protobuf, page by
// page (-chunk-size), and does nothing with them: what fetching and
// decoding cost by themselves, for hack/bench-secrets.sh to put beside the
// check and the floor.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/pager"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	chunk := flag.Int64("chunk-size", 2000, "objects per page (at least 1)")
	flag.Parse()
	if *chunk < 1 {
		fmt.Fprintf(os.Stderr, "error: -chunk-size %d: must be at least 1\n", *chunk)
		os.Exit(1)
	}
	n, err := run(*kubeconfig, *chunk)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	fmt.Println(n)
}

func run(kubeconfig string, chunk int64) (int, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return 0, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	p := pager.New(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Secrets("").List(ctx, o)
	})
	p.PageSize, p.PageBufferSize = chunk, 2
	n := 0
	err = p.EachListItem(context.Background(), metav1.ListOptions{FieldSelector: "type=kubernetes.io/tls", Limit: chunk}, func(runtime.Object) error {
		n++
		return nil
	})
	return n, err
}
