package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/txpool"
	"github.com/cairn-ledger/cairn/wallet"
)

// builtinNetwork is the network cairnd joins without --genesis
// (node/genesis.json): the one other network every node knows, whose
// transactions its pool refuses as wrong-network rather than
// bad-signature. Its hash is written here so that cairn does not link the
// node; TestBuiltinNetwork checks it against node.DefaultParams.
var builtinNetwork = struct {
	name    string
	genesis string
}{"cairn-dev", "6d86df431b2bde4e4baabedc00ab20b9acb8224f9307e3e7296cda540d045d56"}

const (
	signUsage      = "cairn tx sign --from NAME --to ADDR|NAME --amount CRN --fee CRN --nonce N --genesis FILE [--memo TEXT]"
	decodeUsage    = "cairn tx decode HEX [--genesis FILE]"
	broadcastUsage = "cairn tx broadcast HEX"
)

// txSubcommands are the subcommands of `cairn tx`, which itself shows a
// transaction by id: urfave/cli runs a command's own action when its
// first argument names none of its subcommands.
func txSubcommands(s *streams) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "sign",
			Usage:     "sign a transfer without a node (cold signing) and print its raw hex and id",
			UsageText: signUsage,
			Flags: transferFlags(
				&cli.StringFlag{Name: "fee", Usage: "pay `CRN` to the miner"},
				&cli.StringFlag{Name: "nonce", Usage: "the sender's `N`, its count of earlier transactions (see cairn balance: pending nonce)"},
				&cli.StringFlag{Name: "genesis", Usage: "sign for the network of the genesis.json `FILE`"},
			),
			Action: action(s, txSign),
		},
		{
			Name:      "decode",
			Usage:     "show a raw transaction's fields, id and sender, and whether its signature verifies for a network",
			UsageText: decodeUsage,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "genesis", Usage: "check the signature for the network of the genesis.json `FILE`", DefaultText: "the node's network, if it answers"},
			},
			Action: action(s, txDecode),
		},
		{
			Name:      "broadcast",
			Usage:     "submit a raw signed transaction to the node",
			UsageText: broadcastUsage,
			Action:    action(s, txBroadcast),
		},
		replaceCommand(s, false),
		replaceCommand(s, true),
	}
}

// rawArg is the HEX argument of decode and broadcast, parsed.
func (e *env) rawArg() (*types.Tx, error) {
	a, err := e.args("HEX")
	if err != nil {
		return nil, err
	}
	tx, err := parseRawTx(a[0])
	if err != nil {
		return nil, usagef("raw transaction: %v", err)
	}
	return tx, nil
}

// loadGenesis reads the network's parameters from the genesis.json file
// path, given with flag.
func loadGenesis(flag, path string) (*consensus.Params, error) {
	if path == "" {
		return nil, usagef("%s: want the path of a genesis.json file", flag)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s %s: %v", flag, path, err)
	}
	p, err := consensus.ParseGenesis(b)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", flag, path, err)
	}
	return p, nil
}

// signedTx is the output of tx sign.
type signedTxJSON struct {
	Raw string `json:"raw"`
	ID  string `json:"id"`
}

func txSign(e *env) error {
	if _, err := e.args(); err != nil {
		return err
	}
	t, err := e.transfer(signUsage, "from", "to", "amount", "fee", "nonce", "genesis")
	if err != nil {
		return err
	}
	// With no node to refuse it at once, a fee no pool admits is refused
	// here (send leaves that to the node, whose answer comes at once).
	if t.Fee < txpool.DefaultMinRelayFee {
		return fmt.Errorf("--fee %q: below the minimum relay fee of %s, which every node's pool asks", e.c.String("fee"), wallet.FormatCRN(txpool.DefaultMinRelayFee))
	}
	if t.Nonce, err = parseNonce("--nonce", e.c.String("nonce")); err != nil {
		return err
	}
	p, err := loadGenesis("--genesis", e.c.String("genesis"))
	if err != nil {
		return err
	}
	k, err := e.loadKey(t.from)
	if err != nil {
		return err
	}
	tx, err := wallet.BuildTx(k, t.TxParams, p.GenesisHash())
	if err != nil {
		return err
	}
	out := signedTxJSON{Raw: hex.EncodeToString(tx.Encode()), ID: tx.ID().String()}
	return e.print(out, func(w io.Writer) {
		fmt.Fprintln(w, out.Raw)
		fmt.Fprintln(w, out.ID)
	})
}

// Signature statuses in tx decode: the pool's reasons for a signature
// that does not verify, valid, or unchecked.
var (
	sigValid        = "valid"
	sigWrongNetwork = txpool.ReasonWrongNetwork.String()
	sigBad          = txpool.ReasonBadSignature.String()
	sigUnchecked    = "unchecked"
)

// sigCheck is what tx decode found of a signature.
type sigCheck struct {
	// Status is valid, wrong-network, bad-signature or unchecked.
	Status string `json:"status"`
	// Network and Genesis are the network checked, and Source where it
	// came from: the --genesis file or the node's URL.
	Network string `json:"network,omitempty"`
	Genesis string `json:"genesis,omitempty"`
	Source  string `json:"source,omitempty"`
	// SignedFor is the known network a wrong-network tx is signed for.
	SignedFor        string `json:"signedFor,omitempty"`
	SignedForGenesis string `json:"signedForGenesis,omitempty"`
	// Text says it for a person: yes, NO and why, or why not checked.
	Text string `json:"text"`
}

// checkSig verifies tx's signature for the network genesis (named name),
// and if it fails there, for the built-in network, as the pool tells
// wrong-network from bad-signature (txpool.Config.OtherNetworks).
func checkSig(tx *types.Tx, name string, genesis types.Hash, source string) sigCheck {
	s := sigCheck{Network: name, Genesis: genesis.String(), Source: source}
	if consensus.VerifySignature(tx.From, tx.SigningDigest(genesis), tx.Sig) {
		s.Status, s.Text = sigValid, "yes"
		return s
	}
	if other, err := types.ParseHash(builtinNetwork.genesis); err == nil && other != genesis &&
		consensus.VerifySignature(tx.From, tx.SigningDigest(other), tx.Sig) {
		s.Status, s.SignedFor, s.SignedForGenesis = sigWrongNetwork, builtinNetwork.name, other.String()
		s.Text = fmt.Sprintf("NO: it was signed for another network, %s (genesis %s)", builtinNetwork.name, other)
		return s
	}
	s.Status, s.Text = sigBad, "NO: it was signed for another network, or its signature is invalid"
	return s
}

// decodedTx is the output of tx decode.
type decodedTx struct {
	Tx        *rpc.Tx  `json:"tx"`
	Signature sigCheck `json:"signature"`
	// Warnings are what any node would refuse the tx for, besides its
	// signature.
	Warnings []string `json:"warnings"`
}

func txDecode(e *env) error {
	tx, err := e.rawArg()
	if err != nil {
		return err
	}
	var sig sigCheck
	if e.c.IsSet("genesis") {
		path := e.c.String("genesis")
		p, err := loadGenesis("--genesis", path)
		if err != nil {
			return err
		}
		sig = checkSig(tx, p.Network, p.GenesisHash(), path)
	} else {
		sig = e.checkSigWithNode(tx)
	}
	out := decodedTx{Tx: rpc.NewTx(tx), Signature: sig, Warnings: txWarnings(tx)}
	out.Tx.Raw = hex.EncodeToString(tx.Encode())
	return e.print(out, func(w io.Writer) {
		var t kv
		t.add("id", out.Tx.ID)
		t.add("version", tx.Version)
		t.add("from", out.Tx.From)
		t.add("sender key", out.Tx.PubKey)
		t.add("to", out.Tx.To)
		t.add("amount", wallet.FormatCRN(tx.Amount))
		t.add("fee", wallet.FormatCRN(tx.Fee))
		t.add("nonce", tx.Nonce)
		if len(tx.Memo) > 0 {
			t.add("memo", memoText(out.Tx.Memo))
		}
		t.add("signature", out.Tx.Sig)
		t.add("size", fmt.Sprintf("%d bytes", out.Tx.Size))
		if sig.Status != sigUnchecked {
			t.add("network", fmt.Sprintf("%s (genesis %s, from %s)", sig.Network, sig.Genesis, sig.Source))
		}
		t.add("verifies", sig.Text)
		for _, warn := range out.Warnings {
			t.add("warning", warn)
		}
		t.write(w)
	})
}

// checkSigWithNode checks tx's signature for the network of the node at
// --rpc, if one answers.
func (e *env) checkSigWithNode(tx *types.Tx) sigCheck {
	info, err := e.client().NodeInfo(e.ctx)
	if err != nil {
		return sigCheck{Status: sigUnchecked, Text: fmt.Sprintf("not checked: no --genesis given, and %v", e.explain(err))}
	}
	genesis, err := types.ParseHash(info.Genesis)
	if err != nil {
		return sigCheck{Status: sigUnchecked, Text: fmt.Sprintf("not checked: no --genesis given, and cairnd at %s sent a bad genesis hash: %v", e.rpcURL, err)}
	}
	return checkSig(tx, info.Network, genesis, "cairnd at "+e.rpcURL)
}

// txWarnings lists what every node refuses tx for, besides its signature:
// the consensus rules (consensus.CheckTx) and the pools' default fee and
// amount minimums.
func txWarnings(tx *types.Tx) []string {
	warnings := []string{}
	if err := consensus.CheckTx(tx); err != nil {
		warnings = append(warnings, fmt.Sprintf("invalid: %v", err))
	}
	if tx.Fee < txpool.DefaultMinRelayFee {
		warnings = append(warnings, fmt.Sprintf("%s: the fee is below the minimum relay fee, %s", txpool.ReasonFeeTooLow, wallet.FormatCRN(txpool.DefaultMinRelayFee)))
	}
	if tx.Amount < txpool.DefaultMinAmount {
		warnings = append(warnings, fmt.Sprintf("%s: the amount is below the minimum transfer, %s", txpool.ReasonAmountTooLow, wallet.FormatCRN(txpool.DefaultMinAmount)))
	}
	return warnings
}

func txBroadcast(e *env) error {
	tx, err := e.rawArg()
	if err != nil {
		return err
	}
	id, err := e.submit(e.client(), tx, tx.Sender().String())
	if err != nil {
		return err
	}
	return e.print(rpc.SendResult{ID: id}, func(w io.Writer) {
		t := sentTx(id, tx)
		t.add("status", "pending")
		t.write(w)
	})
}
