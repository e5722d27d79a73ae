package rpc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Hand-written JSON encoders of the largest results (Head, Block, Tx), for
// the RPC figures of `make bench`: reflection, and above all re-validating
// the output of a MarshalJSON method for every tx of a block, cost more
// than the rest of chain_getBlock. Each writes exactly the bytes
// encoding/json writes for the same value without HTML escaping
// (TestAppendJSONMatches checks).

// jsonAppender is a result the server encodes without reflection.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// appendString appends s as a JSON string. Hex, bech32 and decimal text
// takes the fast path; anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return appendStringSlow(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStringSlow(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

func appendKey(b []byte, first bool, key string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendStringField(b []byte, key, v string) []byte {
	return appendString(appendKey(b, false, key), v)
}

func appendUintField(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(appendKey(b, false, key), v, 10)
}

func appendIntField(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, false, key), v, 10)
}

func (h *Head) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendString(appendKey(b, true, "hash"), h.Hash)
	b = appendUintField(b, "height", h.Height)
	b = appendStringField(b, "work", h.Work)
	b = appendIntField(b, "time", h.Time)
	b = appendStringField(b, "bits", h.Bits)
	b = appendStringField(b, "stateRoot", h.StateRoot)
	return append(b, '}')
}

// appendFields appends the header's members without braces.
func (h *Header) appendFields(b []byte) []byte {
	b = appendString(appendKey(b, true, "hash"), h.Hash)
	b = appendUintField(b, "version", uint64(h.Version))
	b = appendUintField(b, "height", h.Height)
	b = appendStringField(b, "parent", h.Parent)
	b = appendStringField(b, "txRoot", h.TxRoot)
	b = appendStringField(b, "stateRoot", h.StateRoot)
	b = appendStringField(b, "miner", h.Miner)
	b = appendIntField(b, "time", h.Time)
	b = appendStringField(b, "bits", h.Bits)
	b = appendStringField(b, "nonce", h.Nonce)
	b = appendStringField(b, "work", h.Work)
	b = strconv.AppendBool(appendKey(b, false, "mainChain"), h.MainChain)
	return appendUintField(b, "confirmations", h.Confirmations)
}

func (h *Header) appendJSON(b []byte) []byte {
	return append(h.appendFields(append(b, '{')), '}')
}

func (blk *Block) appendJSON(b []byte) []byte {
	b = blk.Header.appendFields(append(b, '{'))
	b = appendIntField(b, "size", int64(blk.Size))
	b = appendIntField(b, "txCount", int64(blk.TxCount))
	if len(blk.TxIDs) > 0 {
		b = append(appendKey(b, false, "txIds"), '[')
		for i, id := range blk.TxIDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, id)
		}
		b = append(b, ']')
	}
	if len(blk.Txs) > 0 {
		b = append(appendKey(b, false, "txs"), '[')
		for i, t := range blk.Txs {
			if i > 0 {
				b = append(b, ',')
			}
			if t == nil {
				b = append(b, "null"...)
			} else {
				b = t.appendJSON(b)
			}
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendJSON writes the tx; the location members only when set, and index
// whenever the tx is confirmed, even when it is 0 (the first tx of its
// block).
func (t *Tx) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendString(appendKey(b, true, "id"), t.ID)
	b = appendUintField(b, "version", uint64(t.Version))
	b = appendStringField(b, "from", t.From)
	b = appendStringField(b, "pubKey", t.PubKey)
	b = appendStringField(b, "to", t.To)
	b = appendStringField(b, "amount", t.Amount)
	b = appendStringField(b, "fee", t.Fee)
	b = appendUintField(b, "nonce", t.Nonce)
	b = appendStringField(b, "memo", t.Memo)
	b = appendStringField(b, "sig", t.Sig)
	b = appendIntField(b, "size", int64(t.Size))
	if t.Status != "" {
		b = appendStringField(b, "status", t.Status)
	}
	if t.BlockHash != "" {
		b = appendStringField(b, "blockHash", t.BlockHash)
	}
	if t.Height != 0 {
		b = appendUintField(b, "height", t.Height)
	}
	if t.Index != 0 || t.Status == StatusConfirmed {
		b = appendIntField(b, "index", int64(t.Index))
	}
	if t.Confirmations != 0 {
		b = appendUintField(b, "confirmations", t.Confirmations)
	}
	if t.Raw != "" {
		b = appendStringField(b, "raw", t.Raw)
	}
	return append(b, '}')
}

// MarshalJSON writes the tx as the server does: index is present whenever
// the tx is confirmed, even when it is 0.
func (t Tx) MarshalJSON() ([]byte, error) { return t.appendJSON(nil), nil }
