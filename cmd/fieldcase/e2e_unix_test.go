package main

import "syscall"

// detachedFromTTY starts a child in a new session, so it has no controlling
// terminal to prompt on, as under CI or cron.
func detachedFromTTY() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
