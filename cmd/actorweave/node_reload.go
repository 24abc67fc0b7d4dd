package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/actorweave/actorweave/node"
)

// Weight changes at run time: on SIGHUP, `actorweave node` re-reads "capacity" from its --config
// file and gossips the new weight (node.SetCapacity); every member then rebalances. A signal needs
// no new authenticated network surface: only the node's own OS user (or root) can send it, and the
// file is the same one the node started from. Nothing else in the file is reloaded.

// readCapacity reads the "capacity" setting of a config file.
func readCapacity(path string) (uint32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, fmt.Errorf("config file %s: %w", path, err)
	}
	raw, ok := v["capacity"]
	if !ok {
		return 0, fmt.Errorf("config file %s has no \"capacity\"", path)
	}
	s := fmt.Sprint(raw)
	w, err := strconv.ParseUint(s, 10, 32)
	if err != nil || w == 0 {
		return 0, fmt.Errorf("config file %s: capacity %q: want a whole number of at least 1", path, s)
	}
	return uint32(w), nil
}

// reloadCapacityOnHUP serves SIGHUP for the running node current() until stop is closed.
func reloadCapacityOnHUP(configPath string, current func() *node.Node, log *slog.Logger, stop <-chan struct{}) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-stop:
				return
			case <-hup:
			}
			if configPath == "" {
				log.Warn("SIGHUP: no --config file to reload the capacity from")
				continue
			}
			w, err := readCapacity(configPath)
			if n := current(); err == nil && n == nil {
				err = fmt.Errorf("the node is not started yet")
			} else if err == nil {
				err = n.SetCapacity(w)
			}
			if err != nil {
				log.Error("SIGHUP: capacity not changed", "err", err)
				continue
			}
			log.Info("SIGHUP: capacity reloaded", "capacity", w)
		}
	}()
}
