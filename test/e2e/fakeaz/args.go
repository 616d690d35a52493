package main

import (
	"fmt"
	"strings"
)

// flagKind is how an option takes its value.
type flagKind int

const (
	valueFlag flagKind = iota // one value: --name NAME, --name=NAME, -nNAME
	boolFlag                  // no value: --no-wait
	listFlag                  // values up to the next option: --set A=B C=D
)

// flagSpec is one option; names[0] is the name it is known by.
type flagSpec struct {
	names    []string
	kind     flagKind
	required bool
}

func (s flagSpec) label() string { return strings.Join(s.names, "/") }

// commonFlags are the options every AKS-side command takes.
var commonFlags = []flagSpec{
	{names: []string{"--subscription"}},
	{names: []string{"--output", "-o"}},
	{names: []string{"--only-show-errors"}, kind: boolFlag},
}

// flags are the options a call gave, by their first name.
type flags struct {
	vals  map[string]string
	lists map[string][]string
}

func (f flags) has(name string) bool {
	_, ok := f.vals[name]
	if !ok {
		_, ok = f.lists[name]
	}
	return ok
}

// parseFlags reads args the way az's argparse does, with its messages
// (argument errors are exit 2). -o takes json only: the fake prints
// nothing else.
func parseFlags(args []string, specs ...flagSpec) (flags, error) {
	specs = append(append([]flagSpec(nil), specs...), commonFlags...)
	byName := map[string]flagSpec{}
	for _, s := range specs {
		for _, n := range s.names {
			byName[n] = s
		}
	}
	f := flags{vals: map[string]string{}, lists: map[string][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, inline, hasInline := a, "", false
		if strings.HasPrefix(a, "--") {
			name, inline, hasInline = strings.Cut(a, "=")
		} else if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			if s, ok := byName[a[:2]]; ok && s.kind == valueFlag {
				name, inline, hasInline = a[:2], a[2:], true
			}
		}
		s, ok := byName[name]
		if !ok && name == "--query" {
			return f, fmt.Errorf("fakeaz does not take --query here: read the JSON it prints")
		}
		if !ok {
			return f, fmt.Errorf("unrecognized arguments: %s", a)
		}
		key := s.names[0]
		switch s.kind {
		case boolFlag:
			if hasInline {
				return f, fmt.Errorf("argument %s: ignored explicit argument '%s'", s.label(), inline)
			}
			f.vals[key] = "true"
		case valueFlag:
			v := inline
			if !hasInline {
				if i+1 >= len(args) || isOption(args[i+1]) {
					return f, fmt.Errorf("argument %s: expected one argument", s.label())
				}
				i++
				v = args[i]
			}
			f.vals[key] = v
		case listFlag:
			var vs []string
			if hasInline {
				vs = append(vs, inline)
			}
			for i+1 < len(args) && !isOption(args[i+1]) {
				i++
				vs = append(vs, args[i])
			}
			if len(vs) == 0 {
				return f, fmt.Errorf("argument %s: expected at least one argument", s.label())
			}
			f.lists[key] = append(f.lists[key], vs...)
		}
	}
	var missing []string
	for _, s := range specs {
		if s.required && !f.has(s.names[0]) {
			missing = append(missing, s.label())
		}
	}
	if len(missing) > 0 {
		return f, fmt.Errorf("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	if o, ok := f.vals["--output"]; ok && o != "json" {
		return f, fmt.Errorf("fakeaz prints only -o json, not %q", o)
	}
	return f, nil
}

// isOption is argparse's test: "-x…" is an option, "-1" or "-" is not.
func isOption(a string) bool {
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	return !(a[1] >= '0' && a[1] <= '9') && a[1] != '.'
}
