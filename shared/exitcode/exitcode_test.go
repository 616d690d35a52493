package exitcode

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestFromError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		err    error
		want   int
		silent bool
	}{
		{"nil", nil, OK, false},
		{"plain error", boom, Error, false},
		{"wrapped plain error", fmt.Errorf("file x: %w", boom), Error, false},
		{"silent warning", WithStatus(Warning, nil), Warning, true},
		{"silent critical", WithStatus(Critical, nil), Critical, true},
		{"critical with message", WithStatus(Critical, boom), Critical, false},
		{"ok with message is at least an error", WithStatus(OK, boom), Error, false},
		{"wrapped status", fmt.Errorf("ctx: %w", WithStatus(Warning, nil)), Warning, true},
		{"canceled keeps its status", WithStatus(Warning, context.Canceled), Warning, false},
	}
	for _, tt := range tests {
		if got := FromError(tt.err); got != tt.want {
			t.Errorf("%s: FromError = %d, want %d", tt.name, got, tt.want)
		}
		if got := Silent(tt.err); got != tt.silent {
			t.Errorf("%s: Silent = %v, want %v", tt.name, got, tt.silent)
		}
	}
	if WithStatus(OK, nil) != nil {
		t.Error("WithStatus(OK, nil) should be nil")
	}
}

func TestMax(t *testing.T) {
	if Max() != OK || Max(Error, Warning) != Warning || Max(Critical, Error) != Critical {
		t.Error("Max does not pick the highest")
	}
}
