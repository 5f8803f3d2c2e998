package greeting

import "testing"

func TestHello(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a name", "Gopher", "Hello, Gopher!"},
		{"blank", "", "Hello, world!"},
		{"only spaces", "   ", "Hello, world!"},
		{"trimmed", "  Ada ", "Hello, Ada!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hello(tt.in); got != tt.want {
				t.Errorf("Hello(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
