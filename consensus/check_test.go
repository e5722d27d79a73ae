package consensus_test

import (
	"crypto/ed25519"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// Unit tests of the stateless checks of check.go, one case per code. (The
// same rules applied through chain.ProcessBlock are in chain/rules_test.go.)

// checkMine sets h.Nonce to the first nonce whose hash meets (or, with bad,
// misses) the target of h.Bits. With powLimit near 2^255 half of all nonces
// do, so this takes a few hashes.
func checkMine(t *testing.T, p *consensus.Params, h *types.Header, bad bool) types.Hash {
	t.Helper()
	for h.Nonce = 0; h.Nonce < 1<<20; h.Nonce++ {
		hash := h.Hash()
		err := consensus.CheckProofOfWork(hash, h.Bits, p.PowLimit)
		if (err == nil) != bad {
			return hash
		}
	}
	t.Fatalf("no nonce found for bits %08x", h.Bits)
	return types.Hash{}
}

// checkChild returns a valid child header of genesis, one spacing later,
// with its hash, the parent info, and a clock at which it is acceptable.
func checkChild(t *testing.T, p *consensus.Params) (types.Header, types.Hash, consensus.ParentInfo, int64) {
	t.Helper()
	g := p.Genesis().Header
	h := types.Header{
		Version: types.HeaderVersion, Height: 1, Parent: p.GenesisHash(),
		Time: g.Time + p.TargetSpacing, Bits: p.NextBits(0, g.Time),
		TxRoot: types.MerkleRoot(nil),
	}
	hash := checkMine(t, p, &h, false)
	parent := consensus.ParentInfo{Height: 0, Time: g.Time, MedianTimePast: consensus.MedianTimePast([]int64{g.Time})}
	return h, hash, parent, g.Time + 3_600_000
}

func checkCode(t *testing.T, err error, want consensus.ErrorCode) {
	t.Helper()
	if want == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if got := consensus.CodeOf(err); got != want {
		t.Fatalf("got %v (%v), want %v", got, err, want)
	}
	var re *consensus.RuleError
	if !errors.As(err, &re) || re.Reason == "" {
		t.Fatalf("%v is not a *RuleError with a reason", err)
	}
}

func TestCheckHeader(t *testing.T) {
	p := paramsBase(t)
	good, _, parent, now := checkChild(t, p)
	cases := []struct {
		name string
		edit func(h *types.Header, parent *consensus.ParentInfo, now *int64)
		// The header is mined after edit; bad picks a nonce whose hash
		// misses the target instead of one that meets it.
		bad  bool
		want consensus.ErrorCode
	}{
		{name: "valid", want: 0},
		{name: "version 0", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Version = 0 }, want: consensus.ErrBadVersion},
		{name: "version 2", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Version = 2 }, want: consensus.ErrBadVersion},
		{name: "height 0", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Height = 0 }, want: consensus.ErrBadGenesis},
		{name: "bad PoW", bad: true, want: consensus.ErrBadPoW},
		{name: "target above powLimit", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Bits = 0x2100ffff }, bad: true, want: consensus.ErrBadTarget},
		{name: "zero target", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Bits = 0 }, bad: true, want: consensus.ErrBadTarget},
		{name: "negative target", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Bits = 0x1d80ffff }, bad: true, want: consensus.ErrBadTarget},
		{name: "non-canonical bits", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Bits = 0x2000007f }, bad: true, want: consensus.ErrBadTarget},
		{name: "wrong bits", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Bits = 0x207ffffe }, want: consensus.ErrWrongBits},
		{name: "wrong bits after a fast parent", edit: func(h *types.Header, pi *consensus.ParentInfo, _ *int64) {
			pi.Time -= 10 * p.HalfLife // ASERT wants a target 2^10 times harder
		}, want: consensus.ErrWrongBits},
		{name: "height skips", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Height = 2 }, want: consensus.ErrWrongHeight},
		{name: "height of parent", edit: func(h *types.Header, pi *consensus.ParentInfo, _ *int64) {
			pi.Height = 1 // the bits do not change on schedule: only the height is wrong
			pi.Time = p.GenesisTime + p.TargetSpacing
			pi.MedianTimePast = pi.Time
			h.Time = pi.Time + p.TargetSpacing
		}, want: consensus.ErrWrongHeight},
		{name: "time equal to MTP", edit: func(h *types.Header, pi *consensus.ParentInfo, _ *int64) { h.Time = pi.MedianTimePast }, want: consensus.ErrTimeTooOld},
		{name: "time before MTP", edit: func(h *types.Header, pi *consensus.ParentInfo, _ *int64) { h.Time = pi.MedianTimePast - 1 }, want: consensus.ErrTimeTooOld},
		{name: "time one after MTP", edit: func(h *types.Header, pi *consensus.ParentInfo, _ *int64) { h.Time = pi.MedianTimePast + 1 }, want: 0},
		{name: "time at the drift limit", edit: func(h *types.Header, _ *consensus.ParentInfo, now *int64) { h.Time = *now + p.MaxFutureDrift }, want: 0},
		{name: "time beyond the drift limit", edit: func(h *types.Header, _ *consensus.ParentInfo, now *int64) { h.Time = *now + p.MaxFutureDrift + 1 }, want: consensus.ErrTimeTooNew},
		{name: "clock behind the chain", edit: func(h *types.Header, _ *consensus.ParentInfo, now *int64) { *now = h.Time - p.MaxFutureDrift - 1 }, want: consensus.ErrTimeTooNew},
		{name: "time too old and clock far behind", edit: func(h *types.Header, pi *consensus.ParentInfo, now *int64) {
			h.Time = pi.MedianTimePast
			*now = 0
		}, want: consensus.ErrTimeTooOld},
		// Cheapest first: the first failing check names the error.
		{name: "bad version and bad PoW", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Version = 2 }, bad: true, want: consensus.ErrBadVersion},
		{name: "bad PoW and wrong bits", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) { h.Bits = 0x207ffffe }, bad: true, want: consensus.ErrBadPoW},
		{name: "wrong bits and wrong height", edit: func(h *types.Header, _ *consensus.ParentInfo, _ *int64) {
			h.Bits = 0x207ffffe
			h.Height = 5
		}, want: consensus.ErrWrongBits},
		{name: "wrong height and time too old", edit: func(h *types.Header, pi *consensus.ParentInfo, _ *int64) {
			h.Height = 5
			h.Time = pi.MedianTimePast
		}, want: consensus.ErrWrongHeight},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, pi, n := good, parent, now
			if tc.edit != nil {
				tc.edit(&h, &pi, &n)
			}
			hash := checkMine(t, p, &h, tc.bad)
			checkCode(t, p.CheckHeader(&h, hash, pi, n), tc.want)
		})
	}
}

// TestCheckHeaderUsesGivenHash: the proof of work is checked on the hash
// the caller passes (computed once at decode), not recomputed.
func TestCheckHeaderUsesGivenHash(t *testing.T) {
	p := paramsBase(t)
	h, _, parent, now := checkChild(t, p)
	missHash := checkMine(t, p, &h, true)
	checkCode(t, p.CheckHeader(&h, types.Hash{}, parent, now), 0)
	checkCode(t, p.CheckHeader(&h, missHash, parent, now), consensus.ErrBadPoW)
}

func TestCheckTx(t *testing.T) {
	// An ordinary key: the all-zero key would be a point of small order
	// (ErrSmallOrderKey; the cases are in smallorder_test.go).
	valid := func() *types.Tx {
		return &types.Tx{Version: types.TxVersion, From: newCheckKey(1).pub, To: types.Address{1}, Amount: 5, Fee: 1}
	}
	cases := []struct {
		name string
		edit func(tx *types.Tx)
		want consensus.ErrorCode
	}{
		{"valid", func(tx *types.Tx) {}, 0},
		{"version 0", func(tx *types.Tx) { tx.Version = 0 }, consensus.ErrBadVersion},
		{"version 2", func(tx *types.Tx) { tx.Version = 2 }, consensus.ErrBadVersion},
		{"longest memo", func(tx *types.Tx) { tx.Memo = make([]byte, types.MaxMemoSize) }, 0},
		{"memo too long", func(tx *types.Tx) { tx.Memo = make([]byte, types.MaxMemoSize+1) }, consensus.ErrDecode},
		{"amount+fee = 2^64-1", func(tx *types.Tx) { tx.Amount, tx.Fee = math.MaxUint64-7, 7 }, 0},
		{"max amount, no fee", func(tx *types.Tx) { tx.Amount, tx.Fee = math.MaxUint64, 0 }, 0},
		{"max fee, no amount", func(tx *types.Tx) { tx.Amount, tx.Fee = 0, math.MaxUint64 }, 0},
		{"amount+fee = 2^64", func(tx *types.Tx) { tx.Amount, tx.Fee = math.MaxUint64-6, 7 }, consensus.ErrAmountOverflow},
		{"both max", func(tx *types.Tx) { tx.Amount, tx.Fee = math.MaxUint64, math.MaxUint64 }, consensus.ErrAmountOverflow},
		{"zero amount and fee", func(tx *types.Tx) { tx.Amount, tx.Fee = 0, 0 }, 0},
		{"all-zero sender key (order 4)", func(tx *types.Tx) { tx.From = types.PubKey{} }, consensus.ErrSmallOrderKey},
		{"identity sender key", func(tx *types.Tx) { tx.From = types.PubKey{1} }, consensus.ErrSmallOrderKey},
		// Cheapest first: the key is looked at last.
		{"bad version and small-order key", func(tx *types.Tx) { tx.Version, tx.From = 0, types.PubKey{} }, consensus.ErrBadVersion},
		{"overflow and small-order key", func(tx *types.Tx) {
			tx.Amount, tx.Fee, tx.From = math.MaxUint64, 1, types.PubKey{}
		}, consensus.ErrAmountOverflow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tx := valid()
			tc.edit(tx)
			checkCode(t, consensus.CheckTx(tx), tc.want)
		})
	}
}

// checkKey is a test signer using crypto/ed25519, as a wallet would.
type checkKey struct {
	priv ed25519.PrivateKey
	pub  types.PubKey
}

func newCheckKey(seed byte) checkKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	priv := ed25519.NewKeyFromSeed(s)
	var k checkKey
	k.priv = priv
	copy(k.pub[:], priv.Public().(ed25519.PublicKey))
	return k
}

// checkTx returns a tx from k with the given nonce, signed for genesis.
func checkTx(k checkKey, nonce uint64, genesis types.Hash) *types.Tx {
	tx := &types.Tx{Version: types.TxVersion, From: k.pub, To: types.Address{9}, Amount: 10, Fee: 1, Nonce: nonce}
	d := tx.SigningDigest(genesis)
	copy(tx.Sig[:], ed25519.Sign(k.priv, d[:]))
	return tx
}

// checkBlock returns a block of n txs signed for p's network with a correct
// txRoot, and the tx ids.
func checkBlock(p *consensus.Params, n int) (*types.Block, []types.Hash) {
	b := &types.Block{Header: types.Header{Version: types.HeaderVersion, Height: 1, Parent: p.GenesisHash()}}
	for i := 0; i < n; i++ {
		b.Txs = append(b.Txs, checkTx(newCheckKey(byte(i)), uint64(i), p.GenesisHash()))
	}
	ids := b.TxIDs()
	b.Header.TxRoot = types.MerkleRoot(ids)
	return b, ids
}

func TestCheckBlockBody(t *testing.T) {
	p := paramsBase(t)
	cases := []struct {
		name string
		// edit changes the block; ids and txRoot are recomputed after it
		// unless keepRoot.
		edit     func(b *types.Block)
		keepRoot bool
		size     func(b *types.Block) int // default: the encoded size
		want     consensus.ErrorCode
	}{
		{name: "valid", want: 0},
		{name: "no txs", edit: func(b *types.Block) { b.Txs = nil }, want: 0},
		{name: "size at the limit", size: func(*types.Block) int { return p.MaxBlockSize }, want: 0},
		{name: "size over the limit", size: func(*types.Block) int { return p.MaxBlockSize + 1 }, want: consensus.ErrBlockTooBig},
		{name: "bad txRoot", edit: func(b *types.Block) { b.Header.TxRoot[0] ^= 1 }, keepRoot: true, want: consensus.ErrBadTxRoot},
		{name: "txRoot of other order", edit: func(b *types.Block) {
			b.Txs[0], b.Txs[1] = b.Txs[1], b.Txs[0]
		}, keepRoot: true, want: consensus.ErrBadTxRoot},
		{name: "no txs, zero txRoot", edit: func(b *types.Block) {
			b.Txs = nil
			b.Header.TxRoot = types.Hash{}
		}, keepRoot: true, want: consensus.ErrBadTxRoot},
		{name: "duplicate tx", edit: func(b *types.Block) { b.Txs = append(b.Txs, b.Txs[1]) }, want: consensus.ErrDuplicateTx},
		{name: "duplicate tx adjacent", edit: func(b *types.Block) {
			b.Txs = append(b.Txs[:2:2], b.Txs[1:]...)
		}, want: consensus.ErrDuplicateTx},
		{name: "tx with bad version", edit: func(b *types.Block) { b.Txs[2].Version = 7 }, want: consensus.ErrBadVersion},
		{name: "tx with long memo", edit: func(b *types.Block) { b.Txs[1].Memo = make([]byte, 65) }, want: consensus.ErrDecode},
		{name: "tx amount overflow", edit: func(b *types.Block) {
			b.Txs[3].Amount, b.Txs[3].Fee = math.MaxUint64, 1
		}, want: consensus.ErrAmountOverflow},
		{name: "tx from a small-order key", edit: func(b *types.Block) { b.Txs[2].From = types.PubKey{1} }, want: consensus.ErrSmallOrderKey},
		// Cheapest first.
		{name: "too big and bad txRoot", edit: func(b *types.Block) { b.Header.TxRoot = types.Hash{} }, keepRoot: true,
			size: func(*types.Block) int { return p.MaxBlockSize + 1 }, want: consensus.ErrBlockTooBig},
		{name: "bad txRoot and duplicate", edit: func(b *types.Block) {
			b.Txs = append(b.Txs, b.Txs[0])
		}, keepRoot: true, want: consensus.ErrBadTxRoot},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := checkBlock(p, 4)
			if tc.edit != nil {
				tc.edit(b)
			}
			ids := b.TxIDs()
			if !tc.keepRoot {
				b.Header.TxRoot = types.MerkleRoot(ids)
			}
			size := b.EncodedSize()
			if tc.size != nil {
				size = tc.size(b)
			}
			checkCode(t, p.CheckBlockBody(b, ids, size), tc.want)
		})
	}
}

// TestCheckBlockBodyDuplicateNamesIndex: the reason names the repeated id
// and where it repeats.
func TestCheckBlockBodyDuplicateNamesIndex(t *testing.T) {
	p := paramsBase(t)
	b, _ := checkBlock(p, 3)
	b.Txs = append(b.Txs, b.Txs[1])
	ids := b.TxIDs()
	b.Header.TxRoot = types.MerkleRoot(ids)
	err := p.CheckBlockBody(b, ids, b.EncodedSize())
	checkCode(t, err, consensus.ErrDuplicateTx)
	if !strings.Contains(err.Error(), ids[1].String()) || !strings.Contains(err.Error(), "index 3") {
		t.Fatalf("error %q does not name tx %s at index 3", err, ids[1])
	}
}

func TestVerifyBlockSignatures(t *testing.T) {
	p := paramsBase(t)
	gh := p.GenesisHash()
	other := types.Sum([]byte("another genesis"))
	known := func(idx ...int) func(ids []types.Hash) func(types.Hash) bool {
		return func(ids []types.Hash) func(types.Hash) bool {
			set := map[types.Hash]bool{}
			for _, i := range idx {
				set[ids[i]] = true
			}
			return func(id types.Hash) bool { return set[id] }
		}
	}
	cases := []struct {
		name    string
		n       int
		bad     []int // txs whose signature is broken
		genesis types.Hash
		known   func(ids []types.Hash) func(types.Hash) bool
		want    consensus.ErrorCode
		index   int // the index the error must name
	}{
		{name: "no txs", n: 0, genesis: gh},
		{name: "one valid", n: 1, genesis: gh},
		{name: "many valid", n: 40, genesis: gh},
		{name: "many valid, some known", n: 40, genesis: gh, known: known(0, 5, 39)},
		{name: "first bad", n: 5, bad: []int{0}, genesis: gh, want: consensus.ErrBadSignature, index: 0},
		{name: "middle bad", n: 5, bad: []int{2}, genesis: gh, want: consensus.ErrBadSignature, index: 2},
		{name: "last bad", n: 40, bad: []int{39}, genesis: gh, want: consensus.ErrBadSignature, index: 39},
		{name: "two bad: the first is named", n: 6, bad: []int{4, 1}, genesis: gh, want: consensus.ErrBadSignature, index: 1},
		{name: "all bad", n: 3, bad: []int{0, 1, 2}, genesis: gh, want: consensus.ErrBadSignature, index: 0},
		{name: "bad but known: skipped", n: 5, bad: []int{2}, genesis: gh, known: known(2)},
		{name: "all bad, all known", n: 3, bad: []int{0, 1, 2}, genesis: gh, known: known(0, 1, 2)},
		{name: "bad after known ones keeps its index", n: 5, bad: []int{3}, genesis: gh, known: known(0, 1), want: consensus.ErrBadSignature, index: 3},
		{name: "known bad, unknown bad", n: 5, bad: []int{1, 3}, genesis: gh, known: known(1), want: consensus.ErrBadSignature, index: 3},
		{name: "other network", n: 3, genesis: other, want: consensus.ErrBadSignature, index: 0},
		{name: "other network, known", n: 3, genesis: other, known: known(0, 1, 2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := checkBlock(p, tc.n)
			for _, i := range tc.bad {
				b.Txs[i].Sig[5] ^= 0x10
			}
			ids := b.TxIDs()
			var kn func(types.Hash) bool
			if tc.known != nil {
				kn = tc.known(ids)
			}
			err := consensus.VerifyBlockSignatures(b, ids, tc.genesis, kn)
			checkCode(t, err, tc.want)
			if tc.want == 0 {
				return
			}
			if want := "(index " + strconv.Itoa(tc.index) + ")"; !strings.Contains(err.Error(), want) ||
				!strings.Contains(err.Error(), ids[tc.index].String()) {
				t.Fatalf("error %q does not name tx %d (%s)", err, tc.index, ids[tc.index])
			}
			if !strings.Contains(err.Error(), tc.genesis.String()[:8]) {
				t.Fatalf("error %q does not name the network", err)
			}
		})
	}
}

// TestVerifyBlockSignaturesKnownAsksByID: known is asked about
// every tx once, by id.
func TestVerifyBlockSignaturesKnownAsksByID(t *testing.T) {
	p := paramsBase(t)
	b, ids := checkBlock(p, 4)
	asked := map[types.Hash]int{}
	err := consensus.VerifyBlockSignatures(b, ids, p.GenesisHash(), func(id types.Hash) bool {
		asked[id]++
		return false
	})
	checkCode(t, err, 0)
	for i, id := range ids {
		if asked[id] != 1 {
			t.Fatalf("known asked %d times about tx %d", asked[id], i)
		}
	}
	if len(asked) != len(ids) {
		t.Fatalf("known asked about %d ids, block has %d", len(asked), len(ids))
	}
}
