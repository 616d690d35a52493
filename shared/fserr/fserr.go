// Package fserr takes the path out of file-system errors, for messages
// that name the path themselves: "--to /x: permission denied" rather than
// "--to /x: open /x: permission denied".
package fserr

import (
	"errors"
	"io/fs"
	"os"
)

// Cause is the cause of the *fs.PathError or *os.LinkError in err's chain
// (both name the path, and the operation), or err when there is none.
func Cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) && le.Err != nil {
		return le.Err
	}
	return err
}
