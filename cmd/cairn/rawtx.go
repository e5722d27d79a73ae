package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-ledger/cairn/chain/types"
)

// The layout of an encoded transaction (docs/PROTOCOL.md §6): the offset
// of each field, for errors that name the field where the input goes
// wrong.
const (
	offFrom    = 1
	offTo      = offFrom + types.PubKeySize
	offAmount  = offTo + types.AddressSize
	offFee     = offAmount + 8
	offNonce   = offFee + 8
	offMemoLen = offNonce + 8
	offMemo    = offMemoLen + 1 // the memo length is one byte: at most 64
)

// parseRawTx reads the hex of a signed transaction's canonical encoding,
// as `cairn tx sign` prints it and tx_send takes it. Surrounding white
// space and a 0x prefix are allowed. Each error names what is wrong and
// where: a character that is not hex, a wrong version, the field that a
// short input ends in, a memo length over the limit, bytes left over.
func parseRawTx(s string) (*types.Tx, error) {
	s = strings.TrimSpace(s)
	if t, ok := strings.CutPrefix(s, "0x"); ok {
		s = t
	} else if t, ok := strings.CutPrefix(s, "0X"); ok {
		s = t
	}
	if s == "" {
		return nil, errors.New("empty: want the hex of a signed transaction (cairn tx sign prints one)")
	}
	for i, r := range s {
		if !isHexDigit(r) {
			return nil, fmt.Errorf("not hex: %q at character %d", r, i+1)
		}
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits (%d): a byte is two", len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil { // not reached: every character is a hex digit
		return nil, fmt.Errorf("not hex: %v", err)
	}
	if len(b) == types.HashSize {
		return nil, fmt.Errorf("32 bytes, the size of a transaction id, not of a transaction (%d to %d bytes); cairn tx ID shows a transaction by id", types.MinTxSize, types.MaxTxSize)
	}
	if b[0] != types.TxVersion {
		return nil, fmt.Errorf("version %d at byte 0: only version %d exists (is this a transaction?)", b[0], types.TxVersion)
	}
	if len(b) <= offMemoLen {
		return nil, fmt.Errorf("%s, cut short in the %s: a transaction is %d to %d bytes", byteCount(len(b)), fieldAt(len(b), 0), types.MinTxSize, types.MaxTxSize)
	}
	m := int(b[offMemoLen])
	switch {
	case m >= 0x80: // a uvarint of more than one byte: 128 or more
		return nil, fmt.Errorf("memo length at byte %d is 128 or more (byte 0x%02x): at most %d", offMemoLen, m, types.MaxMemoSize)
	case m > types.MaxMemoSize:
		return nil, fmt.Errorf("memo length %d at byte %d: at most %d", m, offMemoLen, types.MaxMemoSize)
	}
	want := offMemo + m + types.SigSize
	switch {
	case len(b) < want:
		return nil, fmt.Errorf("%s, cut short in the %s: with its %d-byte memo the transaction is %d bytes", byteCount(len(b)), fieldAt(len(b), m), m, want)
	case len(b) > want:
		return nil, fmt.Errorf("%d bytes, %d more than the transaction: with its %d-byte memo it is %d bytes", len(b), len(b)-want, m, want)
	}
	tx, err := types.DecodeTx(b)
	if err != nil { // not reached: the checks above are the decoder's
		return nil, err
	}
	return tx, nil
}

func byteCount(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

func isHexDigit(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}

// fieldAt names the field of a transaction with an m-byte memo that holds
// byte off.
func fieldAt(off, m int) string {
	switch {
	case off < offFrom:
		return "version"
	case off < offTo:
		return "sender key (from)"
	case off < offAmount:
		return "recipient (to)"
	case off < offFee:
		return "amount"
	case off < offNonce:
		return "fee"
	case off < offMemoLen:
		return "nonce"
	case off < offMemo:
		return "memo length"
	case off < offMemo+m:
		return "memo"
	}
	return "signature"
}
