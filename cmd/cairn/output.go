package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/wallet"
)

// print writes v as indented JSON with --json, and calls human otherwise.
func (e *env) print(v any, human func(w io.Writer)) error {
	if e.json {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	human(e.stdout)
	return nil
}

// kv is a block of aligned "key: value" lines; width is the least width
// of the key column, to align blocks printed one after another.
type kv struct {
	rows  [][2]string
	width int
}

func (t *kv) add(k string, v any) { t.rows = append(t.rows, [2]string{k, fmt.Sprint(v)}) }

func (t *kv) write(w io.Writer) {
	width := t.width
	for _, r := range t.rows {
		width = max(width, len(r[0])+1)
	}
	for _, r := range t.rows {
		fmt.Fprintf(w, "%-*s  %s\n", width, r[0]+":", r[1])
	}
}

// table writes aligned columns.
func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// crn formats an RPC amount (decimal base units) as "1.50000000 CRN".
func crn(baseUnits string) string {
	v, err := strconv.ParseUint(baseUnits, 10, 64)
	if err != nil {
		return baseUnits + " (base units)"
	}
	return wallet.FormatCRN(v)
}

// msTime formats unix milliseconds.
func msTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000 UTC")
}

// memoText shows a hex memo as quoted text when it is printable UTF-8,
// and as hex otherwise.
func memoText(memoHex string) string {
	if memoHex == "" {
		return ""
	}
	b, err := hex.DecodeString(memoHex)
	if err != nil || !utf8.Valid(b) {
		return "0x" + memoHex
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return "0x" + memoHex
		}
	}
	return strconv.Quote(string(b))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// syncText describes sync progress.
func syncText(s rpc.SyncInfo) string {
	switch s.State {
	case rpc.SyncSynced:
		return "synced"
	case rpc.SyncSyncing:
		eta := ""
		if s.EtaS > 0 {
			eta = ", about " + (time.Duration(s.EtaS) * time.Second).String() + " left"
		}
		return fmt.Sprintf("syncing %.1f%% (height %d of %d%s)", s.Progress*100, s.Height, s.TargetHeight, eta)
	case rpc.SyncStalled, rpc.SyncDamaged, rpc.SyncStoreFailed:
		return s.State + ": " + s.Reason
	case rpc.SyncNoPeers:
		return "no peers"
	}
	return s.State
}
