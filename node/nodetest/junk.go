package nodetest

// Junk that costs an attacker almost nothing: headers and blocks that pass
// every header rule at the lowest difficulty the rules allow, and orphans
// that only need proof of work against powLimit. See WorkParams for the
// arithmetic that makes a branch from an old block cheap.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// Fork is a header a branch can grow from, with what the header rules need
// of it: its height, and the times of its last consensus.MedianTimeBlocks
// ancestors, itself included, oldest first.
type Fork struct {
	Hash   types.Hash
	Height uint64
	// Times ends with the fork header's own time; near genesis it holds
	// fewer than consensus.MedianTimeBlocks entries.
	Times []int64
}

// Time returns the fork header's time.
func (f Fork) Time() int64 { return f.Times[len(f.Times)-1] }

// ParentInfo returns the fork as the parent of a header, as
// consensus.Params.CheckHeader takes it.
func (f Fork) ParentInfo() consensus.ParentInfo {
	return consensus.ParentInfo{Height: f.Height, Time: f.Time(), MedianTimePast: consensus.MedianTimePast(f.Times)}
}

// ForkOf returns blocks[i] as a fork, blocks being a chain from genesis
// (blocks[k] at height k, as BuildChain returns it).
func ForkOf(blocks []*types.Block, i int) Fork {
	f := Fork{Hash: blocks[i].Hash(), Height: blocks[i].Header.Height}
	for k := max(0, i-consensus.MedianTimeBlocks+1); k <= i; k++ {
		f.Times = append(f.Times, blocks[k].Header.Time)
	}
	return f
}

// ForkAt returns the header h of c's index as a fork.
func ForkAt(c *chain.Chain, h types.Hash) (Fork, error) {
	hi, err := c.Header(h)
	if err != nil {
		return Fork{}, err
	}
	f := Fork{Hash: h, Height: hi.Header.Height}
	times := []int64{hi.Header.Time}
	for cur := hi; cur.Header.Height > 0 && len(times) < consensus.MedianTimeBlocks; {
		if cur, err = c.Header(cur.Header.Parent); err != nil {
			return Fork{}, err
		}
		times = append(times, cur.Header.Time)
	}
	for i := len(times) - 1; i >= 0; i-- {
		f.Times = append(f.Times, times[i])
	}
	return f, nil
}

// Branch grows a chain of cheap headers from a fork: each header has the
// bits NextBits requires of its parent, the smallest time the median-time
// rule allows that is not before the previous header's nor before the
// clock (so the branch keeps all the lag it has, and the target stays at
// powLimit as long as it can), an empty body's txRoot, a zero state root
// (wrong, but a side block's state is only checked if it is connected),
// and a nonce ground until the proof of work holds.
//
// A header's time may only exceed the clock by MaxFutureDrift: a branch
// advances about 1 ms every 6 headers, so 15 s of drift allows some
// 90 000 headers made in one go; the clock catching up allows more. At
// powLimit a header takes 2 hashes on average: 0.4 to 1.2 million headers
// a second on one core (BenchmarkCheapBranch). A Branch is not safe for
// concurrent use.
type Branch struct {
	p        *consensus.Params
	miner    types.Address
	parent   types.Hash
	height   uint64 // of the parent
	times    []int64
	made     int
	limit    uint32 // powLimit's bits
	cheapLag int64  // a parent lagging this much has a child at powLimit
	bits     uint32 // target cache: bits and their 32-byte target
	target   [32]byte
	emptyTx  types.Hash
}

// NewBranch starts a branch at fork. Different miners make different
// branches from the same fork.
func NewBranch(p *consensus.Params, fork Fork, miner types.Address) *Branch {
	return &Branch{
		p: p, miner: miner, parent: fork.Hash, height: fork.Height,
		times:    append([]int64(nil), fork.Times...),
		limit:    consensus.BigToCompact(p.PowLimit),
		cheapLag: cheapLag(p),
		emptyTx:  types.MerkleRoot(nil),
	}
}

// cheapLags caches saturatingLag per parameters.
var cheapLags sync.Map // *consensus.Params -> int64

func cheapLag(p *consensus.Params) int64 {
	if v, ok := cheapLags.Load(p); ok {
		return v.(int64)
	}
	l := saturatingLag(p)
	cheapLags.Store(p, l)
	return l
}

// Tip returns the branch's last header (the fork before the first) as a
// fork, to branch off again.
func (b *Branch) Tip() Fork {
	return Fork{Hash: b.parent, Height: b.height, Times: append([]int64(nil), b.times...)}
}

// Made returns how many headers the branch has made.
func (b *Branch) Made() int { return b.made }

// nextBits returns the bits of the next header. NextBits depends on the
// parent only through its lag behind the schedule, and is monotone in it:
// past cheapLag it is powLimit, without the big-number arithmetic.
func (b *Branch) nextBits() uint32 {
	parentTime := b.times[len(b.times)-1]
	lag := parentTime - b.p.GenesisTime - int64(b.height)*b.p.TargetSpacing
	if lag >= b.cheapLag && b.height < 1<<40 {
		return b.limit
	}
	return b.p.NextBits(b.height, parentTime)
}

// Cheap reports whether the next header is at powLimit.
func (b *Branch) Cheap() bool { return b.nextBits() == b.limit }

// Next makes the next header, at local time now (unix ms).
func (b *Branch) Next(now int64) types.Header {
	last := b.times[len(b.times)-1]
	t := max(last, now, consensus.MedianTimePast(b.times)+1)
	h := types.Header{
		Version: types.HeaderVersion,
		Height:  b.height + 1,
		Parent:  b.parent,
		TxRoot:  b.emptyTx,
		Miner:   b.miner,
		Time:    t,
		Bits:    b.nextBits(),
	}
	if h.Bits != b.bits {
		b.bits = h.Bits
		consensus.CompactToBig(h.Bits).FillBytes(b.target[:])
	}
	enc := h.EncodeArray()
	var hash types.Hash
	for {
		hash = types.Sum(enc[:])
		if bytes.Compare(hash[:], b.target[:]) <= 0 {
			break
		}
		h.Nonce++
		types.PutNonceTime(&enc, h.Time, h.Nonce)
	}
	b.parent, b.height = hash, h.Height
	if len(b.times) == consensus.MedianTimeBlocks {
		copy(b.times, b.times[1:])
		b.times[len(b.times)-1] = t
	} else {
		b.times = append(b.times, t)
	}
	b.made++
	return h
}

// Headers makes the next n headers at local time now.
func (b *Branch) Headers(n int, now int64) []types.Header {
	out := make([]types.Header, n)
	for i := range out {
		out[i] = b.Next(now)
	}
	return out
}

// Blocks makes the next n headers at local time now as empty blocks: each
// has a valid header and a body matching its txRoot, so a node stores it
// as a side block; its state root is wrong, which only connecting the
// branch would find.
func (b *Branch) Blocks(n int, now int64) []*types.Block {
	out := make([]*types.Block, n)
	for i := range out {
		out[i] = &types.Block{Header: b.Next(now)}
	}
	return out
}

// CheapBranch returns n headers extending fork (see Branch), made at local
// time now by a branch of its own (miner zero).
func CheapBranch(p *consensus.Params, fork Fork, n int, now int64) []types.Header {
	return NewBranch(p, fork, types.Address{}).Headers(n, now)
}

// CheapBlocks returns n empty side blocks extending fork (see
// Branch.Blocks), made at local time now.
func CheapBlocks(p *consensus.Params, fork Fork, n int, now int64) []*types.Block {
	return NewBranch(p, fork, types.Address{}).Blocks(n, now)
}

// Junk is an endless source of cheap headers from one fork: it extends a
// branch while the branch stays at powLimit, then starts another one from
// the fork (with another miner), whose first header costs the fork's
// target and the rest powLimit again. Every header passes the rules
// against its parent, which is the fork or the header before it in the
// stream. Safe for concurrent use.
type Junk struct {
	p    *consensus.Params
	fork Fork

	mu       sync.Mutex
	branch   *Branch
	branches int
	made     int
}

// NewJunk returns a source of junk headers growing from fork.
func NewJunk(p *consensus.Params, fork Fork) *Junk { return &Junk{p: p, fork: fork} }

// Headers returns the next n headers, made at local time now.
func (j *Junk) Headers(n int, now int64) []types.Header {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]types.Header, n)
	for i := range out {
		if j.branch == nil || !j.branch.Cheap() {
			j.branches++
			var miner types.Address
			binary.BigEndian.PutUint64(miner[:], uint64(j.branches))
			j.branch = NewBranch(j.p, j.fork, miner)
		}
		out[i] = j.branch.Next(now)
	}
	j.made += n
	return out
}

// Stats returns how many headers and branches the source has made.
func (j *Junk) Stats() (headers, branches int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.made, j.branches
}

// OrphanOptions shape the blocks Orphans makes.
type OrphanOptions struct {
	// Height of the first orphan; default 1<<20.
	Height uint64
	// Pad, if positive, fills each body with unsigned junk txs (64-byte
	// memos) to at least Pad bytes in all (within MaxBlockSize); txRoot
	// matches them. The txs decode but fail every check beyond decoding.
	Pad int
	// Seed tells sets of orphans apart: the unknown parents derive from it.
	Seed uint64
	// Time of every orphan (unix ms); default now.
	Time int64
	// Chained makes each orphan the child of the one before (heights
	// increasing), so that only the first one's parent is unknown.
	Chained bool
}

// Orphans returns n blocks whose parents nobody has, at powLimit with a
// valid proof of work: all a node checks of a block with an unknown
// parent.
func Orphans(p *consensus.Params, n int, o OrphanOptions) []*types.Block {
	if o.Height == 0 {
		o.Height = 1 << 20
	}
	if o.Time == 0 {
		o.Time = time.Now().UnixMilli()
	}
	limit := consensus.BigToCompact(p.PowLimit)
	var target [32]byte
	p.PowLimit.FillBytes(target[:])
	out := make([]*types.Block, n)
	for i := range out {
		var tag [16]byte
		binary.BigEndian.PutUint64(tag[:8], o.Seed)
		binary.BigEndian.PutUint64(tag[8:], uint64(i))
		blk := &types.Block{Header: types.Header{
			Version: types.HeaderVersion,
			Height:  o.Height,
			Parent:  types.SumConcat([]byte("nodetest/orphan-parent"), tag[:]),
			Time:    o.Time,
			Bits:    limit,
		}}
		if o.Chained && i > 0 {
			blk.Header.Parent = out[i-1].Hash()
			blk.Header.Height = out[i-1].Header.Height + 1
		}
		for k := 0; o.Pad > 0 && blk.EncodedSize() < o.Pad; k++ {
			tx := &types.Tx{Version: types.TxVersion, From: chaintest.Key("junk").Pub, Amount: uint64(k), Nonce: o.Seed<<32 | uint64(i),
				Memo: bytes.Repeat([]byte{0xa5}, types.MaxMemoSize)}
			if blk.EncodedSize()+tx.EncodedSize()+2 > p.MaxBlockSize {
				break
			}
			blk.Txs = append(blk.Txs, tx)
		}
		blk.Header.TxRoot = types.MerkleRoot(blk.TxIDs())
		grind(&blk.Header, target)
		out[i] = blk
	}
	return out
}

// grind searches the nonce until the header's hash is at most target.
func grind(h *types.Header, target [32]byte) {
	enc := h.EncodeArray()
	for {
		hash := types.Sum(enc[:])
		if bytes.Compare(hash[:], target[:]) <= 0 {
			return
		}
		h.Nonce++
		types.PutNonceTime(&enc, h.Time, h.Nonce)
	}
}

// ValidBranch returns n empty blocks extending the last of ancestors (a
// chain from genesis, as BuildChain returns it, or read from a node) that
// are valid in full, state root included: they are built on a private
// in-memory chain holding ancestors, at local time now, with the same
// times as a Branch (so also cheap once the lag allows), paying miner.
func ValidBranch(t testing.TB, p *consensus.Params, ancestors []*types.Block, n int, now int64, miner types.Address) []*types.Block {
	t.Helper()
	c, err := chain.OpenMemory(chain.Config{Params: p})
	if err != nil {
		t.Fatalf("nodetest: private chain: %v", err)
	}
	defer c.Close()
	for _, blk := range ancestors[1:] {
		if _, err := c.ProcessBlock(blk); err != nil {
			t.Fatalf("nodetest: private chain: ancestor %d: %v", blk.Header.Height, err)
		}
	}
	var target [32]byte
	out := make([]*types.Block, 0, n)
	last := ancestors[len(ancestors)-1].Header.Time
	for range n {
		blk, err := c.NewBlockTemplate(nil, miner, max(now, last))
		if err != nil {
			t.Fatalf("nodetest: private chain: template: %v", err)
		}
		consensus.CompactToBig(blk.Header.Bits).FillBytes(target[:])
		grind(&blk.Header, target)
		if res, err := c.ProcessBlock(blk); err != nil || res.Status != chain.StatusConnected {
			t.Fatalf("nodetest: private chain: own block %d: %v %v", blk.Header.Height, res.Status, err)
		}
		last = blk.Header.Time
		out = append(out, blk)
	}
	return out
}

// String describes a fork.
func (f Fork) String() string {
	return fmt.Sprintf("fork %s at height %d, time %d", f.Hash.String()[:12], f.Height, f.Time())
}
