package dictation

import (
	"os"
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
