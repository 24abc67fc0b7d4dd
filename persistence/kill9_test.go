package persistence

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/scheduler"
)

// The kill -9 test: a child process (this test binary, re-executed into TestKill9Child) appends
// real signed assignments and messages under load and prints one line per append that returned
// success; the parent SIGKILLs it at a random moment, reopens the store and checks that every
// acknowledged append is there byte for byte and that every log is whole. Rounds share a store
// directory in generations of killGeneration rounds, so the child also recovers from the previous
// kill before appending again.
const (
	envKillDir     = "AW_KILL_CHILD_DIR"
	envKillSeed    = "AW_KILL_CHILD_SEED"
	envKillRounds  = "AW_KILL_ROUNDS"
	killProcesses  = 48
	killWorkers    = 16
	killGeneration = 5
)

// killPID is the i-th process id of a test run: derived from the run's seed so that every child of
// a generation appends to the same processes.
func killPID(seed string, i int) ID { return sha256.Sum256([]byte(seed + "/" + strconv.Itoa(i))) }

func TestKill9(t *testing.T) {
	if os.Getenv(envKillDir) != "" {
		t.Skip("inside the child")
	}
	rounds := 20
	if v := os.Getenv(envKillRounds); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q is not a positive integer", envKillRounds, v)
		}
		rounds = n
	}
	base := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var dir, seed string
	acked := map[Location]ackLine{}
	verified := map[ID]uint64{} // per process: entries whose signatures were already checked
	total, kills := 0, 0
	for r := 0; r < rounds; r++ {
		if r%killGeneration == 0 { // a fresh store keeps verification time bounded on long runs
			dir = filepath.Join(base, fmt.Sprintf("gen%d", r/killGeneration))
			seed = fmt.Sprintf("%d-%d", time.Now().UnixNano(), r)
			acked = map[Location]ackLine{}
			verified = map[ID]uint64{}
		}
		// Kill anywhere from during Open (WAL recovery of the previous kill) to deep into the load.
		delay := time.Duration(50+rng.IntN(900)) * time.Millisecond
		t0 := time.Now()
		lines, killed, stderr := runKillChild(t, dir, seed, delay)
		childTime := time.Since(t0)
		for _, a := range lines {
			acked[a.loc] = a
		}
		total += len(lines)
		if killed {
			kills++
		}
		t0 = time.Now()
		n := verifyAfterKill(t, dir, seed, acked, verified)
		t.Logf("round %d: killed after %v (SIGKILL=%v), %d new acks, %d entries on disk; child %v, verify %v",
			r, delay, killed, len(lines), n, childTime.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
		if t.Failed() {
			t.Logf("child stderr:\n%s", stderr)
			return
		}
	}
	// A run where nothing was ever acknowledged or nothing was ever killed would prove nothing.
	if total == 0 || kills == 0 {
		t.Fatalf("%d acknowledged appends and %d kills over %d rounds: the test did not exercise anything", total, kills, rounds)
	}
	t.Logf("%d rounds, %d kills, %d acknowledged appends verified", rounds, kills, total)
}

type ackLine struct {
	loc        Location
	asgID      ID
	msgID      ID
	digest     string // hex SHA-256 of assignment ‖ message bytes
	hasMessage bool
}

func runKillChild(t *testing.T, dir, seed string, delay time.Duration) (acks []ackLine, killed bool, stderr string) {
	var sent atomic.Bool
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), envKillDir+"="+dir, envKillSeed+"="+seed)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var parseErr error
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "ACK "):
				a, err := parseAck(line)
				if err != nil && parseErr == nil {
					parseErr = err
				}
				acks = append(acks, a)
			case strings.HasPrefix(line, "FAIL "):
				if parseErr == nil {
					parseErr = errors.New(line)
				}
			}
		}
	}()
	timer := time.AfterFunc(delay, func() { sent.Store(cmd.Process.Signal(syscall.SIGKILL) == nil) })
	wg.Wait() // the pipe closes when the child dies
	werr := cmd.Wait()
	timer.Stop()
	killed = sent.Load()
	if parseErr != nil {
		t.Errorf("child: %v", parseErr)
	}
	// The child appends until killed; exiting on its own means it failed.
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child did not die of SIGKILL: %v", werr)
	}
	return acks, killed, errBuf.String()
}

func parseAck(line string) (ackLine, error) {
	f := strings.Fields(line)
	if len(f) != 7 {
		return ackLine{}, fmt.Errorf("malformed ack line %q", line)
	}
	var a ackLine
	var err error
	dec := func(s string) (id ID) {
		b, e := base64.RawURLEncoding.DecodeString(s)
		if e != nil || len(b) != idLen {
			err = fmt.Errorf("bad id %q in %q", s, line)
		}
		copy(id[:], b)
		return id
	}
	a.loc.Process = dec(f[1])
	a.loc.Nonce, _ = strconv.ParseUint(f[2], 10, 64)
	a.asgID, a.msgID = dec(f[3]), dec(f[4])
	a.digest, a.hasMessage = f[5], f[6] == "1"
	return a, err
}

func digest(e *Entry) string {
	h := sha256.New()
	h.Write(e.Assignment)
	h.Write(e.Message)
	return hex.EncodeToString(h.Sum(nil))
}

// verifyAfterKill reopens the store and checks it; it returns the number of log entries.
func verifyAfterKill(t *testing.T, dir, seed string, acked map[Location]ackLine, verified map[ID]uint64) int {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		if _, statErr := os.Stat(dir); os.IsNotExist(statErr) && len(acked) == 0 {
			return 0 // killed before the store was created
		}
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	total := 0
	onDisk := map[Location]*Entry{}
	for i := 0; i < killProcesses; i++ {
		pid := killPID(seed, i)
		entries := verifyLog(t, s, pid, verified[pid])
		verified[pid] = uint64(len(entries))
		total += len(entries)
		for j := range entries {
			onDisk[Location{pid, entries[j].Nonce}] = &entries[j]
		}
	}
	for loc, a := range acked {
		e, ok := onDisk[loc]
		if !ok {
			t.Errorf("acknowledged append %s/%d lost", b64(loc.Process), loc.Nonce)
			continue
		}
		if digest(e) != a.digest || e.AssignmentID != a.asgID || e.MessageID != a.msgID || (len(e.Message) > 0) != a.hasMessage {
			t.Errorf("acknowledged append %s/%d differs from what was acknowledged", b64(loc.Process), loc.Nonce)
		}
	}
	return total
}

// verifyLog checks one process's log end to end: nonces 0..n-1 with no gap or duplicate, the hash
// chain from the seed, the id indexes pointing back at each entry, the timestamp index covering the
// same entries, and Head. Entries from nonce sigFrom on (the ones new since the previous round; the
// older ones were checked then) must also be found through both id indexes and parse as ANS-104
// items agreeing with their assignment tags.
func verifyLog(t *testing.T, s *Store, pid ID, sigFrom uint64) []Entry {
	t.Helper()
	var entries []Entry
	q := Query{Process: pid, By: ByNonce, Limit: 1000}
	for {
		pg, err := s.Scan(q)
		if err != nil {
			t.Fatalf("scan %s: %v", b64(pid), err)
		}
		entries = append(entries, pg.Entries...)
		if !pg.HasMore {
			break
		}
		q.From = Bound(int64(pg.Entries[len(pg.Entries)-1].Nonce))
	}
	chain := make([]scheduler.ChainEntry, len(entries))
	for i, e := range entries {
		chain[i] = scheduler.ChainEntry{Nonce: e.Nonce, HashChain: e.HashChain, AssignmentID: e.AssignmentID}
		if e.Nonce < sigFrom {
			continue
		}
		if locs, err := s.ByMessageID(e.MessageID); err != nil || !containsLoc(locs, Location{pid, e.Nonce}) {
			t.Errorf("%s/%d: message index: %v %v", b64(pid), e.Nonce, locs, err)
		}
		if loc, err := s.ByAssignmentID(e.AssignmentID); err != nil || loc != (Location{pid, e.Nonce}) {
			t.Errorf("%s/%d: assignment index: %v %v", b64(pid), e.Nonce, loc, err)
		}
		// Parse every new item; verify signatures on one in 16 (ed25519 under -race dominates the run
		// time, and the byte-identity of acknowledged entries is already checked by digest).
		parse := ans104.Parse
		if e.Nonce%16 == 0 {
			parse = ans104.ParseAndVerify
		}
		item, err := parse(e.Assignment, ans104.DefaultLimits())
		if err != nil {
			t.Errorf("%s/%d: assignment item: %v", b64(pid), e.Nonce, err)
			continue
		}
		a, err := ans104.AsAssignment(item)
		if err != nil || item.ID() != e.AssignmentID || a.Process != pid || a.Nonce != e.Nonce ||
			a.HashChain != e.HashChain || a.Message != e.MessageID || a.Epoch != e.Epoch || a.Timestamp != e.Timestamp {
			t.Errorf("%s/%d: assignment item disagrees with its entry (%v)", b64(pid), e.Nonce, err)
		}
		if len(e.Message) > 0 {
			m, err := parse(e.Message, ans104.DefaultLimits())
			if err != nil || m.ID() != e.MessageID {
				t.Errorf("%s/%d: message item: %v", b64(pid), e.Nonce, err)
			}
		}
	}
	if err := scheduler.VerifyChain(pid, 0, chain); err != nil {
		t.Errorf("hash chain: %v", err)
	}
	byTS, err := s.Scan(Query{Process: pid, Limit: s.opts.MaxScanLimit})
	if err == nil && len(entries) < s.opts.MaxScanLimit && len(byTS.Entries) != len(entries) {
		t.Errorf("%s: timestamp index has %d entries, log has %d", b64(pid), len(byTS.Entries), len(entries))
	}
	h, ok, err := s.Head(pid)
	if err != nil || ok != (len(entries) > 0) || (ok && h.Nonce != entries[len(entries)-1].Nonce) {
		t.Errorf("%s: Head = %d %v %v, log has %d entries", b64(pid), h.Nonce, ok, err, len(entries))
	}
	return entries
}

func containsLoc(locs []Location, l Location) bool {
	for _, x := range locs {
		if x == l {
			return true
		}
	}
	return false
}

// TestKill9Child is the child side of TestKill9; it only runs when the parent sets envKillDir.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv(envKillDir)
	if dir == "" {
		t.Skip("run by TestKill9 only")
	}
	seed := os.Getenv(envKillSeed)
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stdout, "FAIL "+format+"\n", args...)
		os.Exit(3)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fail("open: %v", err)
	}
	signer, err := ans104.GenerateEd25519Signer()
	if err != nil {
		fail("signer: %v", err)
	}
	ctx := context.Background()
	states := make([]scheduler.State, killProcesses)
	for i := range states {
		pid := killPID(seed, i)
		err := s.PutProcess(ctx, Process{ID: pid, Owner: signer.Owner(), Item: []byte("process item " + seed),
			Tags: []Tag{{"Data-Protocol", "ao"}, {"Type", "Process"}}})
		if err != nil && !errors.Is(err, ErrProcessExists) {
			fail("put process: %v", err)
		}
		// Rebuild the scheduler state from the log, as the ProcessActor does after a restart.
		states[i] = scheduler.Fresh(pid)
		if h, ok, err := s.Head(pid); err != nil {
			fail("head: %v", err)
		} else if ok {
			states[i] = scheduler.State{Process: pid, Started: true, Nonce: h.Nonce, Epoch: h.Epoch,
				Timestamp: h.Timestamp, HashChain: h.HashChain, AssignmentID: h.AssignmentID}
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < killWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			data := make([]byte, 1024)
			lastMsg := map[int]ID{} // last message scheduled in each of this worker's processes
			for n := 0; ; n++ {
				i := w + (n%(killProcesses/killWorkers))*killWorkers
				st := &states[i]
				if n%50 == 49 && lastMsg[i] != (ID{}) {
					// A message already scheduled in this process must be refused, never renumbered.
					if err := appendOne(ctx, s, signer, st, nil, lastMsg[i]); !errors.Is(err, ErrMessageExists) {
						fail("duplicate message accepted or wrong error: %v", err)
					}
				}
				copy(data, fmt.Sprintf("worker %d append %d %s", w, n, seed))
				msg := ans104.NewItem(data, st.Process[:], nil, []ans104.Tag{
					{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}, {Name: "Action", Value: "Eval"}})
				if err := msg.Sign(signer); err != nil {
					fail("sign message: %v", err)
				}
				if err := appendOne(ctx, s, signer, st, msg, msg.ID()); err != nil {
					fail("append: %v", err)
				}
				lastMsg[i] = msg.ID()
			}
		}(w)
	}
	wg.Wait()
}

// appendOne schedules one message (msg nil: an assignment-only entry for msgID) into st's process and
// prints the ack line once Append has returned success.
func appendOne(ctx context.Context, s *Store, signer ans104.Signer, st *scheduler.State, msg *ans104.DataItem, msgID ID) error {
	a, err := scheduler.Next(*st, scheduler.Input{Message: msgID, Clock: time.Now().UnixMilli(), BlockHeight: 1_500_000, Epoch: st.Epoch})
	if err != nil {
		return err
	}
	item, err := scheduler.Sign(a, signer)
	if err != nil {
		return err
	}
	e := Entry{Process: a.Process, Nonce: a.Nonce, Epoch: a.Epoch, Timestamp: a.Timestamp, BlockHeight: a.BlockHeight,
		HashChain: a.HashChain, AssignmentID: item.ID(), Assignment: item.Bytes(), MessageID: msgID}
	if msg != nil {
		e.Message = msg.Bytes()
	}
	if err := s.Append(ctx, e); err != nil {
		return err
	}
	*st = st.Advance(a, item.ID())
	hasMsg := "0"
	if msg != nil {
		hasMsg = "1"
	}
	// One write per line: a pipe write below PIPE_BUF is atomic, so concurrent workers never interleave.
	fmt.Fprintf(os.Stdout, "ACK %s %d %s %s %s %s\n", b64(e.Process), e.Nonce, b64(e.AssignmentID), b64(e.MessageID), digest(&e), hasMsg)
	return nil
}
