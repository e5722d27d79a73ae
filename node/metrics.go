package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairn-ledger/cairn/p2p"
)

// metrics are one node's Prometheus metrics (every cairn_* name is listed
// below with its help text), in a registry of its own so that several
// nodes in one process never share one.
type metrics struct {
	reg     *prometheus.Registry
	importS prometheus.Histogram
	reorgs  prometheus.Counter
	depth   prometheus.Histogram
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
		&counters{each: n.txRecovery, desc: prometheus.NewDesc("cairn_tx_recovery_total",
			"Transaction recovery: reconciliation rounds, txs recovered by mechanism (reconcile, announce, gap), nonce-gap requests sent, ids announced, asks dropped for a full queue.",
			[]string{"what"}, nil)},
		&counters{each: n.gossipVerdicts, desc: prometheus.NewDesc("cairn_gossip_messages_total",
			"Gossip messages from peers by topic and validation verdict (throttled: ignored because the sender had too many being validated; also counted in ignored).",
			[]string{"topic", "verdict"}, nil)},
		&counters{each: n.gossipDrops, desc: prometheus.NewDesc("cairn_gossip_dropped_total",
			"Gossip messages dropped or throttled, by topic and cause (p2p.DropCauses): outbound_queue_full (not sent to one peer; per message and peer), "+
				"validation_queue_full, validation_throttled and peer_budget (lost before validation), validator_ignored, validator_rejected, "+
				"pubsub_rejected, undeliverable, duplicate.",
			[]string{"topic", "cause"}, nil)},
	)
	return m
}

// counters is a Prometheus collector of a family of counters with labels,
// read from the node at each scrape: each calls emit once per counter.
type counters struct {
	desc *prometheus.Desc
	each func(emit func(v uint64, labels ...string))
}

func (c *counters) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *counters) Collect(ch chan<- prometheus.Metric) {
	c.each(func(v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(v), labels...)
	})
}

// gossipDrops emits the p2p layer's counts of dropped gossip messages;
// every topic and cause is exported, zeros included.
func (n *Node) gossipDrops(emit func(uint64, ...string)) {
	if n.net == nil {
		for _, t := range p2p.DropTopics {
			for _, cause := range p2p.DropCauses {
				emit(0, t, cause)
			}
		}
		return
	}
	for _, d := range n.net.GossipDrops() {
		emit(d.Count, d.Topic, d.Cause)
	}
}

// txRecovery emits the counters of transaction recovery.
func (n *Node) txRecovery(emit func(uint64, ...string)) {
	var s p2p.TxRecoveryStats
	if n.net != nil {
		s = n.net.TxRecoveryStats()
	}
	emit(s.Rounds, "rounds")
	emit(s.FromReconcile, "recovered_reconcile")
	emit(s.FromAnnounce, "recovered_announce")
	emit(s.FromGap, "recovered_gap")
	emit(s.GapRequests, "gap_requests")
	emit(s.Announced, "announced")
	emit(s.Dropped, "dropped")
}

// gossipVerdicts emits the p2p layer's gossip counters by verdict.
func (n *Node) gossipVerdicts(emit func(uint64, ...string)) {
	var s p2p.GossipStats
	if n.net != nil {
		s = n.net.GossipStats()
	}
	for _, t := range []struct {
		name string
		st   p2p.TopicStats
	}{{"blocks", s.Blocks}, {"txs", s.Txs}} {
		emit(t.st.Accepted, t.name, "accepted")
		emit(t.st.Rejected, t.name, "rejected")
		emit(t.st.Ignored, t.name, "ignored")
		emit(t.st.Throttled, t.name, "throttled")
	}
}

// metricsServer serves a registry at /metrics over HTTP: a component of
// the node. Its one goroutine, the server's Serve, is joined by Stop, which
// reports the error it ended with unless Stop ended it.
type metricsServer struct {
	addr string
	reg  *prometheus.Registry
	log  *slog.Logger

	ln   net.Listener
	srv  *http.Server
	done chan error // Serve's error, sent once it returns
}

func newMetricsServer(addr string, reg *prometheus.Registry, log *slog.Logger) *metricsServer {
	return &metricsServer{addr: addr, reg: reg, log: log}
}

// Start listens on the configured address and serves until Stop.
func (s *metricsServer) Start(context.Context) error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.ln = ln
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.done = make(chan error, 1)
	srv := s.srv
	go func() {
		err := srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "err", err)
		}
		s.done <- err
	}()
	s.log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	return nil
}

// Stop shuts the server down, giving scrapes in flight stopTimeout, waits
// for Serve to return and reports what went wrong: a shutdown that timed
// out, or Serve having failed on its own.
func (s *metricsServer) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var errs []error
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close() // drop the scrapes still running
		errs = append(errs, fmt.Errorf("shutdown: %w", err))
	}
	if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	return errors.Join(errs...)
}
