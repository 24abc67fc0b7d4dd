package arlocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNotInstalled means scripts/deps.sh has not installed arlocal.
var ErrNotInstalled = errors.New("arlocal is not installed: run `make deps`")

// Instance is one running arlocal.
type Instance struct {
	URL  string // http://127.0.0.1:PORT
	Port int
	dir  string // run folder (database, log)
	cmd  *exec.Cmd
	done chan struct{}
	hc   *http.Client
}

// InstallDir is testdata/arlocal under the repository root (the folder holding go.mod, found by
// walking up from the working directory).
func InstallDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "arlocal"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("arlocal: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start runs arlocal from install (InstallDir when empty) on a free loopback port, with its
// database in a fresh folder under /dev/shm (or the system temporary folder if there is no tmpfs),
// and returns once GET /info answers.
func Start(ctx context.Context, install string) (*Instance, error) {
	if install == "" {
		var err error
		if install, err = InstallDir(); err != nil {
			return nil, err
		}
	}
	bin := filepath.Join(install, "node_modules", "arlocal", "bin", "index.js")
	preload := filepath.Join(install, "loopback.cjs")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w (%s missing)", ErrNotInstalled, bin)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("%w (node is not on PATH)", ErrNotInstalled)
	}
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "actorweave-arlocal-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "arlocal.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// --dbpath is joined to the working directory even when absolute, so run inside dir.
	cmd := exec.Command("node", "-r", preload, bin, strconv.Itoa(port), "--hidelogs", "--dbpath", "db")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "ARLOCAL_HOST=127.0.0.1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("arlocal: start: %w", err)
	}
	logf.Close()
	in := &Instance{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, dir: dir, cmd: cmd,
		done: make(chan struct{}), hc: &http.Client{Timeout: 30 * time.Second}}
	go func() { _ = cmd.Wait(); close(in.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := in.get(ctx, "/info"); err == nil {
			return in, nil
		}
		select {
		case <-in.done:
			log := in.Log()
			in.Stop()
			return nil, fmt.Errorf("arlocal exited before answering /info:\n%s", log)
		case <-ctx.Done():
			in.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log := in.Log()
			in.Stop()
			return nil, fmt.Errorf("arlocal did not answer /info within 60 s:\n%s", log)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (in *Instance) get(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := in.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("arlocal GET %s: %d %s", path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// Mint gives addr (a wallet address) a balance large enough for any test: POST /tx refuses a
// transaction whose owner cannot pay (410). Minting also makes arlocal index the items that addr
// signs at once instead of only after /mine.
func (in *Instance) Mint(ctx context.Context, addr string) error {
	return in.get(ctx, "/mint/"+addr+"/1000000000000000000")
}

// Mine mines the pending transactions into a block.
func (in *Instance) Mine(ctx context.Context) error { return in.get(ctx, "/mine") }

// Log is arlocal's output so far (for failure messages).
func (in *Instance) Log() string {
	b, _ := os.ReadFile(filepath.Join(in.dir, "arlocal.log"))
	return string(b)
}

// Stop terminates arlocal (SIGTERM, then SIGKILL after 10 s) and removes its folder.
func (in *Instance) Stop() {
	if in.cmd.Process != nil {
		_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL)
			<-in.done
		}
	}
	os.RemoveAll(in.dir)
}
