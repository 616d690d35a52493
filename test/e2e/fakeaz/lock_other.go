//go:build !unix

package main

import "errors"

// lockFile: the AKS state needs flock, which the fake has on unix only.
func lockFile(string) (func(), error) {
	return nil, errors.New("the fake keeps AKS state on unix systems only (it locks with flock)")
}
