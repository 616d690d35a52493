package source

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// TestSortCertificates holds the index sort to a plain stable sort on the
// key it stands for (notAfter, then source NUL location), on lists with
// ties, runs already in order and duplicates.
func TestSortCertificates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{0, 1, 2, 3, 17, 300} {
		for _, by := range []string{SortByExpiry, SortByLocation} {
			for round := 0; round < 20; round++ {
				certs := make([]api.Certificate, n)
				for i := range certs {
					certs[i] = api.Certificate{
						Source:   []string{"secrets", "secret", "files", "pki-dir"}[rng.IntN(4)],
						Location: fmt.Sprintf("loc-%d", rng.IntN(5)),
						NotAfter: metav1.NewTime(base.Add(time.Duration(rng.IntN(4)) * time.Hour)),
						// Which entry this was, to see stability.
						SerialNumber: fmt.Sprint(i),
					}
				}
				if round%5 == 0 {
					SortCertificates(certs, by) // sorted input, left as is
				}
				want := append([]api.Certificate(nil), certs...)
				key := func(c *api.Certificate) string { return c.Source + "\x00" + c.Location }
				sort.SliceStable(want, func(i, j int) bool {
					a, b := &want[i], &want[j]
					if by == SortByExpiry && !a.NotAfter.Equal(&b.NotAfter) {
						return a.NotAfter.Before(&b.NotAfter)
					}
					return key(a) < key(b)
				})
				SortCertificates(certs, by)
				for i := range want {
					if certs[i].SerialNumber != want[i].SerialNumber {
						t.Fatalf("n=%d by %s round %d: position %d holds entry %s, want %s", n, by, round, i, certs[i].SerialNumber, want[i].SerialNumber)
					}
				}
			}
		}
	}
}

func BenchmarkSortCertificates20000(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	certs := make([]api.Certificate, 20000)
	for i := range certs {
		certs[i] = api.Certificate{Source: "secrets", Location: fmt.Sprintf("secret/ns/s-%06d/tls.crt", i),
			NotAfter: metav1.NewTime(base.Add(time.Duration(rng.IntN(200)) * 24 * time.Hour))}
	}
	work := make([]api.Certificate, len(certs))
	// The baseline: how SortCertificates sorted before, the entries
	// themselves by a built key.
	b.Run("baseline-slice-stable", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			copy(work, certs)
			key := func(c *api.Certificate) string { return c.Source + "\x00" + c.Location }
			sort.SliceStable(work, func(i, j int) bool {
				a, b := &work[i], &work[j]
				if !a.NotAfter.Equal(&b.NotAfter) {
					return a.NotAfter.Before(&b.NotAfter)
				}
				return key(a) < key(b)
			})
		}
	})
	b.Run("by-index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			copy(work, certs)
			SortCertificates(work, SortByExpiry)
		}
	})
}
