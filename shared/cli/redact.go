package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// withRedactingLogger returns ctx carrying klog's logger wrapped so that the
// request and response bodies client-go logs at -v=8 and above never show
// Secret data or private keys: a body is printed only when it is text that
// is not a Secret and holds no key; any other body is replaced by its size.
// client-go takes its logger from the request's context, so every API call
// made with a command's context goes through this.
func withRedactingLogger(ctx context.Context) context.Context {
	return klog.NewContext(ctx, logr.New(&redactingSink{LogSink: klog.NewKlogr().GetSink()}))
}

type redactingSink struct {
	logr.LogSink
}

var _ logr.CallDepthLogSink = &redactingSink{}

func (s *redactingSink) Info(level int, msg string, kv ...interface{}) {
	if msg == "Response Body" || msg == "Request Body" {
		kv = redactBody(kv)
	}
	s.LogSink.Info(level, msg, kv...)
}

func (s *redactingSink) WithValues(kv ...interface{}) logr.LogSink {
	return &redactingSink{LogSink: s.LogSink.WithValues(kv...)}
}

func (s *redactingSink) WithName(name string) logr.LogSink {
	return &redactingSink{LogSink: s.LogSink.WithName(name)}
}

func (s *redactingSink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.LogSink.(logr.CallDepthLogSink); ok {
		return &redactingSink{LogSink: cd.WithCallDepth(depth)}
	}
	return s
}

func redactBody(kv []interface{}) []interface{} {
	out := append([]interface{}(nil), kv...)
	for i := 0; i+1 < len(out); i += 2 {
		if out[i] != "body" {
			continue
		}
		body := fmt.Sprint(out[i+1])
		if why := redactReason(body); why != "" {
			out[i+1] = fmt.Sprintf("<%d bytes redacted by kubecerts: %s>", len(body), why)
		}
	}
	return out
}

// redactReason says why a logged body must not be shown, or "" when it may.
func redactReason(body string) string {
	switch {
	case strings.Contains(body, "PRIVATE KEY"):
		return "holds a private key"
	case isHexDump(body):
		return "binary (protobuf) body, may hold Secret data"
	case strings.Contains(body, `"kind":"Secret`), strings.Contains(body, `"kind": "Secret`),
		strings.Contains(body, "kind: Secret"):
		return "Secret data"
	}
	return ""
}

// isHexDump recognises the hex.Dump form client-go logs binary bodies in.
func isHexDump(s string) bool {
	return strings.HasPrefix(s, "00000000  ")
}
