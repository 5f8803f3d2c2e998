// go-app: a small command shaped like eksctl's, for the CI scripts to build and test.
//
//	go-app             prints the version
//	go-app version     prints the version
//	go-app hello NAME  prints a greeting
package main

import (
	"fmt"
	"os"

	"example.com/go-app/pkg/greeting"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3" (see Makefile).
var version = "dev"

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 0 || args[0] == "version":
		fmt.Println(version)
	case args[0] == "hello":
		name := ""
		if len(args) > 1 {
			name = args[1]
		}
		fmt.Println(greeting.Hello(name))
	default:
		fmt.Fprintf(os.Stderr, "usage: go-app [version | hello [NAME]]\n")
		os.Exit(2)
	}
}
