package kv

import "testing"

func TestParse(t *testing.T) {
	got, err := Parse("# comment\nA=1\n\n B = two words \nC=")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Parse[%q] = %q, want %q", k, got[k], v)
		}
	}
	if _, err := Parse("no equals sign"); err == nil {
		t.Error("a line without = parsed")
	}
	if _, err := Parse("=value"); err == nil {
		t.Error("an empty key parsed")
	}
}
