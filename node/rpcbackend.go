package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/rpc"
)

// rpcBackend adapts a Node to rpc.Backend.
type rpcBackend Node

var _ rpc.Backend = (*rpcBackend)(nil)

func (b *rpcBackend) node() *Node { return (*Node)(b) }

func (b *rpcBackend) Tip() chain.Tip                                { return b.chain.Tip() }
func (b *rpcBackend) Header(h types.Hash) (chain.HeaderInfo, error) { return b.chain.Header(h) }
func (b *rpcBackend) HeaderByHeight(height uint64) (chain.HeaderInfo, error) {
	return b.chain.HeaderByHeight(height)
}
func (b *rpcBackend) Block(h types.Hash) (*types.Block, error) { return b.chain.Block(h) }
func (b *rpcBackend) TxLocation(id types.Hash) (chain.TxLocation, error) {
	return b.chain.TxLocation(id)
}
func (b *rpcBackend) Account(a types.Address) (chain.Account, error) { return b.chain.Account(a) }
func (b *rpcBackend) Genesis() types.Hash                            { return b.cfg.Params.GenesisHash() }
func (b *rpcBackend) PoolTx(id types.Hash) (*types.Tx, bool)         { return b.pool.Get(id) }
func (b *rpcBackend) PoolTouching(a types.Address) []*types.Tx       { return b.pool.Touching(a) }
func (b *rpcBackend) Tips() []chain.BranchTip                        { return b.chain.Tips() }
func (b *rpcBackend) History(a types.Address, before *chain.HistoryCursor, limit int) ([]chain.HistoryEntry, bool, error) {
	return b.chain.History(a, before, limit)
}

func (b *rpcBackend) PoolStatus() rpc.PoolStatus {
	s := b.pool.Status()
	return rpc.PoolStatus{Pending: s.Pending, Queued: s.Queued, Bytes: s.Bytes}
}

func (b *rpcBackend) PoolContent() rpc.PoolContent {
	var out rpc.PoolContent // the server turns nil lists into []
	for _, s := range b.pool.Content() {
		out.Senders = append(out.Senders, rpc.PoolSender{
			Sender: s.Sender.String(), Pending: txsJSON(s.Pending), Queued: txsJSON(s.Queued),
		})
	}
	return out
}

func txsJSON(txs []*types.Tx) []*rpc.Tx {
	out := make([]*rpc.Tx, len(txs))
	for i, tx := range txs {
		out[i] = rpc.NewTx(tx)
	}
	return out
}

func (b *rpcBackend) NextNonce(a types.Address) uint64 {
	if n, err := b.pool.NextNonce(a); err == nil {
		return n
	}
	acc, _ := b.chain.Account(a)
	return acc.Nonce
}

func (b *rpcBackend) SubmitTx(tx *types.Tx) (types.Hash, error) { return b.node().SubmitTx(tx) }

func (b *rpcBackend) syncInfo() rpc.SyncInfo {
	tip := b.chain.Tip()
	s := rpc.SyncInfo{State: rpc.SyncNoPeers, Height: tip.Height, TargetHeight: b.chain.BestHeader().Header.Height}
	if b.net != nil {
		st := b.net.SyncStatus()
		s.Syncing = st.Syncing
		s.TargetHeight = max(s.TargetHeight, st.TargetHeight, st.BestPeerHeight)
		switch {
		case st.PeersHeard == 0:
		case st.Syncing || tip.Height < s.TargetHeight:
			s.State = rpc.SyncSyncing
		case !b.scanned.Load():
			// At the tip, but the start's read of the database has not
			// yet found it sound.
			s.State, s.Reason = rpc.SyncSyncing, "reading the chain database for damage"
		default:
			s.State = rpc.SyncSynced
		}
	}
	if s.TargetHeight < s.Height {
		s.TargetHeight = s.Height
	}
	s.Progress = 1
	if s.TargetHeight > 0 {
		s.Progress = float64(s.Height) / float64(s.TargetHeight)
	}
	if err := b.chain.Fault(); err != nil {
		s.State, s.Reason = rpc.SyncStoreFailed, err.Error()
		if errors.Is(err, chain.ErrCorrupt) {
			s.State, s.Reason = rpc.SyncDamaged, err.Error()+"; stop the node and run cairnd reindex"
		}
		return s
	}
	return b.progress.judge(s, time.Now())
}

func (b *rpcBackend) NetInfo() rpc.NetInfo {
	info := rpc.NetInfo{Sync: b.syncInfo()}
	if b.net == nil {
		return info
	}
	info.Enabled = true
	info.ID = b.net.ID().String()
	info.Addrs = b.net.Addrs()
	info.Peers = len(b.net.Peers())
	g := b.net.GossipStats()
	info.Gossip = rpc.GossipCounts{
		BlocksAccepted: g.Blocks.Accepted, BlocksRejected: g.Blocks.Rejected, BlocksIgnored: g.Blocks.Ignored,
		TxsAccepted: g.Txs.Accepted, TxsRejected: g.Txs.Rejected, TxsIgnored: g.Txs.Ignored,
	}
	info.BlockMesh, info.TxMesh = g.Blocks.Peers, g.Txs.Peers
	return info
}

func (b *rpcBackend) Peers() []rpc.Peer {
	var out []rpc.Peer
	if b.net == nil {
		return out
	}
	for _, p := range b.net.Peers() {
		rp := rpc.Peer{ID: p.ID.String(), Addr: p.Addr, Direction: p.Direction, Score: p.Score}
		if p.HeightKnown {
			h := p.Height
			rp.Height = &h
		}
		out = append(out, rp)
	}
	return out
}

var errNoNetwork = fmt.Errorf("%w: the node runs without a network", rpc.ErrUnavailable)

func (b *rpcBackend) Connect(ctx context.Context, addr string) error {
	if b.net == nil {
		return errNoNetwork
	}
	err := b.net.Connect(ctx, addr)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, p2p.ErrBadPeerAddr):
		return fmt.Errorf("%w: %v", rpc.ErrInvalidArgument, err)
	default:
		return fmt.Errorf("%w: %v", rpc.ErrUnavailable, err)
	}
}

// banDuration is how long net_ban refuses a peer.
const banDuration = 24 * time.Hour

func (b *rpcBackend) Ban(id string) error {
	p, err := b.peerID(id)
	if err != nil {
		return err
	}
	b.net.BanPeer(p, banDuration)
	return nil
}

func (b *rpcBackend) Unban(id string) error {
	p, err := b.peerID(id)
	if err != nil {
		return err
	}
	b.net.UnbanPeer(p)
	return nil
}

func (b *rpcBackend) peerID(id string) (peer.ID, error) {
	if b.net == nil {
		return "", errNoNetwork
	}
	p, err := peer.Decode(id)
	if err != nil {
		return "", fmt.Errorf("%w: peer id %q: %v", rpc.ErrInvalidArgument, id, err)
	}
	return p, nil
}

func minerStatus(s MinerState) rpc.MinerStatus {
	out := rpc.MinerStatus{Running: s.Running, Threads: s.Threads, HashRate: s.HashRate,
		Hashes: s.Hashes, BlocksMined: s.BlocksMined}
	if s.Address != (types.Address{}) {
		out.Address = s.Address.String()
	}
	return out
}

func (b *rpcBackend) MinerStatus() rpc.MinerStatus { return minerStatus(b.miner.State()) }

func (b *rpcBackend) MinerStart(p rpc.MinerStartParams) (rpc.MinerStatus, error) {
	var addr types.Address
	if p.Address != "" {
		a, err := types.ParseAddress(p.Address)
		if err != nil {
			return rpc.MinerStatus{}, fmt.Errorf("%w: address %q: %v", rpc.ErrInvalidArgument, p.Address, err)
		}
		addr = a
	}
	if err := b.miner.Start(p.Threads, addr); errors.Is(err, errNodeNotRunning) {
		return rpc.MinerStatus{}, fmt.Errorf("%w: %v", rpc.ErrUnavailable, err) // starting or stopping
	} else if err != nil {
		return rpc.MinerStatus{}, fmt.Errorf("%w: %v", rpc.ErrInvalidArgument, err) // threads or address
	}
	return b.MinerStatus(), nil
}

func (b *rpcBackend) MinerStop() rpc.MinerStatus {
	b.miner.Stop()
	return b.MinerStatus()
}

func (b *rpcBackend) NodeInfo() rpc.NodeInfo {
	tip := b.chain.Tip()
	info := rpc.NodeInfo{
		Version: b.cfg.Version, Network: b.cfg.Params.Network, Genesis: b.cfg.Params.GenesisHash().String(),
		Height: tip.Height, Tip: tip.Hash.String(), Sync: b.syncInfo(),
		Mining: b.miner.State().Running, UptimeMs: time.Since(b.started).Milliseconds(),
	}
	if b.net != nil {
		info.Peers = len(b.net.Peers())
	}
	return info
}
