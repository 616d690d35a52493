// Command pagelist reads the kubernetes.io/tls Secrets of a cluster as
// kubectl certs check does, in protobuf — through client-go's pager, page
// by page (-chunk-size), with -chunk-size 0 in one unpaged LIST (the
// floor's own request, decoded), or with -watch-list as one watch-list (the
// options client-go's watchlist package prepares, read up to the API
// server's initial-events bookmark) — and does nothing with them: what
// fetching and decoding cost by themselves, for hack/bench-secrets.sh to
// put beside the check and the floor. It prints how many it read.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/pager"
	"k8s.io/client-go/util/watchlist"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	chunk := flag.Int64("chunk-size", 2000, "objects per page; 0 for one unpaged LIST")
	streamed := flag.Bool("watch-list", false, "read with one watch-list instead of paged LISTs")
	flag.Parse()
	if *chunk < 0 {
		fmt.Fprintf(os.Stderr, "error: -chunk-size %d: must be 0 (unpaged) or more\n", *chunk)
		os.Exit(1)
	}
	n, err := run(*kubeconfig, *chunk, *streamed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	fmt.Println(n)
}

func run(kubeconfig string, chunk int64, streamed bool) (int, error) {
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
	opts := metav1.ListOptions{FieldSelector: "type=kubernetes.io/tls"}
	if streamed {
		return watchList(client, opts)
	}
	if chunk == 0 {
		list, err := client.CoreV1().Secrets("").List(context.Background(), opts)
		if err != nil {
			return 0, err
		}
		return len(list.Items), nil
	}
	p := pager.New(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Secrets("").List(ctx, o)
	})
	p.PageSize, p.PageBufferSize = chunk, 2
	opts.Limit = chunk
	n := 0
	err = p.EachListItem(context.Background(), opts, func(runtime.Object) error {
		n++
		return nil
	})
	return n, err
}

func watchList(client kubernetes.Interface, opts metav1.ListOptions) (int, error) {
	wopts, ok, err := watchlist.PrepareWatchListOptionsFromListOptions(opts)
	if err != nil || !ok {
		return 0, fmt.Errorf("no watch-list (client-go's WatchListClient feature off?): %v", err)
	}
	w, err := client.CoreV1().Secrets("").Watch(context.Background(), wopts)
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	n := 0
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Added:
			n++
		case watch.Bookmark:
			if m, err := meta.Accessor(ev.Object); err == nil && m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true" {
				return n, nil
			}
		default:
			return n, fmt.Errorf("a %s event before the initial events ended: %v", ev.Type, ev.Object)
		}
	}
	return n, fmt.Errorf("the watch-list ended after %d objects, before its bookmark", n)
}
