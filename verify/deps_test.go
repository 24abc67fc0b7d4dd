package verify

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Anyone can verify a process from Arweave alone with this package: it must not pull in the node's
// actors, its cluster transport (Proto.Actor, gRPC, memberlist) or the node itself. A package it
// imports that grows such a dependency (recovery once did, for its on-demand flight) fails here.
func TestVerifyStaysFreeOfTheCluster(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), deps)
	}
	for _, d := range deps {
		for _, banned := range []string{"/actorweave/actors", "/actorweave/cluster", "/actorweave/node", "/actorweave/api",
			"asynkron/protoactor-go", "hashicorp/memberlist", "google.golang.org/grpc"} {
			if strings.Contains(d, banned) {
				t.Errorf("verify depends on %s", d)
			}
		}
	}
}
