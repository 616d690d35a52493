// Package exitcode defines the exit statuses every kubecerts command shares
// and the error type that carries one from a command to main.
//
//	0  OK        the command did all that was asked and nothing needs attention
//	1  Error     the command could not do all that was asked
//	2  Warning   the worst certificate reported is WARNING
//	3  Critical  the worst certificate reported is CRITICAL, EXPIRED or NOT_YET_VALID
//
// When several apply the highest number wins.
package exitcode

import (
	"context"
	"errors"
)

// The exit statuses, in order of severity.
const (
	OK       = 0
	Error    = 1
	Warning  = 2
	Critical = 3
)

// Max returns the most severe of the given statuses.
func Max(codes ...int) int {
	worst := OK
	for _, c := range codes {
		if c > worst {
			worst = c
		}
	}
	return worst
}

// statusError carries an exit status and, optionally, an error to print.
type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *statusError) Unwrap() error { return e.err }

// WithStatus returns an error that makes the command exit with code. A nil
// err means a silent exit: the command has already reported everything (a
// report whose worst certificate is CRITICAL, say) and main prints nothing.
func WithStatus(code int, err error) error {
	if code == OK && err == nil {
		return nil
	}
	return &statusError{code: code, err: err}
}

// Silent reports whether err carries an exit status and nothing to print.
func Silent(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.err == nil
}

// FromError is the one place an error becomes an exit status: nil is OK, an
// error made by WithStatus carries its own status (never below Error when it
// also carries a message), and any other error is Error.
func FromError(err error) int {
	if err == nil {
		return OK
	}
	var se *statusError
	if errors.As(err, &se) {
		if se.err != nil && !errors.Is(se.err, context.Canceled) {
			return Max(se.code, Error)
		}
		return se.code
	}
	return Error
}
