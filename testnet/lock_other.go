//go:build !unix

package main

// lockDir does nothing where flock is missing.
func lockDir(string) (func(), error) { return func() {}, nil }
