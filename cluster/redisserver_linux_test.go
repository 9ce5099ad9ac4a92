package cluster_test

import (
	"os/exec"
	"syscall"
)

// dieWithTest has the kernel kill a redis-server the test started if the test
// binary dies first (a timeout panic, a kill), so no server outlives its test.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
