package netwatch

import (
	"context"
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// newNetNS makes a network namespace of the test's own (so that nothing of
// the machine's network is touched) and returns a handle to it. The
// calling thread is put back in its namespace.
func newNetNS(t *testing.T) netns.NsHandle {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if errors.Is(err, syscall.EPERM) {
		// Not root, or a container without CAP_SYS_ADMIN: there is no
		// namespace of our own to change, and the machine's is not ours.
		if os.Getuid() == 0 && os.Getenv("CI") == "true" {
			t.Logf("the kernel refused a network namespace to root: %v", err)
		}
		t.Skipf("no network namespace of our own here (%v)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatalf("back to the original namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// A link brought up, then an address added, in a namespace of the test's
// own are each told (a burst may come as one value); nothing is told while
// nothing changes.
func TestWatchTellsALinkComingUp(t *testing.T) {
	ns := newNetNS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := watch(ctx, &ns)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("told of a change before anything changed")
	case <-time.After(200 * time.Millisecond):
	}

	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("lo came up; not told within 10 s")
	}

	// An address added: told again.
	time.Sleep(100 * time.Millisecond)
	for len(ch) > 0 {
		<-ch
	}
	addr, err := netlink.ParseAddr("10.200.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(lo, addr); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("an address was added; not told within 10 s")
	}
	cancel()
}
