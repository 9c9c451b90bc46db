package audio

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/fieldcase/fieldcase/audio/track"
	"github.com/gordonklaus/portaudio"
)

// PortAudio must be initialised before use and terminated after; the Go
// binding keeps unsynchronised globals (its init count and device cache), so
// every call that touches them goes through pa's lock, and the library stays
// initialised exactly while a Recorder, Player or ListDevices needs it.
// Terminating when the count drops to zero also makes the next user see
// devices plugged in since.
var pa struct {
	sync.Mutex
	refs    int
	skipIDs sync.Once
}

// paAcquire initialises PortAudio if no one else holds it. Each successful
// call must be matched by one paRelease.
func paAcquire() error {
	pa.Lock()
	defer pa.Unlock()
	if pa.refs == 0 {
		if err := portaudio.Initialize(); err != nil {
			return fmt.Errorf("%w: initialising portaudio: %w", ErrDevice, err)
		}
		pa.skipIDs.Do(skipSmallStreamIDs)
	}
	pa.refs++
	return nil
}

// skipSmallStreamIDs works around the binding's handing each stream's
// serial number (0, 1, 2, …) to C as a pointer: the race detector's pointer
// checks (checkptr, on with -race) abort the program on a pointer value
// between 1 and 4095. Opening streams that the binding itself rejects,
// before it calls into C, uses those numbers up. Called with pa held and
// PortAudio initialised.
func skipSmallStreamIDs() {
	bad := portaudio.StreamParameters{Input: portaudio.StreamDeviceParameters{Device: &portaudio.DeviceInfo{}}}
	for range 4096 {
		_, _ = portaudio.OpenStream(bad, 0) // "invalid Buffer type int"
	}
}

func paRelease() {
	pa.Lock()
	defer pa.Unlock()
	if pa.refs <= 0 {
		return
	}
	if pa.refs--; pa.refs == 0 {
		_ = portaudio.Terminate()
	}
}

// Device describes an audio device as PortAudio lists it.
type Device struct {
	Index         int
	Name          string
	Inputs        int  // maximum input channels; 0 for an output-only device
	Outputs       int  // maximum output channels; 0 for an input-only device
	DefaultInput  bool // the system's default input
	DefaultOutput bool // the system's default output
}

// ListDevices returns the audio devices PortAudio sees. With no devices it
// returns an empty list and no error.
func ListDevices() ([]Device, error) {
	if err := paAcquire(); err != nil {
		return nil, err
	}
	defer paRelease()
	pa.Lock()
	defer pa.Unlock()
	devs, err := portaudio.Devices()
	if err != nil {
		return nil, fmt.Errorf("%w: listing devices: %w", ErrDevice, err)
	}
	in, _ := portaudio.DefaultInputDevice()
	out, _ := portaudio.DefaultOutputDevice()
	list := make([]Device, 0, len(devs))
	for _, d := range devs {
		list = append(list, Device{
			Index:         d.Index,
			Name:          d.Name,
			Inputs:        d.MaxInputChannels,
			Outputs:       d.MaxOutputChannels,
			DefaultInput:  in != nil && in.Index == d.Index,
			DefaultOutput: out != nil && out.Index == d.Index,
		})
	}
	return list, nil
}

// streamRates are the sample rates tried, in order, when opening a stream.
// Opus encodes and decodes at either, so a device that cannot do 16 kHz
// still records and plays without a resampler of ours.
var streamRates = []int{SampleRate, track.OpusRate}

// openStream opens a mono 16-bit stream on the device named by name (see
// Options.Device) for input or output, at 16 kHz or, if the device refuses
// that, 48 kHz (Opus takes either). buf receives the frame buffer bound to
// the stream. The caller holds a paAcquire reference.
func openStream(name string, input bool, latency time.Duration) (*portaudio.Stream, []int16, int, error) {
	pa.Lock()
	defer pa.Unlock()
	dev, err := findDevice(name, input)
	if err != nil {
		return nil, nil, 0, err
	}
	var errs []error
	for _, rate := range streamRates {
		p := portaudio.StreamParameters{SampleRate: float64(rate), FramesPerBuffer: rate / track.FrameRate}
		sp := portaudio.StreamDeviceParameters{Device: dev, Channels: 1}
		if input {
			sp.Latency = max(dev.DefaultHighInputLatency, latency)
			p.Input = sp
		} else {
			sp.Latency = max(dev.DefaultHighOutputLatency, latency)
			p.Output = sp
		}
		buf := make([]int16, rate/track.FrameRate)
		// One buffer argument: the binding binds it to whichever direction
		// has a device.
		s, err := portaudio.OpenStream(p, buf)
		if err == nil {
			return s, buf, rate, nil
		}
		errs = append(errs, fmt.Errorf("at %d Hz: %w", rate, err))
	}
	return nil, nil, 0, fmt.Errorf("%w: opening %q: %w", ErrDevice, dev.Name, errors.Join(errs...))
}

// findDevice resolves a device name: "" is the default device, otherwise an
// exact device name or a decimal device index. Called with pa held.
func findDevice(name string, input bool) (*portaudio.DeviceInfo, error) {
	kind := "output"
	if input {
		kind = "input"
	}
	if name == "" {
		var d *portaudio.DeviceInfo
		var err error
		if input {
			d, err = portaudio.DefaultInputDevice()
		} else {
			d, err = portaudio.DefaultOutputDevice()
		}
		if err != nil || d == nil {
			return nil, fmt.Errorf("%w: no default %s device", ErrNoDevice, kind)
		}
		return d, nil
	}
	devs, err := portaudio.Devices()
	if err != nil {
		return nil, fmt.Errorf("%w: listing devices: %w", ErrDevice, err)
	}
	usable := func(d *portaudio.DeviceInfo) bool {
		if input {
			return d.MaxInputChannels > 0
		}
		return d.MaxOutputChannels > 0
	}
	for _, d := range devs {
		if d.Name == name && usable(d) {
			return d, nil
		}
	}
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(devs) && usable(devs[i]) {
		return devs[i], nil
	}
	return nil, fmt.Errorf("%w: no %s device %q", ErrNoDevice, kind, name)
}
