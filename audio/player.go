package audio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fieldcase/fieldcase/audio/track"
	"github.com/gordonklaus/portaudio"
)

// outputLatency is the device buffer asked for on playback: enough to ride
// out a busy machine, short enough that pause and seek feel immediate.
const outputLatency = 100 * time.Millisecond

// Player plays a timeline through an output device, the way a dictation
// machine does: play from any point, pause, seek, jump to the start or end.
// Its methods may be called from any goroutine; Position is cheap enough to
// poll for a UI.
type Player struct {
	device string
	tl     *Timeline
	src    ChunkSource
	total  int // packets

	mu     sync.Mutex
	pos    int     // heard position, in packets
	seekTo int     // pending seek for the running loop, or -1
	speed  float64 // tempo (1 is as recorded); the pitch stays
	run    *playRun
	err    error
}

type playRun struct {
	stop bool // guarded by Player.mu
	done chan struct{}
}

// NewPlayer returns a Player of a copy of tl, reading chunks from src and
// playing on the output device named device ("" for the default; see
// Options.Device). It touches no device until Play.
func NewPlayer(tl *Timeline, src ChunkSource, device string) *Player {
	c := tl.Clone()
	return &Player{device: device, tl: c, src: src, total: c.Packets(), seekTo: -1, speed: 1}
}

// Play starts playback from Position (from the start when at the end) and
// returns once the device is running. Playing on, it stops at the end, on
// Pause, on a failure (see Wait) or when ctx ends; ctx is also passed to
// the ChunkSource. Play while playing does nothing.
//
// Errors: ErrNoDevice without a usable output device, ErrDevice when it
// cannot be opened or started.
func (p *Player) Play(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil {
		select {
		case <-p.run.done:
		default:
			return nil
		}
	}
	if p.pos >= p.total {
		p.pos = 0
	}
	if err := paAcquire(); err != nil {
		return err
	}
	stream, buf, rate, err := openStream(p.device, false, outputLatency)
	if err != nil {
		paRelease()
		return fmt.Errorf("opening output device: %w", err)
	}
	if err := stream.Start(); err != nil {
		_ = stream.Close()
		paRelease()
		return fmt.Errorf("%w: starting output: %w", ErrDevice, err)
	}
	run := &playRun{done: make(chan struct{})}
	p.run, p.err, p.seekTo = run, nil, -1
	ps := newPCMStream(p.tl, p.src, rate, false)
	ps.seek(p.pos)
	stopOnCancel := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		run.stop = true
		p.mu.Unlock()
	})
	go func() {
		err := p.loop(ctx, run, stream, buf, ps)
		stopOnCancel()
		_ = stream.Close()
		paRelease()
		p.mu.Lock()
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		p.err = err
		p.mu.Unlock()
		close(run.done)
	}()
	return nil
}

// loop feeds the device until the end, a stop or a failure. At a speed
// other than 1 the packets go through a stretcher (see stretch.go) on
// their way to the device.
func (p *Player) loop(ctx context.Context, run *playRun, stream *portaudio.Stream, buf []int16, ps *pcmStream) error {
	queued := 0 // packets the device buffers
	if info := stream.Info(); info != nil {
		queued = int(info.OutputLatency / FrameDuration)
	}
	p.mu.Lock()
	base, speed := p.pos, p.speed
	p.mu.Unlock()
	frame := len(buf)
	var st *stretcher
	if speed != 1 {
		st = newStretcher(frame * track.FrameRate)
	}
	written, read := 0, 0 // packets written to the device, read from the timeline
	// heard is the position of the audio leaving the speaker now.
	heard := func() int {
		if st == nil {
			return base + max(written-queued, 0)
		}
		lag := float64(st.lag(speed))/float64(frame) + float64(queued)*speed
		return min(base+max(read-int(lag+0.5), 0), p.total)
	}
	in := make([]int16, frame)
	eof := false
	for {
		p.mu.Lock()
		stop, seek := run.stop, p.seekTo
		p.seekTo = -1
		if seek >= 0 && p.speed != speed {
			speed = p.speed
			st = nil
			if speed != 1 {
				st = newStretcher(frame * track.FrameRate)
			}
		}
		if stop {
			p.pos = heard()
		} else if seek < 0 {
			p.pos = heard()
		}
		p.mu.Unlock()
		if stop {
			_ = stream.Abort()
			return nil
		}
		if seek >= 0 {
			// Drop what the device still holds so the jump is heard at once.
			_ = stream.Abort()
			if err := stream.Start(); err != nil {
				return fmt.Errorf("%w: restarting output: %w", ErrDevice, err)
			}
			ps.seek(seek)
			base, written, read, eof = seek, 0, 0, false
			if st != nil {
				st = newStretcher(frame * track.FrameRate)
			}
		}
		var n int
		var err error
		if st == nil {
			n, err = ps.next(ctx, buf)
			read++
		} else {
			n, err = p.stretched(ctx, ps, st, speed, in, buf, &read, &eof)
		}
		if err == io.EOF {
			_ = stream.Stop() // plays out what is buffered
			p.mu.Lock()
			if p.seekTo < 0 {
				p.pos = p.total
			}
			p.mu.Unlock()
			return nil
		}
		if err != nil {
			_ = stream.Abort()
			return err
		}
		clear(buf[n:])
		if err := stream.Write(); err != nil && !errors.Is(err, portaudio.OutputUnderflowed) {
			return fmt.Errorf("%w: writing output: %w", ErrDevice, err)
		}
		written++
	}
}

// stretched fills buf from the stretcher, feeding it packets as it needs
// them; io.EOF once the timeline and the stretcher are both used up.
func (p *Player) stretched(ctx context.Context, ps *pcmStream, st *stretcher, speed float64, in, buf []int16, read *int, eof *bool) (int, error) {
	for len(st.out) < len(buf) && !*eof {
		n, err := ps.next(ctx, in)
		if err == io.EOF {
			*eof = true
			st.flush()
			break
		}
		if err != nil {
			return 0, err
		}
		*read++
		st.push(in[:n])
		st.process(speed)
	}
	n := st.take(buf)
	if n == 0 && *eof {
		return 0, io.EOF
	}
	return n, nil
}

// SetSpeed sets the tempo, clamped to [MinSpeed, MaxSpeed], without
// changing the pitch; playback, if on, goes on at it from where it is.
func (p *Player) SetSpeed(s float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s = ClampSpeed(s)
	if s == p.speed {
		return
	}
	p.speed = s
	p.seekLocked(track.PacketsDuration(int64(p.pos)))
}

// Speed returns the tempo set by SetSpeed.
func (p *Player) Speed() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.speed
}

// Pause stops playback, keeping the position of the audio last heard, and
// returns once the device has stopped.
func (p *Player) Pause() {
	p.mu.Lock()
	run := p.run
	if run != nil {
		run.stop = true
	}
	p.mu.Unlock()
	if run != nil {
		<-run.done
	}
}

// Seek moves to the point to, clamped to [0, Duration]; playback, if on,
// goes on from there.
func (p *Player) Seek(to time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seekLocked(to)
}

// Skip moves by d (negative to go back), clamped to the timeline.
func (p *Player) Skip(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seekLocked(track.PacketsDuration(int64(p.pos)) + d)
}

func (p *Player) seekLocked(to time.Duration) {
	pos := int(min(max(track.PacketsIn(to), 0), int64(p.total)))
	p.pos = pos
	if p.run != nil {
		select {
		case <-p.run.done:
		default:
			p.seekTo = pos
		}
	}
}

// Position returns the point being heard.
func (p *Player) Position() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return track.PacketsDuration(int64(p.pos))
}

// Duration returns the length of the timeline being played.
func (p *Player) Duration() time.Duration { return track.PacketsDuration(int64(p.total)) }

// Playing reports whether playback is on.
func (p *Player) Playing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return false
	}
	select {
	case <-p.run.done:
		return false
	default:
		return true
	}
}

// Wait waits until playback stops (end, Pause, failure) or ctx ends, and
// returns the failure that stopped it, if any: an error reading chunks, a
// malformed chunk (ErrInvalidChunk) or the device (ErrDevice).
func (p *Player) Wait(ctx context.Context) error {
	p.mu.Lock()
	run := p.run
	p.mu.Unlock()
	if run == nil {
		return nil
	}
	select {
	case <-run.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
