// Package trust decides who may hold a case key and who may write what,
// from signatures alone — never from the case server's word.
//
// The root of trust is the agency's signing identity (AgencyKey), an Ed25519
// key kept offline like the recovery identity. A laptop learns its public key
// at enrolment from the enrolment code handed over in person (the code
// carries the key's fingerprint) and pins it.
//
// Everything that makes a device a recipient of case keys is a signed
// Statement, and the roster is what a set of statements proves (Evaluate):
//
//   - the agency signs teams, users (name, role, team), the recovery
//     recipient, and enrolment grants;
//   - a grant names a user and a code key derived from the code's secret;
//     the server never sees the secret, so only whoever holds the code can
//     sign the Device statement that enrols a laptop under that grant;
//   - a device already trusted may grant its own user a further laptop (a
//     pairing code) and revoke its own user's devices; a supervisor's device
//     may revoke devices of its team; the agency may revoke any device.
//
// Who is in a case is not a roster fact: it travels in the case's keyring
// records (Membership), which are revisions signed by the device that wrote
// them, each authorised by the membership before it (MayWriteKeyring); the
// first is bound to its writer by the case id itself (CaseID). Every other
// revision is checked against the membership of the key epoch it is sealed
// under (MayWrite).
//
// A record's life after its case closes is signed the same way
// (lifecycle.go): the agency's retention policy, legal holds (the agency or
// a supervisor of the case's team) and their releases, and the supervisors'
// approvals that, as many as the policy asks and with no hold in force,
// make the roster prove a case destroyed (Retention.Destroyed).
//
// Nothing here does I/O: the vault, the sync client and the server all call
// the same rules.
package trust
