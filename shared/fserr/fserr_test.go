package fserr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestCause(t *testing.T) {
	dir := t.TempDir()
	_, openErr := os.Open(filepath.Join(dir, "missing"))
	linkErr := os.Rename(filepath.Join(dir, "missing"), filepath.Join(dir, "other"))
	plain := errors.New("not a file error")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"path error", openErr, "no such file or directory"},
		{"wrapped path error", fmt.Errorf("reading: %w", openErr), "no such file or directory"},
		{"link error", linkErr, "no such file or directory"},
		{"other error", plain, "not a file error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Cause(tt.err)
			if got.Error() != tt.want {
				t.Errorf("Cause = %q, want %q", got, tt.want)
			}
		})
	}
	if !errors.Is(Cause(openErr), syscall.ENOENT) {
		t.Error("Cause lost the errno: errors.Is(ENOENT) is false")
	}
}
