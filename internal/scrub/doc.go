// Package scrub overwrites with zeros the pages a bbolt file holds free, so
// that what a deletion removed (a destroyed case's ciphertext, the old
// sealed keyring cache that held its key) is not left readable in the file
// until bbolt happens to reuse the page.
//
// Why this and not bbolt.Compact into a new file and a rename: it is
// cheaper (only the free pages are written, not every live one, and the
// file is never reopened, so no other process can take it in between),
// it is crash-safe without a rename (it writes only pages no committed
// meta page references: a crash at any point leaves the database as it
// was, with some free pages zeroed and some not), and on a filesystem that
// writes in place (ext4, xfs) it overwrites the very disk blocks, where a
// compaction leaves the old file's blocks in the filesystem's free space.
//
// Why no old bytes are left: bbolt writes every page it allocates from a
// zeroed buffer (its page pool is cleared before reuse, larger pages are
// fresh allocations), so a page in use holds only live data and zeros; a
// page no transaction can reach is on the freelist; and this package
// zeroes every page on the freelist. The meta pages hold no keys or values.
// What it cannot reach: copies the filesystem or the disk keeps elsewhere
// (copy-on-write filesystems such as btrfs or zfs, snapshots, an SSD's
// remapped blocks) — full-disk encryption is what covers those.
package scrub
