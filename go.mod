module github.com/cairn-ledger/cairn

go 1.26.0

require (
	github.com/btcsuite/btcd/btcutil v1.2.0
	github.com/oasisprotocol/curve25519-voi v0.0.0-20230904125328-1f23a7beb09a
	github.com/syndtr/goleveldb v1.0.1-0.20220721030215-126854af5e6d
	golang.org/x/crypto v0.58.0
	golang.org/x/term v0.47.0
	pgregory.net/rapid v1.3.0
)

require (
	github.com/golang/snappy v0.0.4 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
