package rpc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/creachadair/jrpc2"
)

// param is one parameter of a method: its names in the object form (the
// first is the canonical one, the others aliases), whether it may be left
// out, and how to decode it.
type param struct {
	names    []string
	optional bool
	decode   func(json.RawMessage) error
}

// bindParams decodes a request's params into ps: positional (an array;
// trailing optional params may be left out) or named (an object; each
// param by one of its names). A missing required param, an extra one, an
// unknown name or a bad value is a -32602 error naming the param.
func bindParams(req *jrpc2.Request, ps ...param) error {
	if !req.HasParams() {
		return checkRequired(ps, nil)
	}
	var raw json.RawMessage
	if err := req.UnmarshalParams(&raw); err != nil {
		return errInvalidParams("%v", err)
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			return errInvalidParams("%v", err)
		}
		if len(arr) > len(ps) {
			return errInvalidParams("%s", countMessage(len(arr), ps))
		}
		for i, v := range arr {
			if err := ps[i].decodeValue(ps[i].names[0], v); err != nil {
				return err
			}
		}
		for _, p := range ps[len(arr):] {
			if !p.optional {
				return errInvalidParams("missing param %q", p.names[0])
			}
		}
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return errInvalidParams("%v", err)
	}
	if len(ps) == 0 && len(obj) > 0 {
		return errInvalidParams("%s", countMessage(len(obj), ps))
	}
	// Match names first, in sorted order, so that the error reported for
	// a bad object does not depend on map order.
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := make([]string, len(ps))
	for _, key := range keys {
		i := paramIndex(ps, key)
		if i < 0 {
			return errInvalidParams("unknown param %q (want %s)", key, paramNames(ps))
		}
		if seen[i] != "" {
			return errInvalidParams("%q and %q name the same param, give one", seen[i], key)
		}
		seen[i] = key
	}
	for i, key := range seen {
		if key != "" {
			if err := ps[i].decodeValue(key, obj[key]); err != nil {
				return err
			}
		}
	}
	return checkRequired(ps, seen)
}

func checkRequired(ps []param, seen []string) error {
	for i, p := range ps {
		if !p.optional && (seen == nil || seen[i] == "") {
			return errInvalidParams("missing param %q", p.names[0])
		}
	}
	return nil
}

func countMessage(n int, ps []param) string {
	if len(ps) == 0 {
		return fmt.Sprintf("takes no params, got %d", n)
	}
	return fmt.Sprintf("got %d params, want at most %d (%s)", n, len(ps), paramNames(ps))
}

func paramIndex(ps []param, key string) int {
	for i, p := range ps {
		for _, n := range p.names {
			if n == key {
				return i
			}
		}
	}
	return -1
}

func paramNames(ps []param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strings.Join(p.names, "|"))
	}
	return b.String()
}

// decodeValue decodes one param; JSON null counts as absent for an
// optional one.
func (p param) decodeValue(name string, v json.RawMessage) error {
	if string(v) == "null" {
		if p.optional {
			return nil
		}
		return errInvalidParams("%s: must not be null", name)
	}
	if err := p.decode(v); err != nil {
		return errInvalidParams("%s: %v", name, err)
	}
	return nil
}

// noParams accepts absent, [] or {} params.
func noParams(req *jrpc2.Request) error { return bindParams(req) }

// The decoders of param values. Their errors say what was expected and
// what came instead.

func describe(v json.RawMessage) string {
	const max = 40
	s := string(v)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

func decodeBool(dst *bool) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		switch string(v) {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			return fmt.Errorf("want true or false, got %s", describe(v))
		}
		return nil
	}
}

func decodeString(dst *string) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		if len(v) == 0 || v[0] != '"' {
			return fmt.Errorf("want a string, got %s", describe(v))
		}
		return json.Unmarshal(v, dst)
	}
}

func decodeUint(dst *uint64) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("want a non-negative integer, got %s", describe(v))
		}
		*dst = n
		return nil
	}
}

func decodeHash(dst *types.Hash) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		var s string
		if err := decodeString(&s)(v); err != nil {
			return err
		}
		h, err := types.ParseHash(s)
		if err != nil {
			return err
		}
		*dst = h
		return nil
	}
}

func decodeAddress(dst *types.Address) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		var s string
		if err := decodeString(&s)(v); err != nil {
			return err
		}
		a, err := types.ParseAddress(s)
		if err != nil {
			return err
		}
		*dst = a
		return nil
	}
}

// decodeHex decodes a hex string (an optional 0x prefix allowed).
func decodeHex(dst *[]byte) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		var s string
		if err := decodeString(&s)(v); err != nil {
			return err
		}
		s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
		b, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("not hex: %v", err)
		}
		*dst = b
		return nil
	}
}

// blockRef names a block by hash or by main-chain height.
type blockRef struct {
	hash   types.Hash
	height uint64
	byHash bool
	set    bool
}

func decodeRef(dst *blockRef) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		if len(v) > 0 && v[0] == '"' {
			if err := decodeHash(&dst.hash)(v); err != nil {
				return err
			}
			dst.byHash, dst.set = true, true
			return nil
		}
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("want a block hash (64 hex digits) or a height (non-negative integer), got %s", describe(v))
		}
		dst.height, dst.byHash, dst.set = n, false, true
		return nil
	}
}

func (r blockRef) String() string {
	if r.byHash {
		return r.hash.String()
	}
	return "height " + strconv.FormatUint(r.height, 10)
}
