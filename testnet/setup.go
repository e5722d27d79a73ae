package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/internal/localproc"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/wallet"
)

// Testnet-only secrets and names. The passphrase is printed: these wallets
// hold coins of a throwaway chain.
const (
	Passphrase  = "testnet"
	NetworkName = "cairn-testnet"

	configFile  = "testnet.json"
	genesisFile = "genesis.json"
	walletsDir  = "wallets" // the cairn --home; keystores in wallets/wallet/
	logFile     = "cairnd.log"
	keyFile     = "p2p.key"
	lockFile    = "testnet.lock"

	// GenesisFunds is alice's and bob's allocation: 1000 CRN each.
	GenesisFunds = 1000 * wallet.BaseUnitsPerCRN
)

// Funded are the wallets prefunded at genesis.
var Funded = []string{"alice", "bob"}

// walletKDF are the argon2id parameters of the testnet wallets: cheap, so
// that every cairn send does not spend 0.2 s deriving a key for coins that
// are worth nothing. The parameters are stored in each keystore, so the
// cairn CLI opens these files like any other.
var walletKDF = wallet.KDFParams{Time: 1, Memory: 1 << 10, Threads: 1}

// hashRatePerThread is the BLAKE2b header hashes per second assumed of one
// mining thread, which sets the genesis difficulty. One idle core of the
// reference machine does about 2.1 M (go test -bench HeaderHash
// ./chain/types: 470 ns a hash), a busy one much less; a testnet whose
// first blocks come too fast is better than one that seems stuck, and
// ASERT corrects the difficulty within a few half-lives.
const hashRatePerThread = 1e6

// Options choose the testnet. Zero Nodes, Miners or BlockTime take the
// saved value of an existing testnet, or the default of a new one.
type Options struct {
	Dir       string        // data directory (made absolute by Setup)
	Nodes     int           // number of cairnd processes; default 3
	Miners    int           // how many of them mine (the first ones); default 2
	BlockTime time.Duration // target block spacing; default 2 s
	Fresh     bool          // wipe Dir first
	MDNS      bool          // also let the nodes find each other by mDNS
	// HashRate is the assumed hash rate of one mining thread, which sets
	// the genesis difficulty; default hashRatePerThread.
	HashRate float64
}

// Defaults of a new testnet.
const (
	DefaultNodes     = 3
	DefaultMiners    = 2
	DefaultBlockTime = 2 * time.Second
)

// savedConfig is <dir>/testnet.json: what a later run must agree with to
// continue the same chain.
type savedConfig struct {
	Version   int       `json:"version"`
	Nodes     int       `json:"nodes"`
	Miners    int       `json:"miners"`
	BlockTime string    `json:"blockTime"`
	Network   string    `json:"network"`
	Genesis   string    `json:"genesis"` // genesis block hash
	Created   time.Time `json:"created"`
}

const savedVersion = 1

// Testnet is a prepared data directory: genesis, wallets and node
// directories with their identity keys. Start runs it.
type Testnet struct {
	Dir     string
	Params  *consensus.Params
	Genesis types.Hash
	Nodes   []*Node
	// Wallets maps the name of every wallet in the store (alice, bob,
	// miner1…) to its address.
	Wallets map[string]types.Address
	// Reused is true when Dir held a testnet from an earlier run.
	Reused    bool
	BlockTime time.Duration
	Miners    int
	// MDNS turns on cairnd's mDNS discovery besides the bootnodes.
	MDNS bool
}

// WalletHome is the --home to give cairn for the testnet wallets.
func (tn *Testnet) WalletHome() string { return filepath.Join(tn.Dir, walletsDir) }

// Setup prepares opts.Dir: with Fresh it wipes it first; an existing
// testnet there is reused if it agrees with opts (the unset options take
// its values), otherwise Setup refuses and suggests -fresh; a missing or
// empty directory gets a new genesis, wallets and node keys.
func Setup(opts Options) (*Testnet, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	if opts.Nodes < 0 || opts.Miners < 0 || opts.BlockTime < 0 {
		return nil, errors.New("-nodes, -miners and -block-time must not be negative")
	}
	if opts.Fresh {
		if err := wipe(dir); err != nil {
			return nil, err
		}
	}
	saved, err := loadSaved(dir)
	if err != nil {
		return nil, err
	}
	var tn *Testnet
	if saved != nil {
		tn, err = reuse(opts, saved)
	} else {
		tn, err = create(opts)
	}
	if err != nil {
		return nil, err
	}
	tn.MDNS = opts.MDNS
	if err := tn.prepareNodes(); err != nil {
		return nil, err
	}
	return tn, nil
}

// wipe empties dir, but only if it holds a testnet or the remains of one
// (see checkForeign): -fresh -dir $HOME must not delete a home. The
// launcher's lock file stays.
func wipe(dir string) error {
	if err := checkForeign(dir); err != nil {
		return err
	}
	entries, err := dirEntries(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// dirEntries lists dir without the launcher's lock file; a missing dir
// has none.
func dirEntries(dir string) ([]fs.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return e.Name() == lockFile }), err
}

// loadSaved reads dir's testnet.json; nil without error if dir is missing
// or empty. A non-empty directory without one is refused.
func loadSaved(dir string) (*savedConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	if errors.Is(err, fs.ErrNotExist) {
		if err := checkForeign(dir); err != nil {
			return nil, err
		}
		if entries, err := dirEntries(dir); err != nil || len(entries) > 0 {
			return nil, fmt.Errorf("%s holds an incomplete testnet (%s missing: was its setup interrupted?): start over with -fresh", dir, configFile)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s savedConfig
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %v (start over with -fresh)", filepath.Join(dir, configFile), err)
	}
	if s.Version != savedVersion {
		return nil, fmt.Errorf("%s: version %d, this launcher knows %d (start over with -fresh)", filepath.Join(dir, configFile), s.Version, savedVersion)
	}
	return &s, nil
}

// checkForeign refuses a directory that is neither empty nor a testnet:
// one with anything but the files a testnet has (a setup interrupted
// before it wrote testnet.json leaves only some of them).
func checkForeign(dir string) error {
	entries, err := dirEntries(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !testnetEntry(e.Name()) {
			return fmt.Errorf("%s holds other things than a testnet (%s): choose another -dir", dir, e.Name())
		}
	}
	return nil
}

// testnetEntry reports whether name is one a testnet directory holds.
func testnetEntry(name string) bool {
	switch name {
	case configFile, genesisFile, walletsDir, lockFile:
		return true
	}
	if strings.Contains(name, ".tmp") { // writeFileAtomic's leftovers
		return true
	}
	num, ok := strings.CutPrefix(name, "node")
	return ok && num != "" && strings.Trim(num, "0123456789") == ""
}

func (s *savedConfig) write(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, configFile), append(b, '\n'), 0o644)
}

// reuse checks opts against the saved testnet and loads it.
func reuse(opts Options, s *savedConfig) (*Testnet, error) {
	savedBT, err := time.ParseDuration(s.BlockTime)
	if err != nil {
		return nil, fmt.Errorf("%s: block time %q: %v (start over with -fresh)", filepath.Join(opts.Dir, configFile), s.BlockTime, err)
	}
	var diffs []string
	if opts.Nodes != 0 && opts.Nodes != s.Nodes {
		diffs = append(diffs, fmt.Sprintf("-nodes %d (it has %d)", opts.Nodes, s.Nodes))
	}
	if opts.BlockTime != 0 && opts.BlockTime != savedBT {
		diffs = append(diffs, fmt.Sprintf("-block-time %s (its genesis says %s)", opts.BlockTime, savedBT))
	}
	if len(diffs) > 0 {
		return nil, &MismatchError{Dir: opts.Dir, Diffs: diffs}
	}
	gb, err := os.ReadFile(filepath.Join(opts.Dir, genesisFile))
	if err != nil {
		return nil, fmt.Errorf("%v (start over with -fresh)", err)
	}
	p, err := consensus.ParseGenesis(gb)
	if err != nil {
		return nil, fmt.Errorf("%s: %v (start over with -fresh)", filepath.Join(opts.Dir, genesisFile), err)
	}
	if g := p.GenesisHash().String(); g != s.Genesis {
		return nil, fmt.Errorf("%s has genesis %s but %s says %s: the directory was changed by hand (start over with -fresh)",
			genesisFile, g, configFile, s.Genesis)
	}
	miners := s.Miners
	if opts.Miners != 0 {
		miners = opts.Miners
	}
	if miners > s.Nodes {
		return nil, fmt.Errorf("-miners %d is more than the %d nodes", miners, s.Nodes)
	}
	tn := &Testnet{Dir: opts.Dir, Params: p, Genesis: p.GenesisHash(), Reused: true, BlockTime: savedBT, Miners: miners}
	if miners != s.Miners {
		s.Miners = miners
		if err := s.write(opts.Dir); err != nil {
			return nil, err
		}
	}
	tn.Nodes = makeNodes(opts.Dir, s.Nodes, miners)
	return tn, nil
}

// MismatchError says that the flags disagree with the testnet saved in
// Dir.
type MismatchError struct {
	Dir   string
	Diffs []string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("the testnet in %s was made with other settings: %s; run without those flags to continue it, or add -fresh to wipe it and start a new chain",
		e.Dir, strings.Join(e.Diffs, ", "))
}

// create makes a new testnet in opts.Dir (missing or empty).
func create(opts Options) (*Testnet, error) {
	if opts.Nodes == 0 {
		opts.Nodes = DefaultNodes
	}
	if opts.Miners == 0 {
		opts.Miners = min(DefaultMiners, opts.Nodes)
	}
	if opts.BlockTime == 0 {
		opts.BlockTime = DefaultBlockTime
	}
	if opts.HashRate == 0 {
		opts.HashRate = hashRatePerThread
	}
	if opts.Miners > opts.Nodes {
		return nil, fmt.Errorf("-miners %d is more than -nodes %d", opts.Miners, opts.Nodes)
	}
	if opts.BlockTime < 100*time.Millisecond || opts.BlockTime%time.Millisecond != 0 {
		return nil, fmt.Errorf("-block-time %s: want a whole number of milliseconds, at least 100ms", opts.BlockTime)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	store, err := wallet.NewStore(filepath.Join(opts.Dir, walletsDir, "wallet"))
	if err != nil {
		return nil, err
	}
	var alloc []consensus.Alloc
	for _, name := range Funded {
		a, err := ensureWallet(store, name)
		if err != nil {
			return nil, err
		}
		alloc = append(alloc, consensus.Alloc{Address: a, Amount: GenesisFunds})
	}
	p, err := localproc.GenesisSpec(NetworkName, time.Now(), opts.BlockTime, hashRate(opts), alloc).Params()
	if err != nil {
		return nil, fmt.Errorf("testnet %w", err) // "testnet genesis: …"
	}
	gj, err := p.MarshalGenesis()
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(opts.Dir, genesisFile), gj, 0o644); err != nil {
		return nil, err
	}
	s := &savedConfig{
		Version:   savedVersion,
		Nodes:     opts.Nodes,
		Miners:    opts.Miners,
		BlockTime: opts.BlockTime.String(),
		Network:   p.Network,
		Genesis:   p.GenesisHash().String(),
		Created:   time.Now().UTC().Truncate(time.Second),
	}
	// testnet.json last: a directory without it is an interrupted setup,
	// which the next run reports rather than half-reuses.
	if err := s.write(opts.Dir); err != nil {
		return nil, err
	}
	return &Testnet{
		Dir: opts.Dir, Params: p, Genesis: p.GenesisHash(), BlockTime: opts.BlockTime, Miners: opts.Miners,
		Nodes: makeNodes(opts.Dir, opts.Nodes, opts.Miners),
	}, nil
}

// hashRate is the miners' assumed hash rate, which sets the genesis
// difficulty: at most one busy thread per CPU.
func hashRate(opts Options) float64 {
	threads := min(opts.Miners, runtime.NumCPU())
	return opts.HashRate * float64(threads)
}

// ensureWallet returns the address of the wallet name, creating it with
// the testnet passphrase if it does not exist.
func ensureWallet(store *wallet.Store, name string) (types.Address, error) {
	a, err := store.Address(name)
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, wallet.ErrNotFound) {
		return types.Address{}, err
	}
	k, err := wallet.GenerateKey()
	if err != nil {
		return types.Address{}, err
	}
	if err := store.Create(name, k, []byte(Passphrase), walletKDF); err != nil {
		return types.Address{}, err
	}
	return k.Address(), nil
}

// makeNodes lays out n nodes under dir, the first miners of them mining.
func makeNodes(dir string, n, miners int) []*Node {
	nodes := make([]*Node, n)
	for i := range nodes {
		name := fmt.Sprintf("node%d", i+1)
		nd := &Node{
			Index:   i,
			Name:    name,
			DataDir: filepath.Join(dir, name),
			Mining:  i < miners,
		}
		if nd.Mining {
			nd.MinerWallet = fmt.Sprintf("miner%d", i+1)
		}
		nodes[i] = nd
	}
	return nodes
}

// prepareNodes makes each node's directory and identity key, the miners'
// wallets (miner1, miner2…), and reads every wallet's address.
func (tn *Testnet) prepareNodes() error {
	store, err := wallet.NewStore(filepath.Join(tn.WalletHome(), "wallet"))
	if err != nil {
		return err
	}
	for _, nd := range tn.Nodes {
		if err := os.MkdirAll(nd.DataDir, 0o700); err != nil {
			return err
		}
		id, err := p2p.KeyFilePeerID(filepath.Join(nd.DataDir, keyFile))
		if err != nil {
			return fmt.Errorf("%s: %w", nd.Name, err)
		}
		nd.PeerID = id
		if nd.Mining {
			if nd.MinerAddr, err = ensureWallet(store, nd.MinerWallet); err != nil {
				return err
			}
		}
	}
	entries, err := store.List()
	if err != nil {
		return err
	}
	tn.Wallets = make(map[string]types.Address, len(entries))
	for _, e := range entries {
		if e.Err == nil {
			tn.Wallets[e.Name] = e.Address
		}
	}
	for _, name := range Funded {
		if _, ok := tn.Wallets[name]; !ok {
			return fmt.Errorf("wallet %s is missing from %s (start over with -fresh)", name, store.Dir)
		}
	}
	return nil
}

// writeFileAtomic writes b to path through a temporary file and a rename.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
