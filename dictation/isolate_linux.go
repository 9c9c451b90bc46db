package dictation

import (
	"os"
	"os/exec"
	"syscall"
)

// isolate makes the command start in a user and network namespace of its
// own (as `unshare --map-current-user --net`): it keeps its user id, and
// its network has only a loopback interface that is down.
func isolate(a *syscall.SysProcAttr) bool {
	a.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}}
	a.GidMappingsEnableSetgroups = false
	return true
}

// IsolationWorks says whether this machine lets a recogniser be cut off
// from the network as isolate does (nil), or why not: unprivileged user
// namespaces may be turned off (a sysctl), or refused in a chroot. Without
// it a recogniser runs only when the agency allows the network
// (Recogniser.AllowNetwork) and isolates it another way.
func IsolationWorks() error {
	cmd := exec.Command("/bin/sh", "-c", ":")
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	isolate(cmd.SysProcAttr)
	return cmd.Run()
}
