// Package dictation keeps dictated recordings in the vault: it joins the
// audio package (capture, Opus, timeline editing, playback, export), which
// knows nothing of storage, to the store, which knows nothing of audio.
//
// A recording is a record whose body is its manifest (metadata, the edited
// timeline, the list of chunk ids); the audio itself is chunks of about a
// second, each sealed under the case key and committed as it arrives. Before
// a take starts, what it is for (append, insert or overwrite at a time) is
// sealed into the vault, so that after a crash Recover can put the chunks
// that were committed where they belong and mark the recording interrupted.
package dictation
