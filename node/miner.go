package node

import (
	"bytes"
	"context"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// blockWork is what the miner needs of the node, as btcd's cpuminer.Config
// gives its miner a template generator and a ProcessBlock function: a
// template on the current tip, and a way to hand in a solved block.
// minerBackend is the node's.
type blockWork interface {
	// BlockTemplate builds an unmined block on the tip that pays addr,
	// with txs from the pool and the current time.
	BlockTemplate(addr types.Address) (*types.Block, error)
	// SubmitBlock imports a solved block and publishes it if it joined
	// the chain.
	SubmitBlock(blk *types.Block) (chain.Result, error)
}

// minerBackend adapts a Node to blockWork.
type minerBackend Node

var _ blockWork = (*minerBackend)(nil)

func (b *minerBackend) BlockTemplate(addr types.Address) (*types.Block, error) {
	maxTxBytes := b.cfg.Params.MaxBlockSize - types.HeaderSize - 8
	txs := b.pool.Template(maxTxBytes)
	return b.chain.NewBlockTemplate(txs, addr, time.Now().UnixMilli())
}

func (b *minerBackend) SubmitBlock(blk *types.Block) (chain.Result, error) {
	return (*Node)(b).SubmitBlock(blk)
}

// Miner mines blocks on top of the node's tip: it builds a template
// (blockWork), searches nonces on N goroutines, and submits what it finds.
// It starts again on every tip change, and every Refresh to take in new
// txs and a current time. It mines only while the node runs, under the
// node's context. Safe for concurrent use.
type Miner struct {
	work   blockWork
	params *consensus.Params
	log    *slog.Logger

	mu      sync.Mutex
	parent  context.Context // the node's, while it runs; nil before and after
	threads int
	addr    types.Address
	refresh time.Duration
	cancel  context.CancelFunc
	done    chan struct{}

	tipCh  chan struct{} // a tip change, coalesced
	hashes atomic.Uint64
	blocks atomic.Uint64

	rateMu    sync.Mutex
	rateAt    time.Time
	rateCount uint64
	rate      float64
}

// newMiner returns a stopped miner of cfg (defaults applied) for a chain
// of params.
func newMiner(cfg MinerConfig, params *consensus.Params, work blockWork, log *slog.Logger) *Miner {
	return &Miner{
		work: work, params: params, log: log,
		threads: cfg.Threads, addr: cfg.Address, refresh: cfg.Refresh,
		tipCh: make(chan struct{}, 1),
	}
}

// MinerState is a snapshot of the miner.
type MinerState struct {
	Running     bool
	Threads     int
	Address     types.Address
	HashRate    float64 // hashes/s over the last few seconds
	Hashes      uint64  // since the node started
	BlocksMined uint64
}

// errNoMinerAddress is returned by Start without an address.
var errNoMinerAddress = errors.New("miner: no miner address (set --miner.address or pass one to miner_start)")

// errNodeNotRunning is returned by Start before the node started or after
// it stopped.
var errNodeNotRunning = errors.New("miner: the node is not running")

// Start starts mining with the given settings (threads 0 and the zero
// address keep the current ones); a running miner restarts with them. It
// fails while the node is not running.
func (m *Miner) Start(threads int, addr types.Address) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if threads < 0 || threads > MaxMinerThreads {
		return fmt.Errorf("miner: threads %d out of range (0 keeps the setting, at most %d)", threads, MaxMinerThreads)
	}
	if threads > 0 {
		m.threads = threads
	}
	if addr != (types.Address{}) {
		m.addr = addr
	}
	if m.addr == (types.Address{}) {
		return errNoMinerAddress
	}
	if m.parent == nil {
		return errNodeNotRunning
	}
	m.stopLocked()
	ctx, cancel := context.WithCancel(m.parent)
	m.cancel, m.done = cancel, make(chan struct{})
	go m.loop(ctx, m.threads, m.addr, m.refresh, m.done)
	m.log.Info("miner started", "threads", m.threads, "address", m.addr)
	return nil
}

// Stop stops mining and waits for the goroutines to end. Stopping a
// stopped miner does nothing.
func (m *Miner) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		m.stopLocked()
		m.log.Info("miner stopped")
	}
}

// attach lets the miner mine under ctx, the node's: Start works from now
// until detach, and mining ends when ctx does.
func (m *Miner) attach(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.parent = ctx
}

// detach stops mining and refuses Start from now on.
func (m *Miner) detach() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		m.stopLocked()
		m.log.Info("miner stopped")
	}
	m.parent = nil
}

func (m *Miner) stopLocked() {
	if m.cancel == nil {
		return
	}
	m.cancel()
	<-m.done
	m.cancel, m.done = nil, nil
}

// State returns a snapshot of the miner.
func (m *Miner) State() MinerState {
	m.mu.Lock()
	s := MinerState{Running: m.cancel != nil, Threads: m.threads, Address: m.addr}
	if s.Running {
		select {
		case <-m.done: // the node's context ended
			s.Running = false
		default:
		}
	}
	m.mu.Unlock()
	s.Hashes = m.hashes.Load()
	s.BlocksMined = m.blocks.Load()
	s.HashRate = m.hashRate(s.Hashes, s.Running)
	return s
}

// hashRate is the rate over the window since the previous sample at least
// two seconds old; it keeps the last value between samples.
func (m *Miner) hashRate(total uint64, running bool) float64 {
	m.rateMu.Lock()
	defer m.rateMu.Unlock()
	now := time.Now()
	if m.rateAt.IsZero() {
		m.rateAt, m.rateCount = now, total
		return 0
	}
	if dt := now.Sub(m.rateAt); dt >= 2*time.Second {
		m.rate = float64(total-m.rateCount) / dt.Seconds()
		m.rateAt, m.rateCount = now, total
	}
	if !running {
		return 0
	}
	return m.rate
}

// tipChanged restarts the search on the new tip.
func (m *Miner) tipChanged() {
	select {
	case m.tipCh <- struct{}{}:
	default:
	}
}

// loop builds a template, searches it until a block is found, the tip
// moves, or Refresh passes, and starts again, until ctx ends.
func (m *Miner) loop(ctx context.Context, threads int, addr types.Address, refresh time.Duration, done chan struct{}) {
	defer close(done)
	// Sample the hash rate regularly so miner_status has a fresh figure.
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for ctx.Err() == nil {
		select { // drop a tip change that happened before this template
		case <-m.tipCh:
		default:
		}
		blk, err := m.work.BlockTemplate(addr)
		if err != nil {
			m.log.Warn("build block template", "err", err)
			select {
			case <-ctx.Done():
			case <-m.tipCh:
			case <-tick.C:
			}
			continue
		}
		found := m.search(ctx, blk, threads, tick.C)
		if found == nil {
			continue
		}
		res, err := m.work.SubmitBlock(found)
		if err != nil {
			m.log.Warn("mined block refused", "height", found.Header.Height, "hash", found.Hash(), "err", err)
			continue
		}
		m.blocks.Add(1)
		m.log.Info("mined block", "height", found.Header.Height, "hash", found.Hash(), "txs", len(found.Txs), "status", res.Status)
	}
}

// search runs threads workers over blk's nonce space and returns blk
// with a winning nonce, or nil if ctx ended, the tip moved or refresh
// fired first.
func (m *Miner) search(ctx context.Context, blk *types.Block, threads int, refresh <-chan time.Time) *types.Block {
	target, err := targetBytes(blk.Header.Bits, m.params)
	if err != nil {
		m.log.Error("template has bad bits", "bits", blk.Header.Bits, "err", err)
		return nil
	}
	wctx, cancel := context.WithCancel(ctx)
	result := make(chan types.Header, threads)
	var wg sync.WaitGroup
	span := ^uint64(0) / uint64(threads)
	start := rand.Uint64()
	minTime := blk.Header.Time
	for i := range threads {
		w := newWorker(blk.Header, target, &m.hashes)
		w.nonce = start + uint64(i)*span
		wg.Go(func() {
			if h, ok := w.run(wctx, minTime); ok {
				result <- h
			}
		})
	}
	defer func() { cancel(); wg.Wait() }() // stop the workers, then wait for them
	select {
	case h := <-result:
		out := &types.Block{Header: h, Txs: blk.Txs}
		return out
	case <-ctx.Done():
	case <-m.tipCh:
	case <-refresh:
	}
	return nil
}

// targetBytes is the target of bits as 32 big-endian bytes: a hash wins
// when it compares at most this.
func targetBytes(bits uint32, p *consensus.Params) ([32]byte, error) {
	var t [32]byte
	if err := consensus.CheckTarget(bits, p.PowLimit); err != nil {
		return t, err
	}
	consensus.CompactToBig(bits).FillBytes(t[:])
	return t, nil
}

// worker hashes one header, changing nonce and time. The first 129 bytes
// of the encoding — the 128-byte prefix that does not change while mining
// and the top byte of the time, zero until the year 2^56 ms — are one
// BLAKE2b block plus one byte; the state after compressing them (the
// midstate) is computed once, so each hash costs one compression instead
// of two.
type worker struct {
	enc    [types.HeaderSize]byte
	target [32]byte
	nonce  uint64
	time   int64
	mid    []byte // marshalled BLAKE2b state after enc[:129]
	midTop byte   // enc[128] when mid was computed
	d      hashState
	total  *atomic.Uint64
}

type hashState interface {
	hash.Hash
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

const midstateLen = types.MiningPrefixSize + 1

func newWorker(h types.Header, target [32]byte, total *atomic.Uint64) *worker {
	w := &worker{enc: h.EncodeArray(), target: target, nonce: h.Nonce, time: h.Time, total: total}
	d, _ := blake2b.New256(nil) // cannot fail without a key
	w.d = d.(hashState)
	w.setMidstate()
	return w
}

func (w *worker) setMidstate() {
	w.d.Reset()
	w.d.Write(w.enc[:midstateLen])
	w.mid, _ = w.d.MarshalBinary()
	w.midTop = w.enc[types.MiningPrefixSize]
}

// batch is how many nonces a worker tries between looking at ctx and the
// clock.
const batch = 1 << 12

// run searches until it finds a header whose hash is at most the target
// (true) or ctx ends (false). The time is kept current, never below
// minTime (the template's, which respects the median time past).
func (w *worker) run(ctx context.Context, minTime int64) (types.Header, bool) {
	for ctx.Err() == nil {
		if now := time.Now().UnixMilli(); now > w.time {
			w.time = now
		}
		if w.time < minTime {
			w.time = minTime
		}
		types.PutNonceTime(&w.enc, w.time, w.nonce)
		if w.enc[types.MiningPrefixSize] != w.midTop {
			w.setMidstate() // the time's top byte changed: not before the year 2^56 ms
		}
		if n, ok := w.scan(batch); ok {
			w.total.Add(n)
			h, err := types.DecodeHeader(w.enc[:])
			if err != nil { // cannot happen: enc came from a valid header
				return types.Header{}, false
			}
			return h, true
		}
		w.total.Add(batch)
	}
	return types.Header{}, false
}

// scan tries up to n nonces from w.nonce with the current time. On a win
// it leaves the winning nonce in w.enc and returns how many it tried.
func (w *worker) scan(n int) (uint64, bool) {
	var sum [32]byte
	for i := range n {
		binary.BigEndian.PutUint64(w.enc[140:148], w.nonce)
		if err := w.d.UnmarshalBinary(w.mid); err != nil {
			panic(err) // the state came from MarshalBinary of the same type
		}
		w.d.Write(w.enc[midstateLen:])
		w.d.Sum(sum[:0])
		if bytes.Compare(sum[:], w.target[:]) <= 0 {
			return uint64(i + 1), true
		}
		w.nonce++
	}
	return uint64(n), false
}
