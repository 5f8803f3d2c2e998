package wordcount

import "testing"

func TestCount(t *testing.T) {
	got := Count("the cat and The hat\tand  more")
	want := map[string]int{"the": 2, "cat": 1, "and": 2, "hat": 1, "more": 1}
	if len(got) != len(want) {
		t.Fatalf("Count = %v, want %v", got, want)
	}
	for w, n := range want {
		if got[w] != n {
			t.Errorf("Count[%q] = %d, want %d", w, got[w], n)
		}
	}
	if len(Count("   ")) != 0 {
		t.Error("blank text has words")
	}
}
