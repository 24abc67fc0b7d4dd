package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/runtime"
)

// defaultEvalEnv is the env given to every message when --env is not set.
const defaultEvalEnv = `{"Process":{"Id":"PROCESS","Owner":"OWNER","Tags":[]}}`

// maxEvalLine bounds one message line on stdin.
const maxEvalLine = 64 << 20

func newEvalCmd() *cobra.Command {
	var (
		modulePath, format, envPath, memLimit, cacheDir, thisProgram string
		computeLimit                                                 string
		deadline                                                     time.Duration
		stdio, memHash                                               bool
	)
	cmd := &cobra.Command{
		Use:   "eval --module FILE --format FORMAT [flags] < messages.jsonl",
		Short: "Evaluate messages in a WebAssembly process module, offline",
		Long: `eval boots one process of an AO module and evaluates the messages read from stdin, one JSON
object per line, in order, in the reference loader's message shape:

  {"Id":..,"Owner":..,"From":..,"Target":..,"Module":..,"Timestamp":..,"Block-Height":..,
   "Tags":[{"name":..,"value":..}],"Data":..}

For each message it prints one JSON line: the result (Output, Messages, Spawns, Assignments,
Error, GasUsed) plus MemorySha256 (hex SHA-256 of the whole linear memory after the message) and
MemoryBytes. As in a node, a message that errors (its Error, a trap, out of gas, memory or
time) does not advance memory: the next message starts from the memory before it.

The env (--env) is the JSON the module receives with every message; without it:
  ` + defaultEvalEnv + `

Each line is passed to the module as given (whitespace removed). The reference loader passes
JSON.stringify(msg), so lines in that form give byte-identical results. --this-program is argv[0]
inside the module; it lies on the C stack, so memory hashes and gas depend on it (the reference
loader uses node's script path).

Supported formats: wasm32-unknown-emscripten, -emscripten2, -emscripten3, -emscripten4,
wasm64-unknown-emscripten-draft_2024_02_15 (memory64, lowered to a 32-bit memory: at most 4 GiB),
and the load-time metered wasm32-unknown-emscripten-metering and
wasm64-unknown-emscripten-draft_2024_10_16-metering.`,
		Example: `  echo '{"Id":"1","Owner":"OWNER","From":"OWNER","Tags":[{"name":"Action","value":"Eval"}],"Data":"return 1+1"}' |
    actorweave eval --module process.wasm --format wasm32-unknown-emscripten2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modulePath == "" || format == "" {
				return fmt.Errorf("--module and --format are required")
			}
			if err := runtime.CheckFormat(format); err != nil {
				return err
			}
			cfg := runtime.DefaultConfig()
			cfg.CacheDir = cacheDir
			if thisProgram != "" {
				cfg.ThisProgram = thisProgram
			}
			ml, err := runtime.ParseMemoryLimit(memLimit)
			if err != nil {
				return err
			}
			cl, err := runtime.ParseComputeLimit(computeLimit)
			if err != nil {
				return err
			}
			if deadline <= 0 {
				return fmt.Errorf("--deadline must be positive")
			}
			cfg.Limits = runtime.Limits{MemoryLimit: ml, ComputeLimit: cl, Deadline: deadline}
			env := []byte(defaultEvalEnv)
			if envPath != "" {
				if env, err = os.ReadFile(envPath); err != nil {
					return err
				}
				if !json.Valid(env) {
					return fmt.Errorf("--env %s: not valid JSON", envPath)
				}
				env = compactJSON(env)
			}
			wasm, err := os.ReadFile(modulePath)
			if err != nil {
				return err
			}
			return runEval(cmd.Context(), cfg, wasm, format, env, cmd.InOrStdin(), cmd.OutOrStdout(), evalOptions{stdio: stdio, memHash: memHash})
		},
	}
	f := cmd.Flags()
	f.StringVar(&modulePath, "module", "", "WebAssembly module file (required)")
	f.StringVar(&format, "format", "", "module format, the Module-Format tag (required)")
	f.StringVar(&envPath, "env", "", "file with the env JSON given with every message (default "+defaultEvalEnv+")")
	f.StringVar(&memLimit, "memory-limit", "500-mb", "memory limit, Memory-Limit tag syntax (e.g. 1-gb, 512-mb)")
	f.StringVar(&computeLimit, "compute-limit", "9000000000000000", "gas per message, Compute-Limit tag syntax (metered modules only)")
	f.DurationVar(&deadline, "deadline", runtime.DefaultDeadline, "wall-clock limit per message")
	f.StringVar(&cacheDir, "cache-dir", "", "directory for wazero's compilation cache (default: none, compile in memory)")
	f.StringVar(&thisProgram, "this-program", runtime.DefaultThisProgram, "argv[0] and $_ as the module sees them")
	f.BoolVar(&stdio, "stdio", false, "copy what the module writes to stdout/stderr to this command's stderr")
	f.BoolVar(&memHash, "memory-hash", true, "print MemorySha256 after every message (hashing the whole memory takes longer than a small\nmessage's evaluation: use --memory-hash=false to measure throughput)")
	return cmd
}

type evalLine struct {
	*runtime.Result
	MemorySha256 string `json:"MemorySha256,omitempty"`
	MemoryBytes  int    `json:"MemoryBytes"`
}

type evalOptions struct{ stdio, memHash bool }

func runEval(ctx context.Context, cfg runtime.Config, wasm []byte, format string, env []byte, in io.Reader, out io.Writer, opt evalOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	eng, err := runtime.NewEngine(ctx, cfg)
	if err != nil {
		return err
	}
	defer eng.Close(ctx)
	if opt.stdio {
		eng.Stdio = os.Stderr
	}
	mod, err := eng.Compile(ctx, wasm, format)
	if err != nil {
		return err
	}
	inst, err := eng.Instantiate(ctx, mod, cfg.Limits)
	if err != nil {
		return err
	}
	defer inst.Close(ctx)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxEvalLine)
	w := bufio.NewWriter(out)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(trimSpace(line)) == 0 {
			continue
		}
		if !json.Valid(line) {
			return fmt.Errorf("stdin line %d: not valid JSON", n)
		}
		res, err := inst.Handle(ctx, compactJSON(line), env)
		if err != nil {
			return fmt.Errorf("message on line %d: %w", n, err)
		}
		o := evalLine{Result: res, MemoryBytes: inst.MemoryBytes()}
		if opt.memHash {
			sum, _ := inst.MemorySha256()
			o.MemorySha256 = hex.EncodeToString(sum[:])
		}
		if err := enc.Encode(o); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	return nil
}

// compactJSON removes insignificant whitespace, as JSON.stringify would not produce it. Key order
// and string escapes are kept as given.
func compactJSON(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}
