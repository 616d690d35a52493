package cli

// PendingLongDesc tells whether s was given to LongDesc (and is to be rendered).
func PendingLongDesc(s string) bool {
	_, ok := longDescs.Load(s)
	return ok
}
