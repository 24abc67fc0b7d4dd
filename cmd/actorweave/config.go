package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// applyEnvAndConfig fills every flag the user did not set on the command line, first from the
// environment (ACTORWEAVE_<FLAG>, upper case, dashes as underscores), then from the JSON config
// file named by --config ({"flag-name": value, ...}). Precedence: flag > environment > file > default.
func applyEnvAndConfig(cmd *cobra.Command, configPath string) error {
	fileValues := map[string]any{}
	if configPath != "" {
		b, err := os.ReadFile(configPath)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		if err := json.Unmarshal(b, &fileValues); err != nil {
			return fmt.Errorf("config file %s: must be a JSON object of flag names to values: %w", configPath, err)
		}
		for name := range fileValues {
			if cmd.Flags().Lookup(name) == nil {
				return fmt.Errorf("config file %s: unknown setting %q (settings are the flag names of %q)", configPath, name, cmd.CommandPath())
			}
		}
	}
	var firstErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || firstErr != nil || f.Name == "config" {
			return
		}
		env := "ACTORWEAVE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := f.Value.Set(v); err != nil {
				firstErr = fmt.Errorf("%s=%q: %w", env, v, err)
			}
			return
		}
		if v, ok := fileValues[f.Name]; ok {
			var s string
			switch v := v.(type) {
			case string:
				s = v
			default:
				b, _ := json.Marshal(v)
				s = string(b)
			}
			if err := f.Value.Set(s); err != nil {
				firstErr = fmt.Errorf("config %s=%v: %w", f.Name, v, err)
			}
		}
	})
	return firstErr
}
