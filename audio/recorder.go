package audio

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldcase/fieldcase/audio/track"
	"github.com/gordonklaus/portaudio"
)

const (
	// frameQueue is how many captured frames (20 ms each) may wait for the
	// encoder before the capture loop drops frames: 10 s (320 KB). One
	// second was measured to drop 1% of frames over 10 minutes on a fully
	// loaded 2-core machine, where the encoder goroutine went without CPU
	// for more than a second at times.
	frameQueue = 10 * track.FrameRate
	// inputLatency is the device buffer asked for. A deeper buffer rides
	// out longer stalls on a busy machine but delays the first buffer: with
	// PulseAudio behind ALSA the first read takes about 40% of it.
	inputLatency   = 100 * time.Millisecond
	defaultBacklog = 30 * time.Second
)

// SilenceDBFS is the level reported for digital silence.
const SilenceDBFS = -100.0

// Options configure a Recorder. The zero value records from the default
// input device at 24 kbit/s in one-second chunks.
type Options struct {
	// Device is the input device: a name from ListDevices or its index in
	// decimal. Empty means the system's default input.
	Device string
	// Bitrate is the Opus target bitrate in bit/s; 0 means 24000.
	Bitrate int
	// ChunkPackets is the number of 20 ms packets per chunk; 0 means 50.
	ChunkPackets int
	// Backlog is how much encoded audio may wait for a slow sink before the
	// capture loop starts dropping frames; 0 means 30 s.
	Backlog time.Duration
}

// Level is the loudness of the latest 20 ms of input, in dBFS (0 is full
// scale; SilenceDBFS for digital silence).
type Level struct {
	RMS  float64
	Peak float64
}

// Stats counts what happened during the current (or last) take.
type Stats struct {
	// FramesCaptured counts 20 ms frames read from the device while
	// recording, pauses excluded.
	FramesCaptured int64
	// FramesDropped counts captured frames lost because the encoder or the
	// sink fell behind. Each is replaced by a packet of silence, so the
	// take keeps real time.
	FramesDropped int64
	// InputOverflows counts reads on which PortAudio reported that audio
	// was lost before it could be read (the device buffer overflowed).
	InputOverflows int64
	// ChunksWritten counts chunks the sink accepted.
	ChunksWritten int64
	// FirstBuffer is the time from Start to the first buffer read from the
	// device; zero until then.
	FirstBuffer time.Duration
}

// Recorder captures dictation from an input device, encodes it to Opus and
// hands it, chunk by chunk, to a Sink.
//
// Capture, encoding and the sink run in three goroutines joined by bounded
// queues: the capture loop never waits for the encoder, the sink, the disk
// or the UI. When the queues are full it drops frames and counts them
// (Stats.FramesDropped) rather than block.
//
// Level, Elapsed, Stats and Paused may be called from any goroutine at any
// time. A Recorder records one take at a time and may be reused.
type Recorder struct {
	opts Options

	mu  sync.Mutex
	cur *session

	paused                                     atomic.Bool
	rms, peak                                  atomic.Uint64 // float64 bits
	captured, dropped, overflows, chunks, seen atomic.Int64
	firstBuffer                                atomic.Int64
}

// session is one take's run.
type session struct {
	stop atomic.Bool
	seq  atomic.Int64 // frames of the take so far, dropped ones included
	done chan struct{}

	mu   sync.Mutex
	err  error
	take Take // set before done is closed
}

func (s *session) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.stop.Store(true)
}

// frame is a captured 20 ms buffer, or a request to cut the chunk short.
type frame struct {
	pcm   []int16
	seq   int64
	flush bool
}

// NewRecorder returns a Recorder with the given options. It touches no
// device until Start.
func NewRecorder(opts Options) *Recorder {
	r := &Recorder{opts: opts}
	r.setLevel(nil)
	return r
}

// Start opens the input device and starts recording take (its ID, see
// Timeline.NextTakeID) into sink, which receives chunks 0, 1, 2, … and a
// last chunk. Start returns once the device is running. Recording goes on
// until Stop, a device or sink failure, or the end of ctx; ctx is also
// passed to sink.
//
// Errors: ErrBusy while a take is being recorded, ErrNoDevice without a
// usable input device, ErrDevice when it cannot be opened or started.
func (r *Recorder) Start(ctx context.Context, take uint32, sink Sink) error {
	start := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		select {
		case <-r.cur.done:
		default:
			return ErrBusy
		}
	}
	r.cur = nil // a failed Start leaves no take behind for Stop
	if err := paAcquire(); err != nil {
		return err
	}
	stream, buf, rate, err := openStream(r.opts.Device, true, inputLatency)
	if err != nil {
		paRelease()
		return fmt.Errorf("opening input device: %w", err)
	}
	enc, err := newOpusEncoder(rate, r.opts.Bitrate, r.opts.ChunkPackets, take)
	if err != nil {
		_ = stream.Close()
		paRelease()
		return err
	}
	if err := stream.Start(); err != nil {
		_ = stream.Close()
		paRelease()
		return fmt.Errorf("%w: starting input: %w", ErrDevice, err)
	}

	for _, c := range []*atomic.Int64{&r.captured, &r.dropped, &r.overflows, &r.chunks, &r.seen, &r.firstBuffer} {
		c.Store(0)
	}
	r.paused.Store(false)
	r.setLevel(nil)

	backlog := r.opts.Backlog
	if backlog <= 0 {
		backlog = defaultBacklog
	}
	queued := max(int(backlog/(time.Duration(enc.chunkPackets)*FrameDuration)), 1)
	s := &session{done: make(chan struct{})}
	frames := make(chan frame, frameQueue+2)
	free := make(chan []int16, frameQueue)
	for range frameQueue {
		free <- make([]int16, len(buf))
	}
	chunks := make(chan Chunk, queued)
	stopOnCancel := context.AfterFunc(ctx, func() { s.fail(ctx.Err()) })

	go r.capture(s, stream, buf, start, frames, free)
	go r.encode(s, enc, frames, free, chunks)
	go func() {
		r.write(ctx, s, take, sink, chunks)
		stopOnCancel()
		close(s.done)
	}()
	r.cur = s
	return nil
}

// capture reads the device until the session stops. It never blocks on
// anything but the device.
func (r *Recorder) capture(s *session, stream *portaudio.Stream, buf []int16, start time.Time, frames chan<- frame, free chan []int16) {
	defer func() {
		if err := stream.Stop(); err != nil {
			_ = stream.Abort()
		}
		_ = stream.Close()
		paRelease()
		r.setLevel(nil)
		close(frames)
	}()
	wasPaused := false
	for !s.stop.Load() {
		if err := stream.Read(); err != nil {
			if !errors.Is(err, portaudio.InputOverflowed) {
				s.fail(fmt.Errorf("%w: reading input: %w", ErrDevice, err))
				return
			}
			// The buffer holds good audio; some audio before it was lost.
			r.overflows.Add(1)
		}
		if r.firstBuffer.Load() == 0 {
			r.firstBuffer.Store(int64(max(time.Since(start), 1)))
		}
		r.setLevel(buf)
		if r.paused.Load() {
			if !wasPaused {
				wasPaused = true
				select { // cut the chunk short, so the vault has it all
				case frames <- frame{flush: true}:
				default:
				}
			}
			continue
		}
		wasPaused = false
		seq := s.seq.Add(1)
		r.seen.Store(seq)
		r.captured.Add(1)
		select {
		case pcm := <-free:
			copy(pcm, buf)
			select {
			case frames <- frame{pcm: pcm, seq: seq}:
			default:
				free <- pcm
				r.dropped.Add(1)
			}
		default:
			r.dropped.Add(1)
		}
	}
}

// encode turns frames into chunks, filling dropped frames with silence.
func (r *Recorder) encode(s *session, enc *opusEncoder, frames <-chan frame, free chan<- []int16, chunks chan<- Chunk) {
	defer close(chunks)
	var last int64 // seq of the last frame encoded or filled
	fill := func(upTo int64) {
		for ; last < upTo; last++ {
			if c, full, _ := enc.fill(); full {
				chunks <- c
			}
		}
	}
	for f := range frames {
		if f.flush {
			if enc.pending() {
				chunks <- enc.cut(false)
			}
			continue
		}
		fill(f.seq - 1)
		c, full, err := enc.encode(f.pcm)
		free <- f.pcm
		last = f.seq
		if err != nil {
			s.fail(err)
			continue
		}
		if full {
			chunks <- c
		}
	}
	fill(s.seq.Load()) // frames dropped at the very end
	chunks <- enc.cut(true)
}

// write hands chunks to the sink. After a sink failure it stops the take
// and discards the rest, so the encoder never waits on a dead sink; after a
// device failure or the end of ctx it still offers the sink what was
// captured.
func (r *Recorder) write(ctx context.Context, s *session, take uint32, sink Sink, chunks <-chan Chunk) {
	t := Take{ID: take}
	broken := false
	for c := range chunks {
		if broken {
			continue
		}
		if err := sink.WriteChunk(ctx, c); err != nil {
			s.fail(fmt.Errorf("writing chunk %d: %w", c.Index, err))
			broken = true
			continue
		}
		t.Chunks = append(t.Chunks, len(c.Packets))
		r.chunks.Add(1)
	}
	s.mu.Lock()
	s.take = t
	s.mu.Unlock()
}

// Pause stops adding audio to the take until Resume; the device stays open
// and the level meter stays live. The chunk in progress is handed to the
// sink at once. Start clears a pause.
func (r *Recorder) Pause() { r.paused.Store(true) }

// Resume continues the take after Pause.
func (r *Recorder) Resume() { r.paused.Store(false) }

// Paused reports whether the recorder is paused.
func (r *Recorder) Paused() bool { return r.paused.Load() }

// Stop ends the take, waits until every chunk has been handed to the sink,
// and returns the take as the sink received it: on a sink failure, only the
// chunks written. The error is the first failure of the device (ErrDevice),
// the sink, or the context. Stop after the take ended by itself returns the
// same; Stop before any Start returns an empty Take.
func (r *Recorder) Stop() (Take, error) {
	r.mu.Lock()
	s := r.cur
	r.mu.Unlock()
	if s == nil {
		return Take{}, nil
	}
	s.stop.Store(true)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.take, s.err
}

// Done returns a channel closed when the current take has ended and all its
// chunks have been handed to the sink, whether by Stop or by a failure.
func (r *Recorder) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return r.cur.done
}

// Elapsed returns the length of the take so far, pauses excluded.
func (r *Recorder) Elapsed() time.Duration { return track.PacketsDuration(r.seen.Load()) }

// Level returns the level of the latest 20 ms read from the device.
func (r *Recorder) Level() Level {
	return Level{RMS: math.Float64frombits(r.rms.Load()), Peak: math.Float64frombits(r.peak.Load())}
}

// Stats returns the counters of the current or last take.
func (r *Recorder) Stats() Stats {
	return Stats{
		FramesCaptured: r.captured.Load(),
		FramesDropped:  r.dropped.Load(),
		InputOverflows: r.overflows.Load(),
		ChunksWritten:  r.chunks.Load(),
		FirstBuffer:    time.Duration(r.firstBuffer.Load()),
	}
}

func (r *Recorder) setLevel(pcm []int16) {
	rms, peak := levels(pcm)
	r.rms.Store(math.Float64bits(rms))
	r.peak.Store(math.Float64bits(peak))
}

// levels returns the RMS and peak level of pcm in dBFS.
func levels(pcm []int16) (rms, peak float64) {
	var sum float64
	var top int
	for _, v := range pcm {
		x := int(v)
		sum += float64(x * x)
		top = max(top, x, -x)
	}
	if len(pcm) == 0 {
		return SilenceDBFS, SilenceDBFS
	}
	return dbfs(math.Sqrt(sum / float64(len(pcm)))), dbfs(float64(top))
}

func dbfs(v float64) float64 {
	if v <= 0 {
		return SilenceDBFS
	}
	return max(20*math.Log10(v/32768), SilenceDBFS)
}
