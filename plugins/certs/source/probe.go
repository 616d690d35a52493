package source

import (
	"fmt"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/tlsprobe"
)

// ReportProbe reports each certificate of the chain with its position and
// the verdict on the chain, at locations "<prefix><endpoint> [<position>]";
// when it does not verify, a note on the server's certificate says what that
// usually means.
func ReportProbe(source, prefix string, res *tlsprobe.Result, sink Sink) {
	ReportProbeWithHint(source, prefix, res, sink, tlsprobe.Hint)
}

// ReportProbeWithHint is ReportProbe with the words said on the server's
// certificate when the chain does not verify.
func ReportProbeWithHint(source, prefix string, res *tlsprobe.Result, sink Sink, hint func(error) string) {
	for i, c := range res.Chain {
		info := &api.ChainInfo{Endpoint: res.Endpoint, ServerName: res.ServerName, Position: i, Verified: res.Verified}
		f := Found{Cert: c, Location: fmt.Sprintf("%s%s [%d]", prefix, res.Endpoint, i), Chain: info}
		if !res.Verified {
			info.VerifyError = res.VerifyError.Error()
			if i == 0 {
				f.Notes = append(f.Notes, hint(res.VerifyError))
			}
		}
		sink.Found(source, f)
	}
}
