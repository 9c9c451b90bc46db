// Package bundle makes and checks the court bundle of a case: evidence a
// court can check without trusting the agency's case server, its staff, or
// the laptop that made it.
//
// A bundle is a directory:
//
//	bundle.pdf       the case as a family court expects a bundle (FPR PD27A):
//	                 an index, sections A–F numbered A1, A2 … B1 …, bookmarks,
//	                 searchable text in an embedded font, each entry with who
//	                 wrote it (the agency's signed roster's name) and when
//	recordings/*.ogg the recordings as recorded (Ogg Opus, packets copied)
//	README.txt       for the court: what was checked and how to check again
//	manifest.json    every file's SHA-256; every revision the PDF shows, as
//	                 its signed original (encoding and signature); the agency
//	                 key and the statements that prove each signing device;
//	                 one signed checkpoint of the server's log, with an
//	                 inclusion proof and receipt per revision; the audit
//	                 events; the tombstones
//
// Write makes one from a Source (what a member's laptop or the agency's
// recovery export reads of a case); Verify checks one from its files alone,
// with no vault, no server and no cgo (cmd/fieldcase-verify), and names
// each item that fails. docs/BUNDLE.md is the format, for other verifiers.
//
// What a bundle does not prove: the signed originals are sealed under the
// case key, which a court does not hold, so that the PDF's words are the
// originals' rests on whoever decrypted them (the producer) — the agency
// can confirm any entry with its recovery identity.
package bundle
