package nodetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// Work parameters: chaintest.Params has genesis bits equal to powLimit, so
// every block there carries the same tiny work and no attack on work can
// be told apart from honest mining. WorkParams makes honest blocks cost
// 2^7 times more than the cheapest ones.
const (
	// WorkGenesisBits is the genesis target of WorkParams: 0xffff·2^232,
	// met by one hash in 2^256/(0xffff·2^232) ≈ 256.
	WorkGenesisBits = 0x2000ffff
	// WorkPowLimitBits is the easiest target of WorkParams: 0x7fffff·2^232
	// ≈ 2^255, met by one hash in 2.
	WorkPowLimitBits = 0x207fffff
	// WorkSpacing is the target spacing of WorkParams (1 s).
	WorkSpacing = 1000
	// WorkHalfLife is the ASERT half-life of WorkParams (60 s).
	WorkHalfLife = 60_000
	// WorkMaxFutureDrift is how far ahead of the clock a header of
	// WorkParams may be (15 s).
	WorkMaxFutureDrift = 15_000
	// WorkCheapLag is how far behind the schedule (in ms) a parent must be
	// for its child to be at powLimit: 0x7fffff/0xffff ≈ 128.002 = 2^7.00002,
	// so just over 7 half-lives (420 s); WorkCheapLag rounds it up to the
	// millisecond ASERT's 16-bit fraction resolves.
	WorkCheapLag = 7*WorkHalfLife + 1
)

// WorkParams returns test parameters with real work, genesis at
// genesisTime (unix ms): the same funded wallets as chaintest.Params (so
// chaintest.Key signers work), its subsidy and block size, and
//
//	genesis bits 0x2000ffff  ≈ 256 hashes a block (honest mining)
//	powLimit     0x207fffff  ≈   2 hashes a block (the cheapest possible)
//	TargetSpacing 1 s, HalfLife 60 s, MaxFutureDrift 15 s.
//
// ASERT anchored at genesis makes the child of a block at height h and
// time t carry the genesis target times 2^(lag/HalfLife), lag = t −
// genesisTime − h·spacing (how far the parent is behind the schedule
// "block h at genesisTime + h s"), clamped to powLimit:
//
//   - An honest chain mined on schedule (ScheduledTime, Options.
//     ScheduledTimes) has lag 0 and stays at the genesis target: 256
//     hashes, CalcWork ≈ 256 per block.
//   - powLimit is 2^7.00002 times the genesis target, so a parent lagging
//     by more than 7 half-lives (WorkCheapLag, 420 s) has a child at
//     powLimit: ≈ 2 hashes, CalcWork 2 per block.
//   - A branch forked from an on-schedule block of height f, on a network
//     whose clock reads genesisTime + H s (H = the schedule's height now),
//     may date its first header now: that header costs the fork's 256
//     hashes, and its lag is (H − f − 1) s. Every further header adds 1 s
//     of height and almost no time (the median-time rule wants a 1 ms
//     step about every 6 headers), so it spends 1 s of lag: the branch
//     stays at powLimit for about H − f − 420 headers (CheapBudget), then
//     its target halves every 60 headers. A fork from a block more than
//     ~8 half-lives (480 blocks) old thus buys tens to hundreds of headers
//     at powLimit per 256-hash first header; a fork from genesis with
//     genesisTime = now − 3 h about 10 000. (CalcWork is an integer: it
//     is 2 for every target above 2^256/3, so the headers past the budget
//     still count 2 of work each for another ~35 headers, log2(1.5) half-
//     lives.)
//
// To have an honest chain of H blocks end near now, pick genesisTime =
// now − H·1 s and mine with Options.ScheduledTimes (or BuildChain).
func WorkParams(genesisTime int64) *consensus.Params {
	p := *chaintest.Params()
	p.Network = "cairn-work"
	p.GenesisTime = genesisTime
	p.GenesisBits = WorkGenesisBits
	p.PowLimit = consensus.CompactToBig(WorkPowLimitBits)
	p.TargetSpacing = WorkSpacing
	p.HalfLife = WorkHalfLife
	p.MaxFutureDrift = WorkMaxFutureDrift
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return &p
}

// WorkParamsEndingNow returns WorkParams whose schedule puts height blocks
// exactly at now: genesisTime = now − height·spacing.
func WorkParamsEndingNow(height int) *consensus.Params {
	return WorkParams(time.Now().UnixMilli() - int64(height)*WorkSpacing)
}

// ScheduledTime returns the time of the block at height on p's schedule:
// genesisTime + height·spacing. A block there keeps the genesis target.
func ScheduledTime(p *consensus.Params, height uint64) int64 {
	return p.GenesisTime + int64(height)*p.TargetSpacing
}

// CheapBudget returns how many headers of a branch forked from the block
// at forkHeight, whose first header is dated now, are at powLimit (the
// first one, at the fork's own target, not counted): the lag of the first
// header beyond what powLimit needs, in spacings, plus one. It follows the
// arithmetic of WorkParams and ignores the branch's own time steps, which
// may buy one header more; NextBits decides in the end.
func CheapBudget(p *consensus.Params, forkHeight uint64, now int64) int {
	lag := now - p.GenesisTime - int64(forkHeight+1)*p.TargetSpacing
	need := saturatingLag(p)
	if lag < need {
		return 0
	}
	return int((lag-need)/p.TargetSpacing) + 1
}

// saturatingLag returns the smallest lag (ms) of a parent whose child is
// at powLimit under p, found by bisection over NextBits (monotone in the
// lag); 1<<40 ms if none is below that.
func saturatingLag(p *consensus.Params) int64 {
	limit := consensus.BigToCompact(p.PowLimit)
	at := func(lag int64) bool {
		// A parent at height 1 whose time lags by lag.
		return p.NextBits(1, p.GenesisTime+p.TargetSpacing+lag) == limit
	}
	lo, hi := int64(0), int64(1)<<40
	if !at(hi) {
		return hi
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if at(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// BuildChain returns an honest chain of n empty blocks on p mined by
// miner, on schedule (block i at ScheduledTime(p, i), so with WorkParams
// every block is at the genesis target), with correct state roots; the
// result has n+1 blocks, [0] being genesis, so that blocks[i] is at height
// i. It grinds nonces: about 256 hashes a block with WorkParams.
func BuildChain(t testing.TB, p *consensus.Params, n int, miner types.Address) []*types.Block {
	t.Helper()
	g := chaintest.NewWithParams(t, p)
	out := make([]*types.Block, 0, n+1)
	out = append(out, p.Genesis())
	parent := "genesis"
	for i := 1; i <= n; i++ {
		name := "h" + strconv.Itoa(i)
		out = append(out, g.Block(name, parent, func(bg *chaintest.BlockGen) { bg.Header.Miner = miner }))
		parent = name
	}
	return out
}
