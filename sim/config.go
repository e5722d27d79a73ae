// Package sim runs a network of real cairn nodes (node.Node: chain, txpool,
// p2p, gossip, sync) in one process on go-libp2p's mocknet, with a
// bandwidth (mocknet's) and a one-way latency (delayHost's, pipelined; see
// delay.go) on every link, Poisson mining over the miners, a
// load of signed transfers and an optional partition and heal, and
// measures block and transaction propagation against the physical bound
// of the connection graph.
//
// Discovery: the nodes run with p2p.Config.NoDHT (mocknet has no DHT
// peers to find), so each node's connections are the Config.Peers random
// ones it dials at the start, plus the ones others dial to it.
package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config configures a run. Zero values take the defaults of Defaults.
type Config struct {
	// Nodes is how many nodes run.
	Nodes int
	// Peers is how many connections each node dials at start, to random
	// other nodes.
	Peers int
	// LatencyLo and LatencyHi bound the one-way latency of a link, drawn
	// uniformly once per link (equal: fixed).
	LatencyLo, LatencyHi time.Duration
	// Bandwidth is each link's rate in bytes per second.
	Bandwidth float64
	// BlockTime is the mean time between blocks over the whole network.
	BlockTime time.Duration
	// Miners is how many nodes hold hash power (equal shares); 0 = all.
	Miners int
	// TxRate is how many signed transfers are submitted per second.
	TxRate float64
	// Duration is the run length (real time).
	Duration time.Duration
	// PartitionPct, if non-zero, cuts that percentage of the nodes off from
	// the rest at PartitionAt (default Duration/3) for PartitionFor.
	PartitionPct int
	PartitionFor time.Duration
	PartitionAt  time.Duration
	// Seed makes topology, latencies, miner choice and the tx schedule
	// reproducible.
	Seed uint64
	// Wallets is how many funded wallets send transfers; default 256.
	Wallets int
	// HealWindow is how long after the heal minority txs are given to
	// reach the main chain or the pools; default 10 s.
	HealWindow time.Duration
	// MocknetLatency puts the link latency in mocknet's LinkOptions
	// instead of the sim's pipelined delay (delayHost). mocknet then lets
	// a stream carry only about two messages of 256 bytes or more per
	// latency (TestMocknetStopAndWait); kept to measure that difference.
	MocknetLatency bool
	// Progress, if set, gets a line now and then.
	Progress func(format string, args ...any)
}

// Defaults returns the documented default configuration.
func Defaults() Config {
	return Config{
		Nodes: 100, Peers: 8,
		LatencyLo: 25 * time.Millisecond, LatencyHi: 150 * time.Millisecond,
		Bandwidth: 20e6 / 8, BlockTime: 2 * time.Second, TxRate: 20,
		Duration: 5 * time.Minute, Seed: 1,
	}
}

func (c *Config) setDefaults() {
	if c.Wallets == 0 {
		c.Wallets = 256
	}
	if c.HealWindow == 0 {
		c.HealWindow = 10 * time.Second
	}
	if c.PartitionPct > 0 && c.PartitionAt == 0 {
		c.PartitionAt = c.Duration / 3
	}
}

// Validate reports the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Nodes < 2:
		return fmt.Errorf("-nodes %d: need at least 2 nodes", c.Nodes)
	case c.Peers < 1:
		return fmt.Errorf("-peers %d: need at least 1", c.Peers)
	case c.LatencyLo < 0 || c.LatencyHi < c.LatencyLo:
		return fmt.Errorf("-latency %v-%v: need 0 <= LO <= HI", c.LatencyLo, c.LatencyHi)
	case c.Bandwidth <= 0:
		return fmt.Errorf("-bandwidth: must be positive")
	case c.BlockTime <= 0:
		return fmt.Errorf("-block-time %v: must be positive", c.BlockTime)
	case c.Miners < 0 || c.Miners > c.Nodes:
		return fmt.Errorf("-miners %d: need 1..%d (or 0 for all)", c.Miners, c.Nodes)
	case c.TxRate < 0:
		return fmt.Errorf("-tx-rate %v: must not be negative", c.TxRate)
	case c.Duration <= 0:
		return fmt.Errorf("-duration %v: must be positive", c.Duration)
	case c.PartitionPct < 0 || c.PartitionPct >= 100:
		return fmt.Errorf("-partition %d%%: need 1..99", c.PartitionPct)
	case c.PartitionPct > 0 && c.PartitionFor <= 0:
		return fmt.Errorf("-partition: duration must be positive")
	case c.PartitionPct > 0 && (c.PartitionPct*c.Nodes+50)/100 < 1:
		return fmt.Errorf("-partition %d%% of %d nodes cuts off no node", c.PartitionPct, c.Nodes)
	case c.PartitionPct > 0 && (c.PartitionPct*c.Nodes+50)/100 >= c.Nodes:
		return fmt.Errorf("-partition %d%% of %d nodes leaves no node on the other side", c.PartitionPct, c.Nodes)
	}
	return nil
}

// ParseLatency parses "D" (fixed) or "LO-HI".
func ParseLatency(s string) (lo, hi time.Duration, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = time.ParseDuration(a); err != nil {
		return 0, 0, fmt.Errorf("-latency %q: %v", s, err)
	}
	hi = lo
	if isRange {
		if hi, err = time.ParseDuration(b); err != nil {
			return 0, 0, fmt.Errorf("-latency %q: %v", s, err)
		}
	}
	if lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("-latency %q: need 0 <= LO <= HI", s)
	}
	return lo, hi, nil
}

// ParseBandwidth parses a rate such as "20Mbit", "512kbit", "1Gbit",
// "100000bit" or "2MB" (bytes) into bytes per second.
func ParseBandwidth(s string) (float64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"Gbit", 1e9 / 8}, {"Mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"Kbit", 1e3 / 8}, {"bit", 1.0 / 8},
		{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("-bandwidth %q: want a positive number and a unit (e.g. 20Mbit)", s)
			}
			return v * u.mult, nil
		}
	}
	return 0, fmt.Errorf("-bandwidth %q: want a unit: bit, kbit, Mbit, Gbit, B, KB, MB, GB", s)
}

// ParsePartition parses "P:D": P percent of the nodes cut off for D.
func ParsePartition(s string) (pct int, d time.Duration, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, errors.New("-partition " + strconv.Quote(s) + ": want P:D, e.g. 40:60s")
	}
	if pct, err = strconv.Atoi(a); err != nil || pct < 1 || pct > 99 {
		return 0, 0, fmt.Errorf("-partition %q: percentage must be 1..99", s)
	}
	if d, err = time.ParseDuration(b); err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("-partition %q: duration must be positive", s)
	}
	return pct, d, nil
}
