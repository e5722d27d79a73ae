package chain_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// Crash recovery: after kill -9 at any instant the node restarts without
// repair, and its tip, state and indexes agree.
//
// The parent test builds a fixed set of blocks with forks and three deep
// reorganisations, writes them to a file and then, over and over, starts a
// child process (this test binary, running TestCrashChild) that opens a
// datadir on disk and imports the blocks, and kills it with SIGKILL after a
// random delay. After every kill the parent reopens the datadir in-process
// and checks that Open succeeds without repair, Verify passes, the tip is
// one of the built blocks with exactly the model's state, the main-chain
// height index and the tx index agree with the tip's ancestry, and no
// stored block has more work than the tip. The datadir is kept across kills
// until a child gets through the whole file; then the tip must be the
// final best block, and a fresh datadir starts.
//
//	genesis -> a1 ... a10 -> a11 ... a20 -> a21 ... a40
//	                    |             \-> d21 ... d70        (reorg 3: 50 back to a10)
//	                    \-> b11 ... b30 -> b31 ... b50       (reorg 1: 30 back to a10)
//	                                  \-> c31 ... c60        (reorg 2: 20 back to b30)
//
// Delivered in the order a, b, c, d: b41, c51 and d61 each trigger a reorg,
// the last one through a10 (disconnect c60..c31, b30..b11; connect a11..a20,
// d21..d61). Every block carries crashTxs txs, so the reorganisations take
// long enough that kills land inside them too (the test counts those whose
// stored tip Open then moves). The child says "started" before it opens the
// datadir, so kills also land inside Open: creating the database,
// recovering LevelDB's journal, finishing a reorganisation cut short.
//
// Delays are drawn from [0, half the time of one full import], measured by
// an uninterrupted child first; the seed is logged. With -short the test
// stops after 10 kills instead of 50.

const (
	crashEnvDir    = "CAIRN_CRASH_DATADIR"
	crashEnvBlocks = "CAIRN_CRASH_BLOCKS"
	crashTxs       = 12
)

// crashSet is the deterministic block set of the crash test.
type crashSet struct {
	g     *chaintest.Builder
	order []string              // delivery order
	name  map[types.Hash]string // block hash -> name
	final string                // the most-work block
	// hash and ids are each block's hash and tx ids, computed once: check
	// runs after every round and would otherwise spend most of its time
	// hashing them again.
	hash map[string]types.Hash
	ids  map[string][]types.Hash
}

func crashBuild(t *testing.T) *crashSet {
	g := chaintest.New(t)
	s := &crashSet{g: g, name: map[types.Hash]string{g.Hash("genesis"): "genesis"}, final: "d70",
		hash: map[string]types.Hash{"genesis": g.Hash("genesis")}, ids: map[string][]types.Hash{}}
	senders := chaintest.Wallets[:3]
	branch := func(prefix, parent string, from, to uint64, salt uint64) {
		for h := from; h <= to; h++ {
			name := fmt.Sprintf("%s%d", prefix, h)
			blk := g.Block(name, parent, func(bg *chaintest.BlockGen) {
				for k := uint64(0); k < crashTxs; k++ {
					from := senders[(h+k+salt)%3]
					to := chaintest.Key(chaintest.Wallets[(h+2*k+salt)%4]).Address()
					bg.Pay(from, to, 1+h*100+k+salt*10_000, 1+k%3)
				}
				if h == 15 {
					// dave's only tx, the same one in a15 and b15.
					bg.Txs = append(bg.Txs, g.Tx("dave", chaintest.Key("carol").Address(), 4242, 7, 0))
				}
			})
			s.name[blk.Hash()] = name
			s.order = append(s.order, name)
			parent = name
		}
	}
	branch("a", "genesis", 1, 40, 0)
	branch("b", "a10", 11, 50, 1)
	branch("c", "b30", 31, 60, 2)
	branch("d", "a20", 21, 70, 3)
	for _, n := range s.order {
		if g.State(n) == nil {
			t.Fatalf("block %s is invalid in the model", n)
		}
		s.hash[n], s.ids[n] = g.Hash(n), g.Get(n).TxIDs()
	}
	return s
}

// writeFile writes the blocks in delivery order, each as uvarint length ‖
// encoding.
func (s *crashSet) writeFile(t *testing.T, path string) {
	var buf []byte
	for _, n := range s.order {
		enc := s.g.Get(n).Encode()
		buf = binary.AppendUvarint(buf, uint64(len(enc)))
		buf = append(buf, enc...)
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		t.Fatal(err)
	}
}

func crashReadFile(path string, maxSize int) ([]*types.Block, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*types.Block
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, errors.New("truncated block file")
		}
		blk, err := types.DecodeBlock(b[k:k+int(n)], maxSize)
		if err != nil {
			return nil, err
		}
		out = append(out, blk)
		b = b[k+int(n):]
	}
	return out, nil
}

// TestCrashChild is the child process of TestCrashRecovery; run alone it
// skips. It says "started" on stdout, opens the datadir, imports every
// block of the file (those already imported are duplicates), closes the
// chain and says "done". Any error fails it with a non-zero exit status.
func TestCrashChild(t *testing.T) {
	dir, file := os.Getenv(crashEnvDir), os.Getenv(crashEnvBlocks)
	if dir == "" || file == "" {
		t.Skip("child process of TestCrashRecovery")
	}
	fmt.Println("started")
	p := chaintest.Params()
	blocks, err := crashReadFile(file, p.MaxBlockSize)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chain.Open(dir, chain.Config{Params: p})
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range blocks {
		if _, err := c.ProcessBlock(blk); err != nil {
			t.Fatalf("block %s at height %d: %v", blk.Hash(), blk.Header.Height, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("done")
}

// crashChild is one running child process.
type crashChild struct {
	cmd    *exec.Cmd
	lines  chan string  // stdout lines, for waitLine; closed at EOF
	exited chan error   // the result of Wait, after EOF
	output lockedBuffer // stdout and stderr, for failure messages
	// said holds every stdout line, whether or not anyone took it from
	// lines. The reader goroutine writes it before it sends on exited:
	// read it only after wait has returned.
	said []string
}

// lockedBuffer collects the child's output; it may be read while it is
// still being written.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startCrashChild(t *testing.T, dir, blockFile string) *crashChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v=false")
	// A race-enabled binary sleeps 1 s at exit unless told otherwise.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvBlocks+"="+blockFile, "GORACE="+gorace)
	ch := &crashChild{cmd: cmd, lines: make(chan string, 1024), exited: make(chan error, 1)}
	cmd.Stderr = &ch.output
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(&ch.output, sc.Text())
			ch.said = append(ch.said, sc.Text())
			select {
			case ch.lines <- sc.Text():
			default: // nobody is listening for that many lines
			}
		}
		io.Copy(io.Discard, out)
		close(ch.lines)
		ch.exited <- cmd.Wait()
	}()
	return ch
}

// waitLine waits, until deadline, for the child to print want. It returns
// false if the child's stdout ends first.
func (ch *crashChild) waitLine(t *testing.T, want string, deadline <-chan time.Time) bool {
	t.Helper()
	for {
		select {
		case l, ok := <-ch.lines:
			if !ok {
				return false
			}
			if l == want {
				return true
			}
		case <-deadline:
			ch.cmd.Process.Kill()
			t.Fatalf("child did not say %q in time; output:\n%s", want, ch.output.String())
		}
	}
}

// wait waits, bounded, for the child to exit and returns the Wait error.
// It leaves lines alone: the reader goroutine never blocks on them, and
// what the child said stays in said.
func (ch *crashChild) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-ch.exited:
		return err
	case <-time.After(30 * time.Second):
		ch.cmd.Process.Kill()
		t.Fatalf("child did not exit; output:\n%s", ch.output.String())
		return nil
	}
}

// saidDone reports whether the child said "done": its import was complete.
// Call it after wait.
func (ch *crashChild) saidDone() bool { return slices.Contains(ch.said, "done") }

func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// storedTip reads the tip record of the closed database in dir, read-only,
// before chain.Open gets to finish a reorganisation cut short.
func (s *crashSet) storedTip(t *testing.T, dir string) string {
	t.Helper()
	db, err := leveldb.OpenFile(dir, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
	if err != nil {
		return "" // not created yet
	}
	defer db.Close()
	v, err := db.Get([]byte("mtip"), nil) // store.go's keyTip
	if err != nil || len(v) != types.HashSize {
		return ""
	}
	return s.name[types.Hash(v)]
}

// check reopens dir in-process and checks everything that must agree after
// a crash. It returns the name of the tip.
func (s *crashSet) check(t *testing.T, dir string) string {
	t.Helper()
	c, err := chain.Open(dir, chain.Config{Params: s.g.Params})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	open := true
	defer func() {
		if open {
			c.Close()
		}
	}()
	if err := c.Verify(); err != nil {
		t.Fatalf("Verify after kill: %v", err)
	}
	tip := c.Tip()
	name, ok := s.name[tip.Hash]
	if !ok {
		t.Fatalf("tip %s at height %d is none of the built blocks", tip.Hash, tip.Height)
	}
	s.g.CheckTip(c, name)

	// The main-chain height index and the tx index follow the tip's
	// ancestry exactly.
	onMain := map[types.Hash]chain.TxLocation{}
	for n := name; ; n = s.name[s.g.Get(n).Header.Parent] {
		height := s.g.Get(n).Header.Height
		info, err := c.HeaderByHeight(height)
		if err != nil || info.Hash != s.hash[n] || !info.MainChain {
			t.Fatalf("height %d: %s, %v; the tip's ancestor is %s", height, info.Hash, err, n)
		}
		for i, id := range s.ids[n] {
			onMain[id] = chain.TxLocation{Block: s.hash[n], Height: height, Index: i}
		}
		if height == 0 {
			break
		}
	}
	// Through the API for the txs of the tip and of each branch's last
	// block; for every tx, in one pass over the index once the chain is
	// closed (checkTxIndex): a lookup for each tx of every block would
	// take most of the time of this check, which runs after every round.
	for _, n := range []string{name, "a40", "b50", "c60", "d70"} {
		for _, id := range s.ids[n] {
			loc, err := c.TxLocation(id)
			want, main := onMain[id]
			switch {
			case main && (err != nil || loc != want):
				t.Fatalf("tx %s of %s: %+v, %v; want %+v", id, n, loc, err, want)
			case !main && !errors.Is(err, chain.ErrNotFound):
				t.Fatalf("tx %s of %s is off the main chain but indexed: %+v, %v", id, n, loc, err)
			}
		}
	}

	// The address history index lists exactly the main chain's events.
	checkHistory(t, c, s.g, name)

	// Fork choice: every block is valid, so no stored block may have more
	// work than the tip.
	for _, n := range s.order {
		info, err := c.Header(s.hash[n])
		if errors.Is(err, chain.ErrNotFound) {
			continue
		}
		if err != nil || info.Invalid {
			t.Fatalf("Header(%s) = %+v, %v", n, info, err)
		}
		if info.HasData && info.Work.Cmp(tip.Work) > 0 {
			t.Fatalf("tip %s, but %s is stored with more work", name, n)
		}
	}
	open = false
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s.checkTxIndex(t, dir, onMain)
	// Check walks everything else, the address history index among it:
	// a record for every event of the main chain, and no other.
	if r, err := chain.Check(dir, chain.Config{Params: s.g.Params}); err != nil || !r.OK() || r.History == 0 {
		t.Fatalf("Check after kill: %v %+v", err, r)
	}
	return name
}

// checkTxIndex reads the tx index of the closed database in dir, read-only,
// in one pass: it must hold exactly the txs of onMain, each at its place.
func (s *crashSet) checkTxIndex(t *testing.T, dir string, onMain map[types.Hash]chain.TxLocation) {
	t.Helper()
	db, err := leveldb.OpenFile(dir, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
	if err != nil {
		t.Fatalf("reopen to read the tx index: %v", err)
	}
	defer db.Close()
	// store.go's layout: 't' ‖ tx id -> block hash ‖ index u32.
	it := db.NewIterator(util.BytesPrefix([]byte{'t'}), nil)
	defer it.Release()
	seen := 0
	for it.Next() {
		k, v := it.Key(), it.Value()
		var id types.Hash
		copy(id[:], k[1:])
		want, main := onMain[id]
		if len(k) != 1+types.HashSize || !main || len(v) != types.HashSize+4 ||
			types.Hash(v[:types.HashSize]) != want.Block || binary.BigEndian.Uint32(v[types.HashSize:]) != uint32(want.Index) {
			t.Fatalf("tx index record %x -> %x; on the main chain: %v, at %+v", k, v, main, want)
		}
		seen++
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	if seen != len(onMain) {
		t.Fatalf("the tx index holds %d records for the %d main-chain txs", seen, len(onMain))
	}
}

// TestCrashRecovery kills an importing child process with SIGKILL at
// random moments, at least 50 times (10 with -short), and checks the
// datadir after each kill. See the comment at the top of the file.
func TestCrashRecovery(t *testing.T) {
	kills := 50
	if testing.Short() {
		kills = 10
	}
	s := crashBuild(t)
	tmp := t.TempDir()
	blockFile := filepath.Join(tmp, "blocks")
	s.writeFile(t, blockFile)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>32))

	// One uninterrupted import measures how long the child takes, from
	// "started" to "done"; kills are spread over that span.
	gen := 0
	newDir := func() string {
		gen++
		return filepath.Join(tmp, fmt.Sprintf("datadir%d", gen))
	}
	dir := newDir()
	ch := startCrashChild(t, dir, blockFile)
	deadline := time.After(5 * time.Minute)
	ok := ch.waitLine(t, "started", deadline)
	t0 := time.Now()
	if !ok || !ch.waitLine(t, "done", deadline) {
		t.Fatalf("child failed: %v\n%s", ch.wait(t), ch.output.String())
	}
	span := time.Since(t0)
	if err := ch.wait(t); err != nil {
		t.Fatalf("child: %v\n%s", err, ch.output.String())
	}
	if tip := s.check(t, dir); tip != s.final {
		t.Fatalf("after a full import the tip is %s, want %s", tip, s.final)
	}
	t.Logf("full import by the child: %v", span)

	var killed, completed, rounds, finishedByOpen int
	tips := map[string]int{}
	dir = newDir()
	for killed < kills {
		rounds++
		ch := startCrashChild(t, dir, blockFile)
		if !ch.waitLine(t, "started", time.After(time.Minute)) {
			t.Fatalf("child failed before starting: %v\n%s", ch.wait(t), ch.output.String())
		}
		// Up to half an import: a datadir then sees several kills, each
		// round going on from where the last one was cut.
		delay := time.Duration(rng.Int64N(int64(span)/2 + 1))
		timer := time.NewTimer(delay)
		done := false
	wait:
		for {
			select {
			case l, ok := <-ch.lines:
				if !ok {
					break wait // exited by itself
				}
				if l == "done" {
					done = true // the import is complete: let it exit
					break wait
				}
			case <-timer.C:
				if err := ch.cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break wait
			}
		}
		timer.Stop()
		err := ch.wait(t)
		// The kill can race the child's own exit: a "done" the loop above
		// did not get to means the import was complete whatever the signal
		// did.
		done = done || ch.saidDone()
		switch {
		case killedBySIGKILL(err):
			killed++
		case err != nil || !done:
			t.Fatalf("child failed (round %d): %v\n%s", rounds, err, ch.output.String())
		}
		before := s.storedTip(t, dir)
		tip := s.check(t, dir)
		tips[tip]++
		if before != "" && before != tip {
			finishedByOpen++ // killed inside a reorganisation: Open completed it
		}
		if done {
			if tip != s.final {
				t.Fatalf("after a complete import the tip is %s, want %s", tip, s.final)
			}
			completed++
			dir = newDir()
		}
	}
	t.Logf("%d rounds: %d kills, %d complete imports, %d reorganisations cut by a kill and finished by Open; tips after a round: %v",
		rounds, killed, completed, finishedByOpen, tips)
}

// TestCrashDuringCreation: a process killed while creating its database
// leaves at most dir+".new" behind, and the next Open starts the creation
// again. The leftover here is what goleveldb leaves when killed inside
// OpenFile of a new database: a manifest but no CURRENT file, which
// goleveldb refuses to open ("database entry point either missing or
// corrupted"); TestCrashRecovery once hit exactly that when the database
// was still created in place.
func TestCrashDuringCreation(t *testing.T) {
	p := chaintest.Params()
	dir := filepath.Join(t.TempDir(), "chain")
	tmp := dir + ".new"
	db, err := leveldb.OpenFile(tmp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(tmp, "CURRENT")); err != nil {
		t.Fatal(err)
	}
	if db, err := leveldb.OpenFile(tmp, nil); err == nil {
		db.Close()
		t.Fatal("goleveldb opened a database without CURRENT: this test's premise is gone")
	}

	for _, d := range []string{dir, t.TempDir()} { // missing, and empty
		c, err := chain.Open(d, chain.Config{Params: p})
		if err != nil {
			t.Fatalf("Open(%s) after a creation cut short: %v", d, err)
		}
		if tip := c.Tip(); tip.Hash != p.GenesisHash() {
			t.Fatalf("new database has tip %s, want genesis", tip.Hash)
		}
		if err := c.Verify(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s left behind: %v", tmp, err)
	}
}
