// Package lazyregexp is a regexp.Regexp compiled on its first use rather
// than when it is declared, for package-level expressions: compiled at
// package init, each would cost every run of every command its compilation,
// `version` included, whether or not the command ever matches it. (The Go
// toolchain has the same for the same reason: cmd/go's internal/lazyregexp.)
package lazyregexp

import (
	"regexp"
	"sync"
)

// Regexp is a regexp.Regexp compiled on first use; it has the methods of
// regexp.Regexp that the plugins use.
type Regexp struct {
	expr string
	re   func() *regexp.Regexp
}

// New is regexp.MustCompile(expr) on first use: it panics then if expr
// does not compile.
func New(expr string) *Regexp {
	return &Regexp{expr: expr, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// String is the expression.
func (r *Regexp) String() string { return r.expr }

func (r *Regexp) MatchString(s string) bool { return r.re().MatchString(s) }

func (r *Regexp) FindSubmatch(b []byte) [][]byte { return r.re().FindSubmatch(b) }

func (r *Regexp) FindStringSubmatch(s string) []string { return r.re().FindStringSubmatch(s) }

func (r *Regexp) FindStringSubmatchIndex(s string) []int { return r.re().FindStringSubmatchIndex(s) }

func (r *Regexp) FindAllStringSubmatch(s string, n int) [][]string {
	return r.re().FindAllStringSubmatch(s, n)
}

func (r *Regexp) ReplaceAllString(src, repl string) string { return r.re().ReplaceAllString(src, repl) }
