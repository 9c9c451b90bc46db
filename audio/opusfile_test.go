//go:build !nolibopusfile

package audio

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/fieldcase/fieldcase/audio/track"
	opus "gopkg.in/hraban/opus.v2"
)

// TestOggExportOpusfile decodes exports with libopusfile, the library most
// Linux players use for Ogg Opus.
func TestOggExportOpusfile(t *testing.T) {
	for _, tc := range editCases {
		t.Run(tc.name, func(t *testing.T) {
			var tl Timeline
			st := newMemStore()
			tc.build(t, &tl, st)
			var buf bytes.Buffer
			must(t, WriteOgg(context.Background(), &buf, &tl, st))
			s, err := opus.NewStream(&buf)
			if err != nil {
				t.Fatalf("libopusfile refuses the export: %v", err)
			}
			defer s.Close()
			var pcm48 []int16
			frame := make([]int16, 5760)
			for {
				n, err := s.Read(frame)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("libopusfile: %v", err)
				}
				pcm48 = append(pcm48, frame[:n]...)
			}
			if got, want := len(pcm48), tl.Packets()*track.OpusFrame-track.PreSkip; got != want {
				t.Errorf("libopusfile decoded %d samples at 48 kHz, want %d", got, want)
			}
			pcm := make([]int16, len(pcm48)/3) // 48 → 16 kHz; the tones are far below 8 kHz
			for i := range pcm {
				pcm[i] = pcm48[3*i]
			}
			checkContent(t, pcm, tc.spans)
		})
	}
}
