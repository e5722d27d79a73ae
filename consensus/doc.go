/*
Package consensus holds cairn's consensus rules: the rules every node
applies to decide whether a block or transaction is valid, written as pure
functions of their inputs. It does no I/O, keeps no state between calls
and starts no goroutine; the chain package supplies what a rule needs to
know about a block's ancestors (ParentInfo) and its state. The normative
specification of everything here is docs/PROTOCOL.md; the section of each
rule is named below.

# What is here

  - Params: a network's parameters, parsed from its genesis.json and
    committed to by the genesis hash (ParseGenesis, Encode, Genesis,
    NetID; §10), and a new network's parameters made from its block time
    and expected hash rate (GenesisSpec, BitsForHashes).
  - Proof of work: the compact "bits" form (CompactToBig, BigToCompact),
    canonical targets (CheckTarget), the proof itself (CheckProofOfWork)
    and work (CalcWork; §13).
  - Difficulty: aserti3-2d (ASERT) anchored at genesis (NextBits; §14).
  - Time: the median time past and the future drift (MedianTimePast,
    CheckHeaderTime; §15).
  - Signatures: ed25519 under the ZIP-215 rules, alone or in batches
    (VerifySignature, BatchVerifier; §7), and the small-order key rule
    (IsSmallOrderKey; §8).
  - Rewards: the block subsidy (Subsidy; §11).
  - The state commitment: an LtHash of the accounts (LtHash,
    AccountElement, EmptyStateRoot; §12).
  - Rule errors: every violation is a *RuleError with an ErrorCode
    (CodeOf, IsRuleError).

# Block validation, in check order

A block is processed as follows (chain.ProcessBlockFrom); the cheapest
checks come first, so that an invalid block costs as little as possible,
and each failure is reported with the code in parentheses (docs/PROTOCOL.md
§16):

 1. Decode. The bytes must be the canonical encoding of a block of at most
    the network's maximum block size (types.DecodeBlock; ErrDecode for
    what the decoder refuses).
 2. Known blocks. A block already stored is a duplicate; one known to be
    invalid, or descending from one, is refused at once.
 3. Parent. A block at height 0 is refused (ErrBadGenesis). A block whose
    parent is unknown is an orphan: its proof of work is checked
    (CheckProofOfWork: ErrBadTarget, ErrBadPoW) before the chain holds it.
    A block whose parent is invalid is refused (ErrInvalidAncestor).
 4. Work (node policy, not a rule: chain.ErrLowWork). A block relayed by
    gossip whose branch has less work than the tip is dropped.
 5. Body, without context (Params.CheckBlockBody): the encoded size
    (ErrBlockTooBig), the Merkle root of the tx ids (ErrBadTxRoot), then
    for each tx in order no repeated id (ErrDuplicateTx) and the
    stateless tx rules (CheckTx): version (ErrBadVersion), memo length
    (ErrDecode), amount + fee within 64 bits (ErrAmountOverflow), a
    sender key not of small order (ErrSmallOrderKey).
 6. Header, against its parent (Params.CheckHeader), unless the header
    was accepted before by headers-first sync, which applies the same
    function: version (ErrBadVersion), height not 0 (ErrBadGenesis), a
    canonical target within powLimit (ErrBadTarget), the proof of work
    (ErrBadPoW), the bits ASERT requires after the parent (ErrWrongBits),
    height = parent's + 1 (ErrWrongHeight), time after the median time
    past (ErrTimeTooOld) and not beyond the local clock plus the allowed
    drift (ErrTimeTooNew, which means "not yet", never "invalid").
 7. Signatures of every tx, in one batch (VerifyBlockSignatures,
    VerifyTxSignatures: ErrBadSignature). Signatures the txpool verified
    already may be skipped.
 8. State, when the block is connected (the chain package applies it):
    for each tx in order the sender's nonce (ErrWrongNonce) and balance
    (ErrInsufficientBalance), the recipient's balance (ErrBalanceOverflow),
    then the sum of the fees and the reward (ErrBalanceOverflow), and
    last the state root (ErrBadStateRoot).

A rule violation marks the block invalid (except ErrTimeTooNew); an I/O
error never does. A descendant of an invalid block is refused with
ErrInvalidAncestor.

# Transactions

The txpool applies CheckTx and VerifySignature to every transaction it
admits, so that a transaction that could never be in a valid block is
never relayed; the state rules it applies (nonce, balance) are those of
step 8 against the tip's state.

# Concurrency

Every function here is safe for concurrent use, except where a type's
documentation says otherwise (a BatchVerifier, an LtHash being modified).
*/
package consensus
