package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairn-ledger/cairn/p2p"
)

// metrics are one node's Prometheus metrics (DESIGN.md §13), in a registry
// of its own so that several nodes in one process never share one.
type metrics struct {
	reg     *prometheus.Registry
	importS prometheus.Histogram
	reorgs  prometheus.Counter
	depth   prometheus.Histogram
	srv     *http.Server
	ln      net.Listener
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.importS = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "cairn_block_import_seconds",
		Help:    "Time to validate, apply and commit one block (gossip, sync or mined).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
	})
	m.reorgs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cairn_reorgs_total", Help: "Reorganisations of the main chain (blocks disconnected).",
	})
	m.depth = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "cairn_reorg_depth_blocks", Help: "Blocks disconnected by each reorganisation.",
		Buckets: []float64{1, 2, 3, 5, 10, 20, 50, 100, 1000},
	})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.importS, m.reorgs, m.depth,
		gauge("cairn_chain_height", "Height of the main chain's tip.", func() float64 {
			return float64(n.chain.Tip().Height)
		}),
		gauge("cairn_chain_work", "Cumulative proof of work of the main chain (expected hashes).", func() float64 {
			f, _ := n.chain.Tip().Work.Float64()
			return f
		}),
		gauge("cairn_best_header_height", "Height of the best known header (sync target).", func() float64 {
			return float64(n.chain.BestHeader().Header.Height)
		}),
		gauge("cairn_txpool_txs", "Transactions in the pool (pending and queued).", func() float64 {
			s := n.pool.Status()
			return float64(s.Pending + s.Queued)
		}),
		gauge("cairn_txpool_bytes", "Encoded bytes of the pooled transactions.", func() float64 {
			return float64(n.pool.Status().Bytes)
		}),
		gauge("cairn_p2p_peers", "Connected peers.", func() float64 {
			if n.net == nil {
				return 0
			}
			return float64(len(n.net.Peers()))
		}),
		gauge("cairn_miner_hashrate", "Miner hashes per second.", func() float64 {
			return n.miner.State().HashRate
		}),
		gauge("cairn_chain_headers", "Headers in the chain's index (with or without their block).", func() float64 {
			return float64(n.chain.HeaderCount())
		}),
		gauge("cairn_chain_orphans", "Blocks held in the orphan pool.", func() float64 {
			return float64(n.chain.OrphanCount())
		}),
		gauge("cairn_chain_lock_max_hold_seconds", "Longest hold of the chain's write lock since the last scrape.", func() float64 {
			return n.chain.MaxLockHold(true).Seconds()
		}),
		&txRecoveryCollector{n: n, desc: prometheus.NewDesc("cairn_tx_recovery_total",
			"Transaction recovery: reconciliation rounds, txs recovered by mechanism (reconcile, announce, gap), nonce-gap requests sent, ids announced, asks dropped for a full queue.",
			[]string{"what"}, nil)},
		&gossipCollector{n: n, desc: prometheus.NewDesc("cairn_gossip_messages_total",
			"Gossip messages from peers by topic and validation verdict (throttled: ignored because the sender had too many being validated; also counted in ignored).",
			[]string{"topic", "verdict"}, nil)},
		&gossipDropCollector{n: n, desc: prometheus.NewDesc("cairn_gossip_dropped_total",
			"Gossip messages dropped or throttled, by topic and cause (p2p.DropCauses): outbound_queue_full (not sent to one peer; per message and peer), "+
				"validation_queue_full, validation_throttled and peer_budget (lost before validation), validator_ignored, validator_rejected, "+
				"pubsub_rejected, undeliverable, duplicate.",
			[]string{"topic", "cause"}, nil)},
	)
	return m
}

// gossipDropCollector exports the p2p layer's counts of dropped gossip
// messages; every topic and cause is exported, zeros included.
type gossipDropCollector struct {
	n    *Node
	desc *prometheus.Desc
}

func (c *gossipDropCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *gossipDropCollector) Collect(ch chan<- prometheus.Metric) {
	var drops []p2p.GossipDrop
	if c.n.net != nil {
		drops = c.n.net.GossipDrops()
	} else {
		for _, t := range p2p.DropTopics {
			for _, cause := range p2p.DropCauses {
				drops = append(drops, p2p.GossipDrop{Topic: t, Cause: cause})
			}
		}
	}
	for _, d := range drops {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(d.Count), d.Topic, d.Cause)
	}
}

// txRecoveryCollector exports the counters of transaction recovery.
type txRecoveryCollector struct {
	n    *Node
	desc *prometheus.Desc
}

func (c *txRecoveryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *txRecoveryCollector) Collect(ch chan<- prometheus.Metric) {
	var s p2p.TxRecoveryStats
	if c.n.net != nil {
		s = c.n.net.TxRecoveryStats()
	}
	for _, v := range []struct {
		what string
		n    uint64
	}{{"rounds", s.Rounds}, {"recovered_reconcile", s.FromReconcile}, {"recovered_announce", s.FromAnnounce},
		{"recovered_gap", s.FromGap}, {"gap_requests", s.GapRequests}, {"announced", s.Announced}, {"dropped", s.Dropped}} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(v.n), v.what)
	}
}

// gossipCollector exports the p2p layer's gossip counters.
type gossipCollector struct {
	n    *Node
	desc *prometheus.Desc
}

func (c *gossipCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *gossipCollector) Collect(ch chan<- prometheus.Metric) {
	var s p2p.GossipStats
	if c.n.net != nil {
		s = c.n.net.GossipStats()
	}
	for _, t := range []struct {
		name string
		st   p2p.TopicStats
	}{{"blocks", s.Blocks}, {"txs", s.Txs}} {
		for _, v := range []struct {
			verdict string
			n       uint64
		}{{"accepted", t.st.Accepted}, {"rejected", t.st.Rejected}, {"ignored", t.st.Ignored}, {"throttled", t.st.Throttled}} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(v.n), t.name, v.verdict)
		}
	}
}

// serve starts the HTTP server for /metrics on addr.
func (m *metrics) serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	m.ln = ln
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go m.srv.Serve(ln) // returns ErrServerClosed at close

	return nil
}

func (m *metrics) close(ctx context.Context) error {
	if m.srv == nil {
		return nil
	}
	return m.srv.Shutdown(ctx)
}
