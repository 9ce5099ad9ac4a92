//go:build !linux

package cluster_test

import "os/exec"

// dieWithTest is a no-op where the kernel offers no parent-death signal: the
// test's Cleanup still kills the server.
func dieWithTest(*exec.Cmd) {}
