package consensus

import (
	"github.com/cairn-ledger/cairn/chain/types"
)

// ParentInfo is what header validation needs to know about a header's parent
// and its ancestors. The chain computes it from its header index.
type ParentInfo struct {
	Height         uint64
	Time           int64
	MedianTimePast int64 // median of the parent and its 10 predecessors
}

// CheckHeader applies the header rules (docs/PROTOCOL.md §16, step 6) to h,
// whose hash is hash, as a child of parent, at local time now (unix ms).
// The order is the cheapest first: version, not a second genesis, target
// and proof of work, bits, height, time. A header that is only too far in
// the future fails with ErrTimeTooNew, which callers must not treat as
// permanent.
func (p *Params) CheckHeader(h *types.Header, hash types.Hash, parent ParentInfo, now int64) error {
	if h.Version != types.HeaderVersion {
		return ruleErr(ErrBadVersion, "header version %d", h.Version)
	}
	if h.Height == 0 {
		return ruleErr(ErrBadGenesis, "a second block at height 0")
	}
	if err := CheckProofOfWork(hash, h.Bits, p.PowLimit); err != nil {
		return err
	}
	if want := p.NextBits(parent.Height, parent.Time); h.Bits != want {
		return ruleErr(ErrWrongBits, "bits %08x, want %08x after height %d", h.Bits, want, parent.Height)
	}
	if h.Height != parent.Height+1 {
		return ruleErr(ErrWrongHeight, "height %d, parent is at %d", h.Height, parent.Height)
	}
	return CheckHeaderTime(h.Time, parent.MedianTimePast, now, p.MaxFutureDrift)
}

// CheckTx applies the stateless transaction rules: version and memo limits
// (which a decoded tx always meets), amount + fee within 64 bits, and a
// sender key that is not of small order (IsSmallOrderKey). Signatures are
// checked separately (VerifySignature, BatchVerifier); the small-order rule
// is here so that block import (CheckBlockBody) and the txpool both apply
// it, and before any signature is verified.
func CheckTx(tx *types.Tx) error {
	if tx.Version != types.TxVersion {
		return ruleErr(ErrBadVersion, "tx version %d", tx.Version)
	}
	if len(tx.Memo) > types.MaxMemoSize {
		return ruleErr(ErrDecode, "memo of %d bytes > %d", len(tx.Memo), types.MaxMemoSize)
	}
	if _, ok := tx.Cost(); !ok {
		return ruleErr(ErrAmountOverflow, "amount %d + fee %d overflows 64 bits", tx.Amount, tx.Fee)
	}
	if IsSmallOrderKey(tx.From) {
		return ruleErr(ErrSmallOrderKey, "sender key %x is a point of small order", tx.From[:])
	}
	return nil
}

// CheckBlockBody applies the stateless body rules to b, whose encoding is
// size bytes and whose tx ids are ids (in order): size, txRoot, no duplicate
// ids, and CheckTx for each tx. It does not verify signatures.
func (p *Params) CheckBlockBody(b *types.Block, ids []types.Hash, size int) error {
	if size > p.MaxBlockSize {
		return ruleErr(ErrBlockTooBig, "block of %d bytes > max %d", size, p.MaxBlockSize)
	}
	if root := types.MerkleRoot(ids); root != b.Header.TxRoot {
		return ruleErr(ErrBadTxRoot, "txRoot %s, computed %s", b.Header.TxRoot, root)
	}
	// A block with a duplicated tx has the same Merkle root as others
	// (CVE-2012-2459 in Bitcoin's tree; RFC 6962's is not malleable this way,
	// but a repeated id is never valid anyway: its nonce cannot match twice).
	seen := make(map[types.Hash]struct{}, len(ids))
	for i, id := range ids {
		if _, dup := seen[id]; dup {
			return ruleErr(ErrDuplicateTx, "tx %s appears twice (index %d)", id, i)
		}
		seen[id] = struct{}{}
		if err := CheckTx(b.Txs[i]); err != nil {
			return err
		}
	}
	return nil
}

// VerifyBlockSignatures checks every tx signature of b on the network whose
// genesis hash is genesis, in one batch. known, if not nil, reports txs whose
// signature was already verified (by the txpool); they are skipped.
func VerifyBlockSignatures(b *types.Block, ids []types.Hash, genesis types.Hash, known func(types.Hash) bool) error {
	return VerifyTxSignatures(b.Txs, ids, 0, len(b.Txs), genesis, known)
}

// VerifyTxSignatures checks the signatures of txs[lo:hi] (whose ids are
// ids) in one batch, skipping those known reports; callers split a block
// into ranges to verify on several cores. The error names the first bad tx
// by id and index.
func VerifyTxSignatures(txs []*types.Tx, ids []types.Hash, lo, hi int, genesis types.Hash, known func(types.Hash) bool) error {
	bv := NewBatchVerifier(hi - lo)
	idx := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		if known != nil && known(ids[i]) {
			continue
		}
		tx := txs[i]
		bv.Add(tx.From, tx.SigningDigest(genesis), tx.Sig)
		idx = append(idx, i)
	}
	if bv.Len() == 0 {
		return nil
	}
	ok, valid := bv.Verify()
	if ok {
		return nil
	}
	for j, v := range valid {
		if !v {
			i := idx[j]
			return ruleErr(ErrBadSignature, "tx %s (index %d): signature does not verify for network %s", ids[i], i, genesis.String()[:8])
		}
	}
	return ruleErr(ErrBadSignature, "batch verification failed")
}
