package types

import (
	"fmt"
)

const (
	// TxVersion is the only transaction version this code knows.
	TxVersion = 1
	// MaxMemoSize is the longest memo a transaction may carry.
	MaxMemoSize = 64
	// MinTxSize is the encoded size of a transaction with an empty memo.
	MinTxSize = 1 + PubKeySize + AddressSize + 8 + 8 + 8 + 1 + SigSize
	// MaxTxSize is the encoded size of a transaction with the longest memo.
	MaxTxSize = MinTxSize + MaxMemoSize
)

// SigningDomain prefixes every transaction signing digest.
const SigningDomain = "cairn/tx/v1"

// Tx is a signed transfer of Amount from the account of From to To, paying
// Fee to the miner. Nonce is the sender's count of earlier transactions.
type Tx struct {
	Version uint8
	From    PubKey
	To      Address
	Amount  uint64
	Fee     uint64
	Nonce   uint64
	Memo    []byte
	Sig     Signature
}

// EncodedSize returns the length of the encoding of tx.
func (tx *Tx) EncodedSize() int {
	return MinTxSize + len(tx.Memo) + uvarintLen(uint64(len(tx.Memo))) - 1
}

func (tx *Tx) appendUnsigned(b []byte) []byte {
	b = append(b, tx.Version)
	b = append(b, tx.From[:]...)
	b = append(b, tx.To[:]...)
	b = appendU64(b, tx.Amount)
	b = appendU64(b, tx.Fee)
	b = appendU64(b, tx.Nonce)
	b = appendUvarint(b, uint64(len(tx.Memo)))
	b = append(b, tx.Memo...)
	return b
}

// AppendEncode appends the full encoding of tx (signature included) to b.
func (tx *Tx) AppendEncode(b []byte) []byte {
	b = tx.appendUnsigned(b)
	return append(b, tx.Sig[:]...)
}

// Encode returns the full encoding of tx.
func (tx *Tx) Encode() []byte { return tx.AppendEncode(make([]byte, 0, tx.EncodedSize())) }

// ID returns the transaction id, H(full encoding).
func (tx *Tx) ID() Hash {
	var buf [MaxTxSize + 8]byte
	return Sum(tx.AppendEncode(buf[:0]))
}

// SigningDigest returns H("cairn/tx/v1" ‖ genesis ‖ encoding-without-sig),
// the message the sender signs. It binds the tx to one network.
func (tx *Tx) SigningDigest(genesis Hash) Hash {
	var buf [len(SigningDomain) + HashSize + MaxTxSize + 8]byte
	b := append(buf[:0], SigningDomain...)
	b = append(b, genesis[:]...)
	return Sum(tx.appendUnsigned(b))
}

// Sender returns the address of the account that pays for tx.
func (tx *Tx) Sender() Address { return tx.From.Address() }

// Cost returns Amount + Fee and whether the sum fits in a uint64.
func (tx *Tx) Cost() (uint64, bool) {
	c := tx.Amount + tx.Fee
	return c, c >= tx.Amount
}

func (d *Decoder) tx(tx *Tx) {
	tx.Version = d.U8()
	if d.err == nil && tx.Version != TxVersion {
		d.Fail(fmt.Errorf("%w: tx version %d", ErrUnknownVersion, tx.Version))
		return
	}
	d.Bytes(tx.From[:])
	d.Bytes(tx.To[:])
	tx.Amount = d.U64()
	tx.Fee = d.U64()
	tx.Nonce = d.U64()
	n := d.Count(MaxMemoSize, "memo")
	if d.err != nil {
		return
	}
	if n > 0 {
		tx.Memo = append([]byte(nil), d.Take(n)...)
	} else {
		tx.Memo = nil
	}
	d.Bytes(tx.Sig[:])
}

// DecodeTx decodes exactly one transaction.
func DecodeTx(b []byte) (*Tx, error) {
	tx := new(Tx)
	d := Decoder{b: b}
	d.tx(tx)
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode tx: %w", err)
	}
	return tx, nil
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
