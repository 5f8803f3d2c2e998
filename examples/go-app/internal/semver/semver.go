// Package semver compares MAJOR.MINOR.PATCH versions, as a release tool would.
package semver

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads "1.2.3" (an optional leading "v" allowed).
func Parse(v string) ([3]int, error) {
	var out [3]int
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) != 3 {
		return out, fmt.Errorf("%q: expected MAJOR.MINOR.PATCH", v)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, fmt.Errorf("%q: %q is not a number", v, p)
		}
		out[i] = n
	}
	return out, nil
}

// Compare returns -1, 0 or 1 as a is lower than, equal to or higher than b.
func Compare(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
