package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Binaries are the paths of the built cairnd and cairn.
type Binaries struct {
	Cairnd string
	Cairn  string
}

// moduleRoot returns the directory of the main module's go.mod, asking the
// go command (so it works from any subdirectory).
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the cairn module: run from the repository (go.mod not found)")
	}
	return filepath.Dir(gomod), nil
}

// goTool returns the go command to build with: $GO if set, else "go" from
// PATH (go test puts its own toolchain first there).
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// build compiles cmd/cairnd and cmd/cairn of the module at root into
// outDir with `go build -o outDir/ ./cmd/cairnd ./cmd/cairn`.
func build(ctx context.Context, root, outDir string) (Binaries, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Binaries{}, err
	}
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", outDir+string(filepath.Separator), "./cmd/cairnd", "./cmd/cairn")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return Binaries{}, fmt.Errorf("go build ./cmd/cairnd ./cmd/cairn: %w\n%s", err, out.Bytes())
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	return Binaries{
		Cairnd: filepath.Join(outDir, "cairnd"+exe),
		Cairn:  filepath.Join(outDir, "cairn"+exe),
	}, nil
}
