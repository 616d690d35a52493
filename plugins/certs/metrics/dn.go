package metrics

import "strings"

// nameFields are the C, ST, L, O, OU and CN of a distinguished name as the
// report gives it (RFC 2253: Go's pkix.Name.String, or openssl's -nameopt
// RFC2253 for nodes), each type's values joined with ","; other
// attribute types are left out.
func nameFields(dn string) map[string]string {
	out := map[string]string{}
	for _, rdn := range splitUnescaped(dn, ',') {
		for _, atv := range splitUnescaped(rdn, '+') {
			typ, value, ok := strings.Cut(atv, "=")
			if !ok {
				continue
			}
			typ = strings.ToUpper(strings.TrimSpace(typ))
			switch typ {
			case "C", "ST", "L", "O", "OU", "CN":
			default:
				continue
			}
			v := unescape(value)
			if prev, ok := out[typ]; ok {
				v = prev + "," + v
			}
			out[typ] = v
		}
	}
	return out
}

// splitUnescaped splits s at each sep not escaped by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // the escaped character, or the first of two hex digits
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescape undoes RFC 2253's escapes: \C for a special character, \HH for
// a byte (openssl escapes UTF-8 that way).
func unescape(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 >= len(v) {
			b.WriteByte(c)
			continue
		}
		if i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			b.WriteByte(unhex(v[i+1])<<4 | unhex(v[i+2]))
			i += 2
			continue
		}
		b.WriteByte(v[i+1])
		i++
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
