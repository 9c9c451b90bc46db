// Package escrow is the agency's escrow service for per-case escrow keys
// (issue 15, crypto-shredding part 1; docs/ARCHITECTURE.md).
//
// A case created while the roster names an escrow service (trust.KindEscrow)
// has its keys wrapped to its own escrow key instead of the agency recovery
// recipient. The escrow key's private half, wrapped to the recovery
// recipient, is deposited here by the device that created the case, and is
// deleted here when the case is destroyed. The service runs apart from the
// case server, on other storage with short backup retention: the case
// server — an adversary — never holds a deposit, so once the case is
// destroyed and this service's backups have aged out, no copy of the
// escrow key exists and the recovery identity opens no backup of the case.
//
// The service trusts nothing but signatures rooted in the agency key it is
// configured with: a deposit is signed by the device whose id the case id
// binds (trust.BindsCase), checked against roster statements the device
// sends with it; a destruction is proved by the statements that prove it
// (trust.Evaluate). Deposits are write-once per case, and a destroyed case
// takes no deposit again.
package escrow
