// Package wordcount counts words, for go-app's tests to have more than one package to
// split across CI nodes.
package wordcount

import "strings"

// Count returns how often each word (split on white space, lowercased) appears.
func Count(text string) map[string]int {
	counts := map[string]int{}
	for _, w := range strings.Fields(text) {
		counts[strings.ToLower(w)]++
	}
	return counts
}
