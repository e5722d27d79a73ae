package nodetest_test

// The attacks of issue "A single peer cannot exhaust a node", each run by
// the adversary against real nodes: a short version as a test, the full
// length as a benchmark reporting the figures.

import (
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/node/nodetest"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/txpool"
)

// attackLogLevel is the nodes' log level in these tests (CAIRN_ATTACK_DEBUG=1: debug).
var attackLogLevel = func() slog.Level {
	if os.Getenv("CAIRN_ATTACK_DEBUG") != "" {
		return slog.LevelDebug
	}
	return 8
}()

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// loadChain feeds blocks (blocks[0] is genesis) to nd's chain directly.
func loadChain(tb testing.TB, nd *nodetest.Node, blocks []*types.Block) {
	tb.Helper()
	for _, b := range blocks[1:] {
		if _, err := nd.Chain().ProcessBlock(b); err != nil {
			tb.Fatalf("%s: load block %d: %v", nd.Name, b.Header.Height, err)
		}
	}
}

// headerSpamResult is what a header-spam run measured.
type headerSpamResult struct {
	identities    int           // adversary identities, each banned in turn
	served        int64         // junk headers the adversaries served
	reconnects    int           // reconnections of banned identities tried (each closed by the victim)
	stored        int           // headers the victim's index grew by, beyond the honest ones
	heapGrowth    int64         // bytes
	catchUp       time.Duration // from the honest peer's arrival to the victim at its tip
	slowestBanFor time.Duration // longest time from an identity's connection to its ban
}

// spamIdentities is how many identities the header-spam attacker uses, one
// after another; banned, they keep trying to reconnect.
const spamIdentities = 4

// runHeaderSpam: the victim (n0) holds an honest chain of 1000 blocks on
// schedule; an attacker claiming 2^255 work serves endless cheap headers
// from genesis (forks of genesis are at powLimit: the chain's genesis is
// 1200 s old) under one identity after another, spamIdentities in all,
// each banned in turn, then keeps trying to reconnect them, for d. An
// honest node with 100 blocks more (n1, cut off until then) is offered
// together with the first identity: the victim must reach its tip within
// 10 s while the attack goes on.
func runHeaderSpam(tb testing.TB, d time.Duration) headerSpamResult {
	p := nodetest.WorkParams(time.Now().UnixMilli() - 1200*nodetest.WorkSpacing)
	blocks := nodetest.BuildChain(tb, p, 1100, chaintest.Key("honest").Address())
	h := nodetest.New(tb, 2, nodetest.Options{Params: p, LogLevel: attackLogLevel, ScheduledTimes: true})
	victim, honest := h.Nodes[0], h.Nodes[1]
	h.Partition([]int{0}, []int{1})
	loadChain(tb, victim, blocks[:1001])
	loadChain(tb, honest, blocks)
	headers0 := victim.Chain().HeaderCount()
	heap0 := heapInUse()
	junk := nodetest.NewJunk(p, nodetest.ForkOf(blocks, 0))

	var res headerSpamResult
	var advs []*nodetest.Adversary
	start := time.Now()
	caughtUp := make(chan time.Duration, 1)
	for i := 0; i < spamIdentities; i++ {
		a := h.NewAdversary()
		a.ClaimWork(new(big.Int).Lsh(big.NewInt(1), 255), 1<<30)
		a.ServeJunk(junk)
		advs = append(advs, a)
		t0 := time.Now()
		a.Connect(victim)
		res.identities++
		if i == 0 {
			h.Heal() // the honest peer arrives with the attacker
			go func() {
				for victim.Chain().Tip().Hash != blocks[1100].Hash() && time.Since(t0) < 30*time.Second {
					time.Sleep(time.Millisecond) // polling, bounded by the 30 s deadline
				}
				caughtUp <- time.Since(t0)
			}()
		}
		h.WaitFor(fmt.Sprintf("identity %d banned", res.identities), 30*time.Second, func() bool {
			return a.StandingWith(victim).Banned
		})
		res.slowestBanFor = max(res.slowestBanFor, time.Since(t0))
		h.WaitFor("the banned identity disconnected", 10*time.Second, func() bool {
			return !a.StandingWith(victim).Connected
		})
	}
	for time.Since(start) < d {
		for _, a := range advs {
			_ = a.TryConnect(victim) // refused, or closed at once by the victim
			res.reconnects++
		}
		time.Sleep(50 * time.Millisecond) // the attacker's pace, not synchronisation
	}
	h.WaitFor("every identity disconnected", 10*time.Second, func() bool {
		for _, a := range advs {
			if a.StandingWith(victim).Connected {
				return false
			}
		}
		return true
	})
	res.catchUp = <-caughtUp
	if victim.Chain().Tip().Hash != blocks[1100].Hash() {
		tb.Fatalf("the victim did not reach the honest tip in 30 s\n%s", h.Describe())
	}
	for _, a := range advs {
		res.served += a.Counts().HeadersServed
		if st := a.StandingWith(victim); st.Connected || !st.Banned {
			tb.Errorf("an identity is connected %v, banned %v at the end", st.Connected, st.Banned)
		}
	}
	res.stored = victim.Chain().HeaderCount() - headers0 - 100
	res.heapGrowth = int64(heapInUse()) - int64(heap0)
	if f := os.Getenv("CAIRN_ATTACK_HEAPPROFILE"); f != "" {
		if w, err := os.Create(f); err == nil {
			_ = pprof.WriteHeapProfile(w)
			w.Close()
		}
	}
	return res
}

// TestAttackHeaderSpam (acceptance 1, short): header spam with a lying
// status. The victim stores none of the junk, its heap grows by at most
// 50 MB, every identity is banned and disconnected, and the victim reaches
// the honest peer's tip within 10 s of it being offered.
func TestAttackHeaderSpam(t *testing.T) {
	r := runHeaderSpam(t, 10*time.Second)
	t.Logf("%d identities served %d junk headers, %d reconnections closed; victim stored %d of them; heap %+d KB; honest tip reached %v after offered; slowest ban %v",
		r.identities, r.served, r.reconnects, r.stored, r.heapGrowth>>10, r.catchUp, r.slowestBanFor)
	if r.served < 2000 {
		t.Errorf("the attack did not reach the victim: %d headers served", r.served)
	}
	if r.stored != 0 {
		t.Errorf("the victim stored %d junk headers", r.stored)
	}
	if r.heapGrowth > 50<<20 {
		t.Errorf("heap grew by %d MB", r.heapGrowth>>20)
	}
	if r.catchUp > 10*time.Second {
		t.Errorf("the honest tip was reached %v after it was offered", r.catchUp)
	}
	if r.reconnects == 0 {
		t.Error("no reconnection of a banned identity was tried")
	}
}

// BenchmarkAttackHeaderSpam is the 60 s version (run once: -benchtime 1x).
func BenchmarkAttackHeaderSpam(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r := runHeaderSpam(b, 60*time.Second)
		b.ReportMetric(float64(r.identities), "identities")
		b.ReportMetric(float64(r.served), "junk-headers")
		b.ReportMetric(float64(r.reconnects), "reconnects")
		b.ReportMetric(float64(r.stored), "stored")
		b.ReportMetric(float64(r.heapGrowth)/(1<<20), "heap-MB")
		b.ReportMetric(r.catchUp.Seconds(), "catch-up-s")
		b.ReportMetric(r.slowestBanFor.Seconds(), "ban-s")
	}
}

// floodResult is what a side-block flood run measured.
type floodResult struct {
	sent            int     // blocks the adversary published
	storedAtVictim  int     // headers the victim's index grew by, beyond the honest blocks
	seenBehind      int     // adversary blocks that reached the node behind the victim
	baseP95, p95    float64 // honest block latency to the node behind the victim, ms
	honest          int
	victimThrottled uint64
}

// runSideBlockFlood: n0 mines honest blocks; the victim n1 relays them to
// n2, which is connected to n1 only. An adversary connected to the victim
// floods it with side blocks forked from old blocks (cheap: at powLimit,
// some padded to 256 KiB) for d. Honest blocks' latency from n0 to n2 is
// measured before and during the flood.
func runSideBlockFlood(tb testing.TB, d time.Duration) floodResult {
	p := nodetest.WorkParams(time.Now().UnixMilli() - 1200*nodetest.WorkSpacing)
	blocks := nodetest.BuildChain(tb, p, 600, chaintest.Key("honest").Address())
	h := nodetest.New(tb, 3, nodetest.Options{Params: p, LogLevel: attackLogLevel, ScheduledTimes: true})
	for _, nd := range h.Nodes {
		loadChain(tb, nd, blocks)
	}
	h.Partition([]int{0}, []int{2}) // n0 - n1 - n2
	h.WaitGossipReadyAmong(30*time.Second, [][2]int{{0, 1}, {1, 2}})
	// A block n1 relays before n2 is in its mesh reaches n2 only with the
	// next block: measure latency once the meshes have formed.
	h.WaitMeshAmong(30*time.Second, [][2]int{{0, 1}, {1, 2}})
	victim, behind := h.Nodes[1], h.Nodes[2]

	// Honest latency: mine at n0, time until n2 has the block as its tip.
	arrived := make(chan types.Hash, 1024)
	behind.OnTipChange(func(r chain.Result) {
		for _, b := range r.Connected {
			arrived <- b.Hash()
		}
	})
	measure := func(n int, gap time.Duration) []float64 {
		var lat []float64
		for i := 0; i < n; i++ {
			t0 := time.Now()
			blk := h.Mine(0, 1)[0]
			for got := (types.Hash{}); got != blk.Hash(); {
				select {
				case got = <-arrived:
				case <-time.After(10 * time.Second):
					tb.Fatalf("honest block %d did not reach n2 in 10 s\n%s", blk.Header.Height, h.Describe())
				}
			}
			lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
			time.Sleep(gap) // pacing between honest blocks, not synchronisation
		}
		return lat
	}
	p95 := func(l []float64) float64 {
		slices.Sort(l)
		return l[max(0, int(math.Ceil(0.95*float64(len(l))))-1)]
	}
	var res floodResult
	res.baseP95 = p95(measure(20, 20*time.Millisecond))

	headers0 := victim.Chain().HeaderCount()
	behindBlocks0 := behind.Net().GossipStats().Blocks
	a := h.NewAdversary()
	a.Connect(victim)
	a.WaitGossip(10*time.Second, 1)
	stop := make(chan struct{})
	done := make(chan int)
	go func() { // the flood: side blocks from ever newer old forks
		sent := 0
		defer func() { done <- sent }()
		for f := 1; ; f++ {
			fork := nodetest.ForkOf(blocks, f%400)
			for _, b := range nodetest.CheapBlocks(p, fork, 50, time.Now().UnixMilli()) {
				select {
				case <-stop:
					return
				default:
				}
				if err := a.PublishBlock(b); err != nil {
					return
				}
				sent++
			}
			pad := nodetest.Orphans(p, 1, nodetest.OrphanOptions{Height: uint64(f%400 + 1), Pad: 256 << 10, Seed: uint64(f)})
			if err := a.PublishBlock(pad[0]); err == nil {
				sent++
			}
		}
	}()
	var during []float64
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		during = append(during, measure(1, 100*time.Millisecond)...)
	}
	close(stop)
	res.sent = <-done
	res.p95 = p95(during)
	res.honest = len(during)
	honestNew := len(during)
	res.storedAtVictim = victim.Chain().HeaderCount() - headers0 - honestNew
	st := behind.Net().GossipStats().Blocks
	// n2 hears blocks from n1 only; every message beyond the honest ones
	// would be a relayed adversary block.
	msgs := int(st.Accepted+st.Rejected+st.Ignored) - int(behindBlocks0.Accepted+behindBlocks0.Rejected+behindBlocks0.Ignored)
	res.seenBehind = max(0, msgs-honestNew)
	res.victimThrottled = victim.Net().GossipStats().Blocks.Throttled
	return res
}

// TestAttackSideBlockFlood (acceptance 2, short): a flood of cheap side
// blocks is neither stored nor relayed, and honest blocks keep their
// latency (p95 ≤ 50 ms in-process).
func TestAttackSideBlockFlood(t *testing.T) {
	r := runSideBlockFlood(t, 10*time.Second)
	t.Logf("flood of %d side blocks: victim stored %d, node behind saw %d; honest p95 %.1f ms (baseline %.1f ms) over %d blocks; throttled at the victim %d",
		r.sent, r.storedAtVictim, r.seenBehind, r.p95, r.baseP95, r.honest, r.victimThrottled)
	if r.sent < 1000 {
		t.Errorf("the flood was only %d blocks", r.sent)
	}
	if r.storedAtVictim != 0 {
		t.Errorf("the victim stored %d side blocks", r.storedAtVictim)
	}
	if r.seenBehind != 0 {
		t.Errorf("the node behind the victim received %d side blocks", r.seenBehind)
	}
	// 50 ms in-process; the race detector slows everything several times
	// (measured here: baseline p95 1.3 ms without it, 9–16 ms with it).
	limit := 50.0
	if raceEnabled {
		limit = 150
	}
	if r.p95 > limit {
		t.Errorf("honest p95 %.1f ms during the flood (limit %.0f ms)", r.p95, limit)
	}
}

// BenchmarkAttackSideBlockFlood is the 60 s version.
func BenchmarkAttackSideBlockFlood(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r := runSideBlockFlood(b, 60*time.Second)
		b.ReportMetric(float64(r.sent), "side-blocks")
		b.ReportMetric(float64(r.storedAtVictim), "stored")
		b.ReportMetric(float64(r.seenBehind), "relayed")
		b.ReportMetric(r.baseP95, "base-p95-ms")
		b.ReportMetric(r.p95, "flood-p95-ms")
	}
}

// TestAttackServeAbuse (acceptance 5, end to end): a blocks request that
// repeats one hash is refused and costs the requester; silent streams are
// closed within the request-frame deadline and get the peer banned.
func TestAttackServeAbuse(t *testing.T) {
	p := nodetest.WorkParams(time.Now().UnixMilli() - 300*nodetest.WorkSpacing)
	blocks := nodetest.BuildChain(t, p, 200, chaintest.Key("honest").Address())
	h := nodetest.New(t, 1, nodetest.Options{Params: p, LogLevel: attackLogLevel, ScheduledTimes: true})
	victim := h.Nodes[0]
	loadChain(t, victim, blocks)

	a := h.AddAdversary()
	same := make([]types.Hash, 128)
	for i := range same {
		same[i] = blocks[200].Hash()
	}
	frames, bytes, repErr := a.RequestBlocks(victim, same)
	if repErr == nil || frames != 0 {
		t.Errorf("repeated-hash request answered: %d frames, %d bytes, %v", frames, bytes, repErr)
	}
	h.WaitFor("the repeated-hash request to cost the adversary", 10*time.Second, func() bool {
		return victim.Net().Penalty(a.ID()) >= 40
	})
	// Distinct hashes are served, whole.
	b := h.AddAdversary()
	var hashes []types.Hash
	for _, blk := range blocks[1:129] {
		hashes = append(hashes, blk.Hash())
	}
	if frames, _, err := b.RequestBlocks(victim, hashes); err != nil || frames != 128 {
		t.Fatalf("honest request: %d frames, %v", frames, err)
	}

	c := h.AddAdversary()
	t0 := time.Now()
	streams, err := c.OpenSilentStreams(victim, "blocks", 12) // 12 served at once: 12 × 11 points
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range streams {
		select {
		case <-s.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a silent stream was not ended in 10 s")
		}
	}
	ended := time.Since(t0)
	h.WaitFor("silent streams to get the adversary banned", 20*time.Second, func() bool {
		return c.StandingWith(victim).Banned
	})
	t.Logf("repeated-hash request: %v; silent streams ended within %v, banned after %v", repErr, ended, time.Since(t0))
	if b.StandingWith(victim).Banned || victim.Net().Penalty(b.ID()) > 0 {
		t.Errorf("the honest requester was penalized %.1f", victim.Net().Penalty(b.ID()))
	}
}

// TestAttackSmallOrderTx (acceptance 6, end to end): a transaction from the
// identity point (a small-order key) with the all-zero signature verifies
// under ZIP-215 yet is refused by the pool with its own reason, and its
// relayer is penalized.
func TestAttackSmallOrderTx(t *testing.T) {
	h := nodetest.New(t, 1, nodetest.Options{LogLevel: attackLogLevel})
	victim := h.Nodes[0]
	tx := &types.Tx{Version: types.TxVersion, To: chaintest.Key("bob").Address(), Amount: 1000, Fee: 5000}
	tx.From[0] = 1 // the identity point, y = 1
	tx.Sig[0] = 1  // R = the identity point, S = 0
	if !consensus.VerifySignature(tx.From, tx.SigningDigest(h.Params.GenesisHash()), tx.Sig) {
		t.Fatal("the forged signature does not verify: the test no longer shows the attack")
	}
	if _, err := victim.SubmitTx(tx); txpool.ReasonOf(err) != txpool.ReasonSmallOrderKey {
		t.Fatalf("SubmitTx: %v, want reason small-order-key", err)
	}
	a := h.AddAdversary()
	a.WaitGossip(10*time.Second, 0)
	if err := a.PublishTx(tx); err != nil {
		t.Fatal(err)
	}
	h.WaitFor("the relayer penalized", 10*time.Second, func() bool {
		return victim.Net().Penalty(a.ID()) >= p2p.PenaltyInvalidTx*0.9
	})
	if victim.Pool().Has(tx.ID()) {
		t.Fatal("the small-order tx is in the pool")
	}
	if st := victim.Net().GossipStats().Txs; st.Rejected == 0 || st.Accepted != 0 {
		t.Fatalf("gossip verdicts %+v: want it rejected", st)
	}
}
