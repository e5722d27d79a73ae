// Package types defines cairn's consensus objects — Hash, Address, Header,
// Tx and Block — and their one canonical binary encoding (docs/PROTOCOL.md
// §2–§9).
//
// Every integer is big-endian and fixed width; variable-length lists carry a
// minimal uvarint count that is checked against its limit before anything is
// allocated; unknown versions and trailing bytes are refused. Decoding what
// Encode produced gives back the same value, and every accepted input has
// exactly one encoding.
//
// The types are plain values: nothing here is safe for concurrent mutation,
// but concurrent reads and hashing of a value nobody modifies are safe.
package types
