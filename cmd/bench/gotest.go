package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gameauth/gameauth/internal/gobench"
)

// goBench runs the benchmarks matching pattern in pkg (relative to the
// module root) count times and parses them; go test's own output goes to
// stderr as it comes.
func goBench(ctx context.Context, root, pkg, pattern string, count int, benchtime string) (gobench.Set, error) {
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchmem", "-count", strconv.Itoa(count)}
	if benchtime != "" {
		args = append(args, "-benchtime", benchtime)
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return gobench.Set{}, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	set, err := gobench.Parse(&out)
	if err == nil && len(set.Order) == 0 {
		err = fmt.Errorf("go %s: no benchmark results", strings.Join(args, " "))
	}
	return set, err
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the gameauth module")
	}
	return filepath.Dir(mod), nil
}
