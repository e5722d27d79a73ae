package explorer

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/rpc"
)

// maxQuery bounds the search text the explorer reads; longer is nothing
// it knows (an address is 45 characters, a hash 64).
const maxQuery = 128

// blockView is the data of the block page.
type blockView struct {
	Header      rpc.Header
	Block       *rpc.Block // nil: the header is known without its body
	Difficulty  float64
	Fees        uint64
	Interval    int64 // ms since the parent
	HasInterval bool
	Next        string // the main-chain child's hash, if any
}

func (v *blockView) title() string { return "block " + strconv.FormatUint(v.Header.Height, 10) }
func (v *blockView) query() string { return v.Header.Hash }

// txView is the data of the tx page.
type txView struct {
	Tx       *rpc.Tx
	MemoText string // the memo as text when it is printable, else ""
}

func (v *txView) title() string { return "tx " + short(v.Tx.ID) }
func (v *txView) query() string { return v.Tx.ID }

// addressView is the data of the address page.
type addressView struct {
	Account rpc.Account
	History *rpc.History
	Cursor  string // the page's cursor ("" for the first)
}

func (v *addressView) title() string { return "address " + short(v.Account.Address) }
func (v *addressView) query() string { return v.Account.Address }

// parseRef reads a block ref: a height (decimal digits) or a hash.
func parseRef(s string) (height uint64, hash types.Hash, byHash bool, ok bool) {
	if isDigits(s) {
		h, err := strconv.ParseUint(s, 10, 64)
		return h, types.Hash{}, false, err == nil
	}
	hash, err := types.ParseHash(s)
	return 0, hash, true, err == nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (e *Explorer) serveBlock(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	height, hash, byHash, ok := parseRef(ref)
	if !ok {
		e.notFound(w, r, ref, "not a block height or a block hash (64 hex digits)")
		return
	}
	var info chain.HeaderInfo
	var err error
	if byHash {
		info, err = e.b.Header(hash)
	} else {
		info, err = e.b.HeaderByHeight(height)
	}
	switch {
	case errors.Is(err, chain.ErrNotFound) && byHash:
		e.notFound(w, r, ref, "no block with this hash")
		return
	case errors.Is(err, chain.ErrNotFound):
		e.notFound(w, r, ref, "no block at this height: the tip is at "+strconv.FormatUint(e.b.Tip().Height, 10))
		return
	case err != nil:
		e.failure(w, r, err)
		return
	}
	tipHeight := e.b.Tip().Height
	v := &blockView{Header: rpc.NewHeader(info, tipHeight), Difficulty: bigFloat(consensus.CalcWork(info.Header.Bits))}
	if info.Header.Height > 0 {
		if parent, err := e.b.Header(info.Header.Parent); err == nil {
			v.Interval, v.HasInterval = info.Header.Time-parent.Header.Time, true
		}
	}
	if info.MainChain {
		if next, err := e.b.HeaderByHeight(info.Header.Height + 1); err == nil && next.Header.Parent == info.Hash {
			v.Next = next.Hash.String()
		}
	}
	blk, err := e.b.Block(info.Hash)
	switch {
	case err == nil:
		v.Block = rpc.NewBlock(info, blk, tipHeight, true)
		for _, tx := range blk.Txs {
			v.Fees += tx.Fee
		}
	case !errors.Is(err, chain.ErrNotFound):
		e.failure(w, r, err)
		return
	}
	e.render(w, r, http.StatusOK, "block", v)
}

func (e *Explorer) serveTx(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("id")
	id, err := types.ParseHash(ref)
	if err != nil {
		e.notFound(w, r, ref, "not a tx id (64 hex digits)")
		return
	}
	tx, err := rpc.LookupTx(e.b, id)
	switch {
	case isNotFound(err):
		e.notFound(w, r, ref, "no tx with this id on the main chain or in the node's pool")
		return
	case err != nil:
		e.failure(w, r, err)
		return
	}
	e.render(w, r, http.StatusOK, "tx", &txView{Tx: tx, MemoText: memoText(tx.Memo)})
}

func (e *Explorer) serveAddress(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("addr")
	addr, err := types.ParseAddress(ref)
	if err != nil {
		e.notFound(w, r, ref, "not a cairn address: "+strings.TrimPrefix(err.Error(), types.ErrBadAddress.Error()+" "))
		return
	}
	cursor := r.URL.Query().Get("cursor")
	hist, err := rpc.AddressHistory(e.b, addr, rpc.HistoryOptions{Cursor: cursor, Limit: historyPage})
	var re *rpc.Error
	switch {
	case errors.As(err, &re) && re.Code == rpc.CodeInvalidParams:
		e.render(w, r, http.StatusBadRequest, "notfound", &notFoundView{What: cursor,
			Why: "not a page of this address's history (the cursor is one the explorer's own links carry)"})
		return
	case err != nil:
		e.failure(w, r, err)
		return
	}
	acc, err := e.b.Account(addr)
	if err != nil {
		e.failure(w, r, err)
		return
	}
	v := &addressView{
		Account: rpc.Account{Address: addr.String(), Balance: strconv.FormatUint(acc.Balance, 10),
			Nonce: acc.Nonce, PendingNonce: e.b.NextNonce(addr)},
		History: hist,
		Cursor:  cursor,
	}
	e.render(w, r, http.StatusOK, "address", v)
}

func isNotFound(err error) bool {
	var re *rpc.Error
	return errors.Is(err, chain.ErrNotFound) || errors.As(err, &re) && re.Code == rpc.CodeNotFound
}

// serveSearch sends a height, a block hash, a tx id or an address to its
// page (303), and answers anything else with the not-found page (404).
func (e *Explorer) serveSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	target, why, err := e.resolve(q)
	switch {
	case err != nil:
		e.failure(w, r, err)
	case target != "":
		http.Redirect(w, r, e.cfg.Prefix+target, http.StatusSeeOther)
	default:
		e.notFound(w, r, shorten(q), why)
	}
}

// shorten cuts a query longer than maxQuery on a character boundary,
// marking the cut.
func shorten(q string) string {
	if len(q) <= maxQuery {
		return q
	}
	n := maxQuery
	for n > 0 && !utf8.RuneStart(q[n]) {
		n--
	}
	return q[:n] + "…"
}

// resolve finds what q names: the path of its page under the prefix, or
// why nothing matches; err is a failed read of the node's data.
func (e *Explorer) resolve(q string) (target, why string, err error) {
	switch {
	case q == "":
		return "", "type a block height, a block hash, a tx id or an address", nil
	case len(q) > maxQuery:
		return "", "too long to be a height, a hash or an address", nil
	}
	if h := strings.TrimPrefix(q, "#"); isDigits(h) {
		height, perr := strconv.ParseUint(h, 10, 64)
		if perr == nil {
			if _, err := e.b.HeaderByHeight(height); err == nil {
				return "block/" + strconv.FormatUint(height, 10), "", nil
			}
		}
		return "", "no block at height " + h + ": the tip is at " + strconv.FormatUint(e.b.Tip().Height, 10), nil
	}
	if len(q) == 2*types.HashSize {
		hash, perr := types.ParseHash(q)
		if perr != nil {
			return "", "not a hash: 64 characters, but not all hex digits", nil
		}
		if _, err := e.b.Header(hash); err == nil {
			return "block/" + hash.String(), "", nil
		}
		_, err := rpc.LookupTx(e.b, hash)
		switch {
		case err == nil:
			return "tx/" + hash.String(), "", nil
		case !isNotFound(err):
			return "", "", err
		}
		return "", "no block and no tx with this hash (the node's pool was searched too)", nil
	}
	if strings.HasPrefix(strings.ToLower(q), types.AddressHRP+"1") {
		addr, perr := types.ParseAddress(q)
		if perr != nil {
			return "", "not a cairn address: " + strings.TrimPrefix(perr.Error(), types.ErrBadAddress.Error()+" "), nil
		}
		return "address/" + addr.String(), "", nil
	}
	return "", "not a block height, a 64-hex-digit block hash or tx id, or a " + types.AddressHRP + "1… address", nil
}
