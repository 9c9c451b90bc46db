//go:build !linux

package netwatch

import "context"

// Watch tells nothing on this system: it returns a nil channel, which
// never receives.
func Watch(context.Context) (<-chan struct{}, error) { return nil, nil }
