// Package chain keeps cairn's block chain: an in-memory index of every
// known header, the account state, fork choice by most cumulative work with
// reorganisation through stored undo records, a bounded pool of orphan
// blocks, and the LevelDB schema that holds it all (store.go). The rules
// it applies are those of docs/PROTOCOL.md: §11 State and applying a
// block, §16 Validation and check order, §17 Fork choice, §23
// Headers-first sync, §26 Block handling policy.
//
// Every change of the tip — one block connected, or a whole reorganisation —
// is written as one atomic LevelDB batch, so a process killed at any instant
// reopens with tip, state and indexes in agreement.
//
// A *Chain is safe for concurrent use: ProcessBlock serialises writers and
// the read methods take a shared lock. The package starts no goroutine.
package chain
