package client_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/opustools"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
)

// The recovery export writes each recording's audio as an Ogg Opus file
// that decodes to exactly what the member's own export does, and a
// recording one of whose chunks is missing on the server is reported in
// case.md, not a failed export.
func TestRecoveryExportAudio(t *testing.T) {
	opustools.Tool(t, "opusinfo")
	opustools.Tool(t, "opusdec")
	s := syncharness.StartServer(t)
	keyFile := setRecovery(t, s)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	a1 := newCase(t, ada, "A-1")
	ada.MustSync()
	whole := dictate(t, ada, a1, 6*time.Second)
	broken := dictate(t, ada, a1, 3*time.Second)
	ada.MustSync()
	ada.MustSync()

	backup := filepath.Join(t.TempDir(), "backup.db")
	s.Admin("backup", "--out", backup)
	// Lose one chunk of the second recording from the backup.
	var lost record.ChunkRef
	for _, ref := range broken.Meta.Chunks {
		if ref.Index == 1 {
			lost = ref
		}
	}
	db, err := bolt.Open(backup, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("blobs")) // boltstore: case id ‖ 0 ‖ blob id
		k := append(append([]byte(a1), 0), lost.ID[:]...)
		if b.Get(k) == nil {
			return fmt.Errorf("chunk %d of recording %s not in the backup", lost.Index, broken.ID)
		}
		return b.Delete(k)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "export")
	if out, err := recoveryExport(s, "--identity", keyFile, "--all", "--out", dir, "--from", backup); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	caseDir := filepath.Join(dir, "A-1")

	// The whole recording: a valid Ogg Opus file of its length, mode 0600.
	ogg := filepath.Join(caseDir, "recordings", whole.ID+".ogg")
	if fi, err := os.Stat(ogg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v", ogg, fi, err)
	}
	if got, want := opustools.PlaybackLength(t, ogg), whole.TL.Duration(); (got-want).Abs() > 100*time.Millisecond || (want-6*time.Second).Abs() > 100*time.Millisecond {
		t.Errorf("exported recording lasts %v, want %v (about 6 s)", got, want)
	}
	// It decodes to the very samples of the member's own export.
	mine := filepath.Join(t.TempDir(), "mine.ogg")
	var b bytes.Buffer
	if err := whole.ExportOgg(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := opustools.DecodeWAV(t, ogg), opustools.DecodeWAV(t, mine); len(got) < 5*16000*2 || !bytes.Equal(got, want) {
		t.Errorf("recovery export decodes to %d bytes of WAV, the member's export to %d, and they differ", len(got), len(want))
	}

	// The broken recording: reported, its gap silent, the rest kept.
	played := playedChunks(broken)
	md, err := os.ReadFile(filepath.Join(caseDir, "case.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"audio in " + filepath.Join("recordings", whole.ID+".ogg"),
		fmt.Sprintf("audio incomplete: %d of %d chunks (chunk 1 of take 0: not on the server", played-1, played),
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("case.md lacks %q:\n%s", want, md)
		}
	}
	if got, want := opustools.PlaybackLength(t, filepath.Join(caseDir, "recordings", broken.ID+".ogg")), broken.TL.Duration(); (got - want).Abs() > 100*time.Millisecond {
		t.Errorf("incomplete recording lasts %v, want %v", got, want)
	}
	// Chunk 1 (1 s to 2 s) is silent, the audio around it kept.
	wav := opustools.DecodeWAV(t, filepath.Join(caseDir, "recordings", broken.ID+".ogg"))
	peak := func(from, to float64) int {
		p := 0
		for i := 44 + 2*int(from*16000); i+1 < 44+2*int(to*16000) && i+1 < len(wav); i += 2 {
			p = max(p, abs(int(int16(binary.LittleEndian.Uint16(wav[i:])))))
		}
		return p
	}
	if before, gap, after := peak(0.2, 0.8), peak(1.2, 1.8), peak(2.2, 2.8); gap > 100 || before < 1000 || after < 1000 {
		t.Errorf("peaks before, in and after the missing chunk: %d, %d, %d; want loud, silent, loud", before, gap, after)
	}

	var cj struct {
		Recordings []struct {
			ID    string           `json:"id"`
			Value record.Recording `json:"value"`
			Audio struct {
				File    string `json:"file"`
				Chunks  int    `json:"chunks"`
				Missing int    `json:"missing_chunks"`
			} `json:"audio"`
		} `json:"recordings"`
	}
	if b, err := os.ReadFile(filepath.Join(caseDir, "case.json")); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &cj); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range cj.Recordings {
		got[r.ID] = fmt.Sprintf("%s %s %s %d %s %d/%d", r.Value.Title, r.Value.WorkType, r.Value.Status, r.Value.DurationMS, r.Audio.File, r.Audio.Missing, r.Audio.Chunks)
	}
	want := map[string]string{}
	for _, r := range []*dictation.Recording{whole, broken} {
		missing := 0
		if r == broken {
			missing = 1
		}
		want[r.ID] = fmt.Sprintf("court report court report draft %d %s %d/%d", r.TL.Duration().Milliseconds(),
			filepath.Join("recordings", r.ID+".ogg"), missing, playedChunks(r))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("case.json recording %s: %q, want %q", id, got[id], w)
		}
	}
}

// playedChunks counts the chunks of a recording that hold audio it plays.
func playedChunks(r *dictation.Recording) int {
	n := 0
	for _, tk := range r.TL.Takes() {
		for _, packets := range tk.Chunks {
			if packets > 0 {
				n++
			}
		}
	}
	return n
}

func abs(x int) int { return max(x, -x) }
