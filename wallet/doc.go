// Package wallet holds what a wallet holder needs on their own machine:
// ed25519 keys, the encrypted keystore (one JSON file per key under
// <home>/wallet/), passphrase input, CRN amounts in text
// and the building and signing of transactions.
//
// Of cairn it depends only on chain/types: it never talks to a node. The CLI asks
// the node for the sender's nonce and submits what BuildTx returns.
//
// Keys. A Key is an ed25519 private key; its 32-byte seed is what a
// version-1 keystore seals and what Export and Import move around, in hex.
//
// Mnemonics. A new wallet's key comes from a 24-word BIP-39 mnemonic
// (English list, github.com/tyler-smith/go-bip39): the words and an
// optional BIP-39 passphrase give a 64-byte seed, and SLIP-0010 derives
// the ed25519 key of account N at m/44'/7731'/N' from it (slip10.go, the
// shape of Stellar's SEP-0005). ParseMnemonic takes the words as a person
// types them and names what is wrong (an unknown word and its position,
// the count, the checksum) in a *MnemonicError. A version-2 keystore seals
// the mnemonic's entropy, so LoadMnemonic can show the words again; the
// BIP-39 passphrase is never stored.
//
// Amounts. 1 CRN = 10^8 base units. ParseAmount accepts only "digits" or
// "digits.digits" with at most 8 decimal places and refuses everything
// else with a sentinel error naming the reason; FormatAmount always prints
// 8 places, so ParseAmount(FormatAmount(v)) == v for every uint64.
//
// Keystore. See keystore.go for the file formats, version 1 (a bare key)
// and version 2 (a key from a mnemonic). A wrong passphrase gives
// ErrWrongPassphrase and a file edited after it was written gives
// ErrTampered; a keystore never decrypts to a key other than the one whose
// address it names. Absurd key-derivation parameters in a file are refused
// before any memory is allocated for them.
//
// Concurrency. Key, Mnemonic and MnemonicKey are immutable after
// construction and safe for concurrent use. Store holds no state besides
// its directory: its methods are safe for concurrent use, and two Creates
// of the same name cannot both win.
// Each exported function says so individually.
package wallet
