package main

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/wallet"
)

const (
	// txAmount and txFee are what every transfer moves and pays: 0.00001
	// CRN, and the cairn CLI's default fee of 0.0001 CRN (ten times the
	// pools' minimum relay fee).
	txAmount = 1000
	txFee    = 10_000
	// submitTimeout bounds one tx_send (the server's own limit is 10 s).
	submitTimeout = 10 * time.Second
	// scheduleTick is how often the generator releases the transfers
	// due by then.
	scheduleTick = 5 * time.Millisecond
)

// Reasons counted beside the txpool's (rpc.Error.Reason of a tx_send
// refusal).
const (
	// reasonRPCError: tx_send failed without an answer (timeout, broken
	// connection) and the node does not know the tx afterwards.
	reasonRPCError = "rpc-error"
	// reasonNoReason: a JSON-RPC error without a reason.
	reasonNoReason = "error-without-reason"
)

// sender is one funded account sending transfers. mu serializes its
// submissions, so that its nonces reach the node in order.
type sender struct {
	mu    sync.Mutex
	idx   int
	key   *wallet.Key
	addr  types.Address
	to    types.Address
	nonce uint64 // the next nonce to use: refused txs do not advance it
}

// txRec is one signed transfer the node accepted (or may have: sent
// without an answer).
type txRec struct {
	id         string
	sender     int
	nonce      uint64
	stage      int
	acceptedAt time.Time
	accepted   bool // tx_send returned its id, or the node knew it after an error
}

// stageStats are the counters of one stage.
type stageStats struct {
	mu        sync.Mutex
	offered   int // tx_send calls made
	accepted  int
	behind    int // transfers due that no submitter was free to send
	rejects   map[string]int
	resyncs   int // nonce re-read from the node after a nonce refusal
	submitLat []time.Duration
	// acceptedAfterError counts txs whose tx_send failed without an
	// answer but which the node knew afterwards (counted as accepted).
	acceptedAfterError int
}

func (s *stageStats) reject(reason string) {
	s.mu.Lock()
	s.rejects[reason]++
	s.mu.Unlock()
}

// load is the state of the generator across stages.
type load struct {
	client  *rpc.Client // the entry node
	genesis types.Hash
	senders []*sender
	next    atomic.Uint64 // round-robin position over senders

	mu   sync.Mutex
	txs  map[string]*txRec // by tx id
	sent map[string]*txRec // sent without an answer and unknown to the node after
}

func newLoad(client *rpc.Client, genesis types.Hash, n int) *load {
	l := &load{client: client, genesis: genesis, txs: make(map[string]*txRec), sent: make(map[string]*txRec)}
	for i := range n {
		k := senderKey(i)
		l.senders = append(l.senders, &sender{idx: i, key: k, addr: k.Address()})
	}
	for i, s := range l.senders {
		s.to = l.senders[(i+1)%n].addr
	}
	return l
}

// runStage offers rate transfers per second for d on an open-loop
// schedule: every scheduleTick the transfers due by then are handed to
// workers submitters; a transfer due while every submitter is busy and
// half a second of transfers already waits is not sent and is counted as
// behind, so the offered rate shows what was really sent.
func (l *load) runStage(ctx context.Context, idx, rate int, d time.Duration, workers int) *stageStats {
	st := &stageStats{rejects: map[string]int{}}
	jobs := make(chan struct{}, max(1, rate/2))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range jobs {
				l.submit(ctx, idx, st)
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(scheduleTick)
	released := 0
	total := int(math.Round(float64(rate) * d.Seconds()))
loop:
	for released < total {
		select {
		case <-ctx.Done():
			break loop
		case now := <-tick.C:
			due := min(total, int(float64(rate)*now.Sub(start).Seconds()))
			for ; released < due; released++ {
				select {
				case jobs <- struct{}{}:
				default:
					st.mu.Lock()
					st.behind++
					st.mu.Unlock()
				}
			}
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	return st
}

// pickSender returns the next sender in turn that is not busy, locked;
// if all are, it waits for the next in turn.
func (l *load) pickSender() *sender {
	n := uint64(len(l.senders))
	first := l.next.Add(1) % n
	for i := range n {
		s := l.senders[(first+i)%n]
		if s.mu.TryLock() {
			return s
		}
	}
	s := l.senders[first]
	s.mu.Lock()
	return s
}

// submit signs the next transfer of a sender and sends it with tx_send.
// A refusal leaves the sender's nonce where it was (the next attempt
// rebuilds the same tx); a nonce refusal re-reads it from the node.
func (l *load) submit(ctx context.Context, stage int, st *stageStats) {
	s := l.pickSender()
	defer s.mu.Unlock()
	tx, err := wallet.BuildTx(s.key, wallet.TxParams{To: s.to, Amount: txAmount, Fee: txFee, Nonce: s.nonce}, l.genesis)
	if err != nil {
		panic(err) // fixed, valid parameters
	}
	id := tx.ID().String()
	cctx, cancel := context.WithTimeout(ctx, submitTimeout)
	t0 := time.Now()
	_, err = l.client.SendTx(cctx, tx)
	lat := time.Since(t0)
	cancel()
	if ctx.Err() != nil && err != nil {
		return // interrupted: not a result
	}
	st.mu.Lock()
	st.offered++
	st.mu.Unlock()
	var rerr *rpc.Error
	switch {
	case err == nil:
		l.accept(s, id, stage, st, lat, false)
	case errors.As(err, &rerr) && rerr.Code == rpc.CodeTxRejected:
		reason := rerr.Reason()
		if reason == "" {
			reason = reasonNoReason
		}
		st.reject(reason)
		switch reason {
		case "duplicate":
			// The pool holds this very tx: an earlier attempt that
			// failed without an answer was accepted after all.
			l.accept(s, id, stage, st, lat, true)
		case "nonce-too-low", "nonce-too-high", "replacement-underpriced":
			l.resync(ctx, s, st)
		}
	case errors.As(err, &rerr) && rerr.Code != rpc.CodeTimeout:
		r := rerr.Reason()
		if r == "" {
			r = reasonNoReason
		}
		st.reject(r)
	default:
		// No answer: the node may have taken it. Ask.
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, terr := l.client.Transaction(cctx, id)
		cancel()
		if terr == nil {
			l.accept(s, id, stage, st, lat, true)
			return
		}
		st.reject(reasonRPCError)
		l.mu.Lock()
		l.sent[id] = &txRec{id: id, sender: s.idx, nonce: s.nonce, stage: stage}
		l.mu.Unlock()
	}
}

// accept records id as accepted and advances the sender's nonce.
func (l *load) accept(s *sender, id string, stage int, st *stageStats, lat time.Duration, afterError bool) {
	now := time.Now()
	l.mu.Lock()
	if _, ok := l.txs[id]; !ok {
		l.txs[id] = &txRec{id: id, sender: s.idx, nonce: s.nonce, stage: stage, acceptedAt: now, accepted: true}
	}
	delete(l.sent, id)
	l.mu.Unlock()
	s.nonce++
	st.mu.Lock()
	st.accepted++
	if afterError {
		st.acceptedAfterError++
	} else {
		st.submitLat = append(st.submitLat, lat)
	}
	st.mu.Unlock()
}

// resync sets the sender's nonce to the node's pending nonce.
func (l *load) resync(ctx context.Context, s *sender, st *stageStats) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	a, err := l.client.Account(cctx, s.addr.String())
	if err != nil {
		return
	}
	s.nonce = a.PendingNonce
	st.mu.Lock()
	st.resyncs++
	st.mu.Unlock()
}

// accepted returns the ids of every accepted tx with its record.
func (l *load) acceptedTxs() map[string]*txRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]*txRec, len(l.txs))
	for id, r := range l.txs {
		out[id] = r
	}
	return out
}

// percentile returns the p-quantile (0..1) of ds by the nearest-rank
// method; 0 for none. ds is sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[max(0, min(i, len(ds)-1))]
}
