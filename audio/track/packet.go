package track

import (
	"fmt"
	"time"
)

// Audio format constants. Every packet holds FrameDuration of audio; the
// PCM the audio package captures, decodes and exports is SampleRate mono
// int16.
const (
	SampleRate    = 16000
	FrameDuration = 20 * time.Millisecond
	FrameSamples  = SampleRate * int(FrameDuration/time.Millisecond) / 1000 // 320
	FrameRate     = int(time.Second / FrameDuration)                        // packets per second

	// OpusRate is the rate of Opus's own sample counts (granule positions,
	// pre-skip), 48 kHz whatever the input rate (RFC 7845 §4).
	OpusRate = 48000
	// OpusFrame is a 20 ms packet in 48 kHz samples.
	OpusFrame = OpusRate / 50
	// PreSkip is libopus's encoder delay for the VoIP application, in 48 kHz
	// samples: Fs/400 of look-ahead plus Fs/250 of delay compensation
	// (6.5 ms). Ogg Opus players drop it from the start.
	PreSkip = OpusRate/400 + OpusRate/250

	maxPacketSize = 1500 // bytes; libopus never exceeds 1276 for one 20 ms frame
)

// packetSamples48 returns the duration of an Opus packet in 48 kHz samples,
// read from its table-of-contents byte (RFC 6716 §3.1). It rejects the
// malformations that can be seen without decoding.
func packetSamples48(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("empty opus packet")
	}
	toc := p[0]
	cfg := toc >> 3
	var frame int
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]int{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16: // hybrid: 10, 20 ms
		frame = [2]int{480, 960}[cfg&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]int{120, 240, 480, 960}[cfg&3]
	}
	n := 1
	switch toc & 3 {
	case 1:
		if (len(p)-1)%2 != 0 {
			return 0, fmt.Errorf("opus packet with two equal frames has odd length")
		}
		n = 2
	case 2:
		n = 2
	case 3:
		if len(p) < 2 {
			return 0, fmt.Errorf("opus packet lacks its frame count")
		}
		n = int(p[1] & 0x3f)
		if n == 0 {
			return 0, fmt.Errorf("opus packet with zero frames")
		}
	}
	if n*frame > 5760 {
		return 0, fmt.Errorf("opus packet longer than 120 ms")
	}
	return n * frame, nil
}

// CheckPacket reports whether p is a plausible 20 ms Opus packet.
func CheckPacket(p []byte) error {
	if len(p) > maxPacketSize {
		return fmt.Errorf("opus packet of %d bytes exceeds %d", len(p), maxPacketSize)
	}
	n, err := packetSamples48(p)
	if err != nil {
		return err
	}
	if n != OpusFrame {
		return fmt.Errorf("opus packet of %d samples, want %d (20 ms)", n, OpusFrame)
	}
	return nil
}

// PacketsIn returns the number of whole packets in d (rounded down).
func PacketsIn(d time.Duration) int64 { return int64(d / FrameDuration) }

// PacketsDuration returns the duration of n packets.
func PacketsDuration(n int64) time.Duration { return time.Duration(n) * FrameDuration }
