package server

import (
	"slices"
	"strings"

	"github.com/fieldcase/fieldcase/sync/protocol"
)

// The access rules, in one place:
//
//   - a caseworker reads and writes the cases they are a member of, and
//     creates new ones (becoming their only member);
//   - a supervisor reads and writes every case of their team, and creates
//     new ones in it;
//   - a typist reads the team's cases that are open for transcription (a
//     dictation waits for typing) and writes there only new notes (the
//     transcript), updates of recording manifests (marking them
//     transcribed, never deleting them) and audit events;
//   - what kind of revision a role may write, in a case it may write, is
//     decided by the rules devices use (trust.MayWrite): audit events are
//     never edited or deleted by anyone; keyrings are written only by
//     caseworkers and supervisors, never deleted;
//   - every revision is signed by the device that pushes it (record.
//     Revision.Sig), checked against the signing key it enrolled with;
//   - an admin manages users and devices over the admin socket and reads no
//     case content: the sync and blob endpoints answer 403.
//
// A change log entry may also be addressed to one user (Change.Target): it
// is shown to that user only, and only while the rules above let them read
// the case.

// caseAccess reports what u may do with c.
func caseAccess(u User, c Case) (read, write bool) {
	switch u.Role {
	case protocol.RoleCaseworker:
		member := slices.Contains(c.Members, u.ID)
		return member, member
	case protocol.RoleSupervisor:
		same := u.TeamID != "" && c.TeamID == u.TeamID
		return same, same
	case protocol.RoleTypist:
		open := c.Transcription && u.TeamID != "" && c.TeamID == u.TeamID
		return open, open // narrowed by kind: see trust.MayWrite
	}
	return false, false
}

// supervises reports whether u is a supervisor of c's team.
func supervises(u User, c Case) bool {
	return u.Role == protocol.RoleSupervisor && u.TeamID != "" && c.TeamID == u.TeamID
}

// mayCreateCase reports whether u may start a case (it joins u's team).
func mayCreateCase(u User) bool {
	return u.TeamID != "" && (u.Role == protocol.RoleCaseworker || u.Role == protocol.RoleSupervisor)
}

// cutTarget prefixes the Target of a change that announces, to a user
// taken off a case, the keyring that took them off.
const cutTarget = "cut:"

// seesChange reports whether u is shown a change of case c.
func seesChange(u User, ch Change, c Case) bool {
	if strings.HasPrefix(ch.Target, cutTarget) {
		return ch.Target[len(cutTarget):] == u.ID // a keyring that took u off the case: see announceCut
	}
	if ch.Target != "" && ch.Target != u.ID {
		return false
	}
	read, _ := caseAccess(u, c)
	return read
}

// readsCases reports whether u's role may use the sync endpoints at all.
func readsCases(u User) bool { return u.Role != protocol.RoleAdmin }
