package rpc

import (
	"context"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
)

// This file is the contract between the server, the typed client and the
// node that backs them: the JSON shapes of every result and the Backend
// the server reads from. Hashes and tx ids are lowercase hex, addresses
// bech32, amounts decimal strings of base units (1 CRN = 10^8), work a
// decimal string, heights and nonces JSON numbers.

// Application error codes (JSON-RPC 2.0 leaves -32000..-32099 to the
// server). Data carries the reason as {"reason": "..."}.
const (
	CodeTxRejected   = -32000 // txpool refused the tx; data.reason is the txpool reason name
	CodeNotFound     = -32001 // block, header or tx unknown; data.reason "not-found"
	CodeUnauthorized = -32002 // admin method without the cookie token; data.reason "unauthorized"
	CodeUnavailable  = -32003 // the node cannot do it now (no network, miner without address…)
	CodeTimeout      = -32004 // per-request time limit passed
)

// Head is the result of chain_getHead.
type Head struct {
	Hash      string `json:"hash"`
	Height    uint64 `json:"height"`
	Work      string `json:"work"`
	Time      int64  `json:"time"` // unix ms
	Bits      string `json:"bits"` // 8 hex digits
	StateRoot string `json:"stateRoot"`
}

// Header is the result of chain_getHeader and the header part of a Block.
type Header struct {
	Hash          string `json:"hash"`
	Version       uint32 `json:"version"`
	Height        uint64 `json:"height"`
	Parent        string `json:"parent"`
	TxRoot        string `json:"txRoot"`
	StateRoot     string `json:"stateRoot"`
	Miner         string `json:"miner"`
	Time          int64  `json:"time"`
	Bits          string `json:"bits"`
	Nonce         string `json:"nonce"` // decimal (uint64 does not fit a JSON double)
	Work          string `json:"work"`  // cumulative work up to this header
	MainChain     bool   `json:"mainChain"`
	Confirmations uint64 `json:"confirmations"` // 0 when not on the main chain
}

// Block is the result of chain_getBlock: the header, the size and either
// the tx ids (TxIDs) or the full txs (Txs), as asked.
type Block struct {
	Header
	Size    int      `json:"size"`
	TxCount int      `json:"txCount"`
	TxIDs   []string `json:"txIds,omitempty"`
	Txs     []*Tx    `json:"txs,omitempty"`
}

// Tx is a transaction; Status and the location fields only in
// chain_getTransaction and Block.Txs.
type Tx struct {
	ID      string `json:"id"`
	Version uint8  `json:"version"`
	From    string `json:"from"`   // sender address
	PubKey  string `json:"pubKey"` // sender ed25519 key, hex
	To      string `json:"to"`
	Amount  string `json:"amount"`
	Fee     string `json:"fee"`
	Nonce   uint64 `json:"nonce"`
	Memo    string `json:"memo"` // hex
	Sig     string `json:"sig"`
	Size    int    `json:"size"`
	// Status is "pending" (in the pool) or "confirmed" (on the main chain).
	Status        string `json:"status,omitempty"`
	BlockHash     string `json:"blockHash,omitempty"`
	Height        uint64 `json:"height,omitempty"`
	Index         int    `json:"index,omitempty"` // written even when 0 if confirmed (Tx.MarshalJSON)
	Confirmations uint64 `json:"confirmations,omitempty"`
	Raw           string `json:"raw,omitempty"` // hex of the encoding, chain_getTransaction only
}

// ChainTip is one branch tip of the block tree (chain_getTips).
type ChainTip struct {
	Height uint64 `json:"height"`
	Hash   string `json:"hash"`
	// BranchLen is the number of blocks from the fork point with the
	// main chain to this tip (0 for the active tip).
	BranchLen uint64 `json:"branchLen"`
	// Status is "active", "valid-fork", "valid-headers", "headers-only"
	// or "invalid", as Bitcoin Core's getchaintips.
	Status string `json:"status"`
}

// HistoryEntry is one event of an address's history (state_getHistory):
// a tx it sent, received or sent to itself, pending or confirmed, the
// reward of a block it mined, or its genesis allocation.
type HistoryEntry struct {
	// Direction is "sent", "received", "self", "mined" or "genesis".
	Direction    string `json:"direction"`
	ID           string `json:"id,omitempty"`           // the tx id; none for mined and genesis
	Counterparty string `json:"counterparty,omitempty"` // the other address of a tx
	Amount       string `json:"amount"`                 // transferred or credited, base units
	Fee          string `json:"fee"`                    // the tx's fee, base units ("0" for mined and genesis)
	Nonce        uint64 `json:"nonce"`                  // the tx's nonce (0 for mined and genesis)
	// Pending: in the pool, not yet in a block (Height and Confirmations 0).
	Pending       bool   `json:"pending"`
	Height        uint64 `json:"height"`
	BlockHash     string `json:"blockHash,omitempty"`
	Confirmations uint64 `json:"confirmations"`
}

// History is the result of state_getHistory. Next, if not empty, is the
// cursor of the following page.
type History struct {
	Address string         `json:"address"`
	Entries []HistoryEntry `json:"entries"`
	Next    string         `json:"next,omitempty"`
}

// HistoryOptions are state_getHistory's second param.
type HistoryOptions struct {
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// Account is the result of state_getAccount. PendingNonce counts the
// sender's pooled txs: the nonce its next tx should use.
type Account struct {
	Address      string `json:"address"`
	Balance      string `json:"balance"`
	Nonce        uint64 `json:"nonce"`
	PendingNonce uint64 `json:"pendingNonce"`
}

// SendResult is the result of tx_send.
type SendResult struct {
	ID string `json:"id"`
}

// PoolStatus is the result of txpool_status.
type PoolStatus struct {
	Pending int `json:"pending"`
	Queued  int `json:"queued"`
	Bytes   int `json:"bytes"`
}

// PoolSender is one sender in txpool_content.
type PoolSender struct {
	Sender  string `json:"sender"`
	Pending []*Tx  `json:"pending"`
	Queued  []*Tx  `json:"queued"`
}

// PoolContent is the result of txpool_content.
type PoolContent struct {
	Senders []PoolSender `json:"senders"`
}

// NetInfo is the result of net_info.
type NetInfo struct {
	Enabled   bool         `json:"enabled"` // false when the node runs without a network
	ID        string       `json:"id"`
	Addrs     []string     `json:"addrs"` // listen multiaddrs, each ending /p2p/<id>
	Peers     int          `json:"peers"`
	Sync      SyncInfo     `json:"sync"`
	Gossip    GossipCounts `json:"gossip"`
	BlockMesh int          `json:"blockMeshPeers"`
	TxMesh    int          `json:"txMeshPeers"`
}

// The states of SyncInfo.State.
const (
	SyncNoPeers = "no peers" // no peer of this network connected (or none has answered yet)
	SyncSyncing = "syncing"  // behind the best height a peer claimed, or a sync round runs
	SyncSynced  = "synced"   // a peer has answered, the tip is at the best height any claimed, and the start's read of the database found no damage
	SyncStalled = "stalled"  // behind, and no new tip for a minute: Reason says how far
	// The chain met damage in its database and stores nothing more; the
	// node is stopping. Reason says what is damaged and how to repair it.
	SyncDamaged = "damaged"
	// The chain could not write its database (a full disk, an I/O error)
	// and stores nothing more; the node is stopping. Reason says why.
	SyncStoreFailed = "store failed"
)

// SyncInfo is sync progress (net_info and node_info).
type SyncInfo struct {
	// State is SyncNoPeers, SyncSyncing, SyncSynced, SyncStalled,
	// SyncDamaged or SyncStoreFailed: a node that has heard no peer, or
	// cannot store blocks, never says it is synced.
	State string `json:"state"`
	// Reason explains a stalled, damaged or failed state; EtaS is, while syncing, the
	// seconds left at the rate of the last minute (0: not known yet).
	Reason       string  `json:"reason,omitempty"`
	EtaS         float64 `json:"etaS,omitempty"`
	Syncing      bool    `json:"syncing"`
	Height       uint64  `json:"height"`       // our tip
	TargetHeight uint64  `json:"targetHeight"` // best height claimed by peers (or our best header)
	Progress     float64 `json:"progress"`     // 0..1
}

// GossipCounts counts gossip messages by verdict.
type GossipCounts struct {
	BlocksAccepted uint64 `json:"blocksAccepted"`
	BlocksRejected uint64 `json:"blocksRejected"`
	BlocksIgnored  uint64 `json:"blocksIgnored"`
	TxsAccepted    uint64 `json:"txsAccepted"`
	TxsRejected    uint64 `json:"txsRejected"`
	TxsIgnored     uint64 `json:"txsIgnored"`
}

// Peer is one entry of net_peers.
type Peer struct {
	ID        string  `json:"id"`
	Addr      string  `json:"addr"`
	Direction string  `json:"direction"` // "inbound" or "outbound"
	Score     float64 `json:"score"`
	Height    *uint64 `json:"height"` // null when unknown
}

// MinerStatus is the result of miner_status (and of miner_start/stop).
type MinerStatus struct {
	Running     bool    `json:"running"`
	Threads     int     `json:"threads"`
	Address     string  `json:"address"`  // "" when none is set
	HashRate    float64 `json:"hashRate"` // hashes/s, over the last few seconds
	Hashes      uint64  `json:"hashes"`   // since start
	BlocksMined uint64  `json:"blocksMined"`
}

// NodeInfo is the result of node_info.
type NodeInfo struct {
	Version  string   `json:"version"`
	Network  string   `json:"network"` // network id (genesis-derived name)
	Genesis  string   `json:"genesis"` // genesis block hash
	Height   uint64   `json:"height"`
	Tip      string   `json:"tip"`
	Sync     SyncInfo `json:"sync"`
	Peers    int      `json:"peers"`
	Mining   bool     `json:"mining"`
	UptimeMs int64    `json:"uptimeMs"`
}

// MinerStartParams are miner_start's params; zero values keep the
// node's configured threads and address.
type MinerStartParams struct {
	Threads int    `json:"threads,omitempty"`
	Address string `json:"address,omitempty"`
}

// Backend is what the server reads from and acts on; node implements it.
// Every method is safe for concurrent use. Lookups of unknown things
// return an error wrapping chain.ErrNotFound.
type Backend interface {
	Tip() chain.Tip
	Header(h types.Hash) (chain.HeaderInfo, error)
	HeaderByHeight(height uint64) (chain.HeaderInfo, error)
	// Tips lists every branch tip (chain.Chain.Tips).
	Tips() []chain.BranchTip
	Block(h types.Hash) (*types.Block, error)
	TxLocation(id types.Hash) (chain.TxLocation, error)
	Account(addr types.Address) (chain.Account, error)
	// History pages addr's main-chain history (chain.Chain.History).
	History(addr types.Address, before *chain.HistoryCursor, limit int) ([]chain.HistoryEntry, bool, error)
	Genesis() types.Hash

	// PoolTx returns a pooled tx.
	PoolTx(id types.Hash) (*types.Tx, bool)
	// PoolTouching returns the pooled txs from or to addr
	// (txpool.Pool.Touching).
	PoolTouching(addr types.Address) []*types.Tx
	PoolStatus() PoolStatus
	PoolContent() PoolContent
	// NextNonce is the nonce the sender's next tx should carry, counting
	// its pooled txs.
	NextNonce(addr types.Address) uint64
	// SubmitTx admits a tx to the pool and relays it; a tx the pool holds
	// already is not refused but announced again, and its id returned. A
	// refusal is an error with a method RejectReason() string
	// (txpool.RejectError).
	SubmitTx(tx *types.Tx) (types.Hash, error)

	NetInfo() NetInfo
	Peers() []Peer
	// Connect dials a multiaddr (ending /p2p/<id>); Ban and Unban take a
	// peer id. Admin.
	Connect(ctx context.Context, addr string) error
	Ban(id string) error
	Unban(id string) error

	MinerStatus() MinerStatus
	// MinerStart starts (or restarts with new settings) the miner. Admin.
	MinerStart(p MinerStartParams) (MinerStatus, error)
	// MinerStop stops the miner; stopping a stopped miner is not an error.
	MinerStop() MinerStatus

	NodeInfo() NodeInfo
}
