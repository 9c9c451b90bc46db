package netwatch

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Watch returns a channel that receives a value soon after the network
// changes (changes in a burst may come as one), until ctx ends. A nil
// channel and an error when the kernel refuses the subscription.
func Watch(ctx context.Context) (<-chan struct{}, error) {
	return watch(ctx, nil)
}

// watch subscribes in the network namespace ns (nil: the caller's).
func watch(ctx context.Context, ns *netns.NsHandle) (<-chan struct{}, error) {
	out := make(chan struct{}, 1)
	tell := func() {
		select {
		case out <- struct{}{}:
		default: // one waiting is enough
		}
	}
	done := make(chan struct{})
	links := make(chan netlink.LinkUpdate, 16)
	addrs := make(chan netlink.AddrUpdate, 16)
	routes := make(chan netlink.RouteUpdate, 16)
	failed := make(chan error, 3)
	onErr := func(err error) {
		select {
		case failed <- err:
		default:
		}
	}
	if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{Namespace: ns, ErrorCallback: onErr}); err != nil {
		close(done)
		return nil, fmt.Errorf("network changes: %w", err)
	}
	if err := netlink.AddrSubscribeWithOptions(addrs, done, netlink.AddrSubscribeOptions{Namespace: ns, ErrorCallback: onErr}); err != nil {
		close(done)
		return nil, fmt.Errorf("network changes: %w", err)
	}
	if err := netlink.RouteSubscribeWithOptions(routes, done, netlink.RouteSubscribeOptions{Namespace: ns, ErrorCallback: onErr}); err != nil {
		close(done)
		return nil, fmt.Errorf("network changes: %w", err)
	}
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-links:
				if !ok {
					return
				}
				tell()
			case _, ok := <-addrs:
				if !ok {
					return
				}
				tell()
			case _, ok := <-routes:
				if !ok {
					return
				}
				tell()
			case <-failed:
				// A notification lost (a full socket buffer): say the
				// network may have changed, which costs one probe.
				tell()
			}
		}
	}()
	return out, nil
}
