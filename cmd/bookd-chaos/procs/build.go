package procs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildBinary builds the bookd command of the module this package belongs to
// (found with `go env GOMOD` from the working directory) into dir/bookd and
// returns its path.
func BuildBinary(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("procs: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("procs: not inside a Go module, cannot find ./cmd/bookd")
	}
	bin, err := filepath.Abs(filepath.Join(dir, "bookd"))
	if err != nil {
		return "", fmt.Errorf("procs: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/bookd")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("procs: go build ./cmd/bookd in %s: %w\n%s", cmd.Dir, err, out)
	}
	return bin, nil
}
