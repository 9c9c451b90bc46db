//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// detach makes cmd a session of its own, so it outlives the command that
// starts it and its terminal.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
