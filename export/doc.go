// Package export writes one case, decrypted on a device (or from the
// agency's recovery export), in formats other people and systems read:
//
//   - JSON: a documented document (docs/EXPORTS.md) with JSON Schemas in
//     docs/schema/, for integrations and archives;
//   - CSV: one file per record type, for a spreadsheet (a data protection
//     officer answering a subject access request works through the notes
//     in one sheet, the consents in another); formula-safe and read back
//     exactly by ReadCSV;
//   - HL7 FHIR R4: a collection Bundle of Patient, RelatedPerson, CarePlan,
//     Encounter, DocumentReference, Consent and Task resources.
//
// Redact prepares a case for a subject access request: the names of third
// parties the vault knows (people in the case, attendees, other persons'
// consents, names the officer adds) are replaced or left out, records the
// officer chooses are left out, and every omission is listed (what and
// why, never the name left out) to be kept beside the export.
//
// The package knows nothing of the vault or the server: a caller fills a
// Case from what it decrypted. Nothing here encrypts or decrypts.
package export
