package audio_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"math"
	"time"

	"github.com/fieldcase/fieldcase/audio"
)

// store keeps chunks in memory, in their stored encoding; the vault does
// the same, sealed, in bbolt.
type store map[[2]uint32][]byte

func (s store) WriteChunk(_ context.Context, c audio.Chunk) error {
	b, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	s[[2]uint32{c.Take, c.Index}] = b
	return nil
}

func (s store) ReadChunk(_ context.Context, take, index uint32) (audio.Chunk, error) {
	b, ok := s[[2]uint32{take, index}]
	if !ok {
		return audio.Chunk{}, fmt.Errorf("no chunk %d of take %d", index, take)
	}
	return audio.UnmarshalChunk(b)
}

// Dictation: record a take, pause and resume, then keep it in the timeline.
// (Needs a microphone, so it is not run.)
func ExampleRecorder() {
	ctx := context.Background()
	var tl audio.Timeline
	chunks := store{}
	rec := audio.NewRecorder(audio.Options{})
	if err := rec.Start(ctx, tl.NextTakeID(), chunks); err != nil {
		log.Fatal(err) // errors.Is(err, audio.ErrNoDevice): no microphone
	}
	time.Sleep(2 * time.Second)
	fmt.Println(rec.Elapsed(), rec.Level().RMS, "dBFS")
	rec.Pause()
	rec.Resume()
	take, err := rec.Stop()
	if err != nil {
		log.Fatal(err)
	}
	if err := tl.Append(take); err != nil {
		log.Fatal(err)
	}
}

// Encode audio at hand into chunks and export the result as Ogg Opus.
func ExampleEncoder() {
	ctx := context.Background()
	chunks := store{}
	var tl audio.Timeline

	pcm := make([]int16, 5*audio.SampleRate/2) // 2.5 s of 440 Hz
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/audio.SampleRate))
	}
	enc, err := audio.NewEncoder(tl.NextTakeID(), chunks)
	if err != nil {
		log.Fatal(err)
	}
	if err := enc.Write(ctx, pcm); err != nil {
		log.Fatal(err)
	}
	take, err := enc.Close(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := tl.Append(take); err != nil {
		log.Fatal(err)
	}
	var ogg bytes.Buffer
	if err := audio.WriteOgg(ctx, &ogg, &tl, chunks); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(chunks), "chunks of", take.Chunks, "packets;", tl.Duration())
	fmt.Println(bytes.HasPrefix(ogg.Bytes(), []byte("OggS")), ogg.Len() < 10000)
	// Output:
	// 3 chunks of [50 50 25] packets; 2.5s
	// true true
}

// Edit a dictation without re-encoding it: insert a passage, mark a point,
// re-record the end.
func ExampleTimeline() {
	var tl audio.Timeline
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	// Takes as Recorder.Stop returns them: packets (20 ms) per chunk.
	first := audio.Take{ID: tl.NextTakeID(), Chunks: []int{50, 50, 50, 0}} // 3 s
	must(tl.Append(first))
	must(tl.AddMarker(2*time.Second, "check the court date"))

	inserted := audio.Take{ID: tl.NextTakeID(), Chunks: []int{50, 0}} // 1 s
	must(tl.Insert(1*time.Second, inserted))
	loc, err := tl.Locate(2500 * time.Millisecond)
	must(err)
	fmt.Println(tl.Duration(), tl.Markers(), loc)

	redo := audio.Take{ID: tl.NextTakeID(), Chunks: []int{25}} // 0.5 s
	must(tl.Overwrite(3500*time.Millisecond, redo))
	fmt.Println(tl.Duration(), tl.Markers(), len(tl.Takes()), "takes")

	b, err := tl.MarshalBinary()
	must(err)
	back, err := audio.UnmarshalTimeline(b)
	must(err)
	fmt.Println(back.Duration(), len(b), "bytes")
	// Output:
	// 4s [{3s check the court date}] {0 1 25}
	// 4s [{3s check the court date}] 3 takes
	// 4s 53 bytes
}
