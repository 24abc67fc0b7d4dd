package main

import (
	"fmt"

	"github.com/actorweave/actorweave/ans104"
	"github.com/spf13/cobra"
)

func newKeygenCmd() *cobra.Command {
	var keyType, out string
	cmd := &cobra.Command{
		Use:   "keygen --type ed25519|rsa --out FILE",
		Short: "Generate a signing key (a JWK file) and print its wallet address",
		Long: `Generate a key as a JSON Web Key file, readable only by its owner.

  --type ed25519  an Ed25519 key (kty OKP): the node-key default, ~100x cheaper to sign with than RSA.
  --type rsa      a 4096-bit Arweave wallet (kty RSA) with its primes and CRT parameters, so that
                  signing uses the fast precomputed path and other Arweave tools can read it.

The wallet address (base64url SHA-256 of the public key) is printed as the last line.
An existing file is never overwritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out FILE is required")
			}
			var (
				s   ans104.Signer
				err error
			)
			switch keyType {
			case "ed25519":
				s, err = ans104.GenerateEd25519Signer()
			case "rsa":
				fmt.Fprintln(cmd.ErrOrStderr(), "generating a 4096-bit RSA key (about a second)...")
				s, err = ans104.GenerateRSASigner()
			default:
				return fmt.Errorf("--type must be ed25519 or rsa, not %q", keyType)
			}
			if err != nil {
				return err
			}
			if err := ans104.SaveKeyFile(out, s); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s key to %s\n", keyType, out)
			fmt.Fprintln(cmd.OutOrStdout(), ans104.Address(s.SignatureType(), s.Owner()))
			return nil
		},
	}
	cmd.Flags().StringVar(&keyType, "type", "ed25519", "key type: ed25519 or rsa")
	cmd.Flags().StringVar(&out, "out", "", "file to write the JWK to (must not exist)")
	return cmd
}
