module github.com/actorweave/actorweave

go 1.26.8

require (
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.1.0
	github.com/spf13/cobra v1.10.2
	golang.org/x/crypto v0.58.0
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
