package printing

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// indentCases are compact JSON documents with what the indenter must get
// right: empty and nested containers, strings holding structural
// characters, quotes and runs of backslashes, escapes, numbers and literals.
var indentCases = []string{
	`{}`, `[]`, `""`, `0`, `-1.5e+10`, `true`, `null`,
	`{"a":{}}`, `{"a":[]}`, `[[],{},[[]],[{}]]`,
	`{"a":1,"b":[1,2,{"c":null}],"d":{"e":"f"}}`,
	`{"k":"{[,:]}"}`, `["a\"b","c\\","d\\\"","\\\\","e\\\\\"f\\"]`,
	`{"html":"\u003cb\u003e \u0026","nl":"a\nb\tc","u":"\u2028\ufffd"}`,
	`[{"":""},{"":[]},{"x":{"y":{"z":[1,[2,[3]]]}}}]`,
}

func TestAppendIndentIsJSONIndent(t *testing.T) {
	for _, src := range indentCases {
		for _, pi := range [][2]string{{"", "    "}, {"        ", "    "}, {">", "\t"}} {
			var want bytes.Buffer
			if err := json.Indent(&want, []byte(src), pi[0], pi[1]); err != nil {
				t.Fatalf("json.Indent(%s): %v", src, err)
			}
			got := appendIndent([]byte("before"), []byte(src), pi[0], pi[1])
			if string(got) != "before"+want.String() {
				t.Errorf("appendIndent(%s, %q, %q) =\n%s\nwant\n%s", src, pi[0], pi[1], got, "before"+want.String())
			}
		}
	}
}

// TestAppendIndentDropsWhitespace: outside strings, whitespace goes, as
// json.Indent drops it; inside, it stays.
func TestAppendIndentDropsWhitespace(t *testing.T) {
	src := " { \"a b\" : [ 1 , { } ] ,\n\t\"c\":\" \" } "
	var want bytes.Buffer
	if err := json.Indent(&want, []byte(src), "", "  "); err != nil {
		t.Fatal(err)
	}
	if got := appendIndent(nil, []byte(src), "", "  "); string(got) != strings.TrimSpace(want.String()) {
		t.Errorf("got\n%s\nwant\n%s", got, want.String())
	}
}

// FuzzAppendIndent holds appendIndent to json.Indent on any valid JSON,
// made compact first as Marshal writes it.
func FuzzAppendIndent(f *testing.F) {
	for _, src := range indentCases {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if !json.Valid(src) {
			return
		}
		var compact, want bytes.Buffer
		if err := json.Compact(&compact, src); err != nil {
			t.Fatal(err)
		}
		if err := json.Indent(&want, compact.Bytes(), "  ", "    "); err != nil {
			t.Fatal(err)
		}
		if got := appendIndent(nil, compact.Bytes(), "  ", "    "); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendIndent(%s) =\n%s\nwant\n%s", compact.Bytes(), got, want.Bytes())
		}
	})
}

// BenchmarkAppendIndent is appendIndent beside json.Indent (the baseline)
// on one certificate of the report as Marshal writes it.
func BenchmarkAppendIndent(b *testing.B) {
	src, err := json.Marshal(report(2).Certificates[1])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("json.Indent", func(b *testing.B) {
		var dst bytes.Buffer
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst.Reset()
			_ = json.Indent(&dst, src, elementPrefix, jsonIndent)
		}
	})
	b.Run("appendIndent", func(b *testing.B) {
		var dst []byte
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst = appendIndent(dst[:0], src, elementPrefix, jsonIndent)
		}
	})
}
