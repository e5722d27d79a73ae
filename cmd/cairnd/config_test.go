package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// effective runs `cairnd config` with args and env and decodes its TOML.
func effective(t *testing.T, env []string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(binary, append(args, "config")...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cairnd %v config: %v\n%s", args, err, stderr.String())
	}
	var m map[string]any
	if _, err := toml.Decode(stdout.String(), &m); err != nil {
		t.Fatalf("cairnd config printed no TOML (%v):\n%s", err, stdout.String())
	}
	return m
}

// TestConfigFile: settings come from the flag, else the CAIRN_ variable,
// else the --config file (keys as flag names, dotted or as tables), else
// the default; `cairnd config` shows the result, and a node started with
// only --config listens where the file says.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	genesis := writeGenesis(t, dir)
	port := freePort(t)
	file := filepath.Join(dir, "cairnd.toml")
	os.WriteFile(file, []byte(fmt.Sprintf(`datadir = %q
genesis = %q
"rpc.addr" = "127.0.0.1:%d"
"log.format" = "json"
cache = 64

[p2p]
listen = ["/ip4/127.0.0.1/tcp/0"]
nodht = true

[miner]
threads = 3
`, filepath.Join(dir, "node"), genesis, port)), 0o644)

	m := effective(t, nil, "--config", file)
	if m["rpc.addr"] != "127.0.0.1:"+strconv.Itoa(port) || m["miner.threads"] != int64(3) || m["p2p.nodht"] != true ||
		fmt.Sprint(m["p2p.listen"]) != "[/ip4/127.0.0.1/tcp/0]" || m["log.level"] != "info" || m["cache"] != int64(64) {
		t.Errorf("from the file: %v", m)
	}
	m = effective(t, []string{"CAIRN_MINER_THREADS=4"}, "--config", file)
	if m["miner.threads"] != int64(4) {
		t.Errorf("environment over the file: miner.threads %v, want 4", m["miner.threads"])
	}
	m = effective(t, []string{"CAIRN_MINER_THREADS=4"}, "--config", file, "--miner.threads", "5")
	if m["miner.threads"] != int64(5) {
		t.Errorf("flag over environment and file: miner.threads %v, want 5", m["miner.threads"])
	}
	m = effective(t, []string{"CAIRN_CACHE=128"}, "--config", file)
	if m["cache"] != int64(128) {
		t.Errorf("environment over the file: cache %v, want 128", m["cache"])
	}
	m = effective(t, []string{"CAIRN_CACHE=128"}, "--config", file, "--cache", "256")
	if m["cache"] != int64(256) {
		t.Errorf("flag over environment and file: cache %v, want 256", m["cache"])
	}
	if m = effective(t, nil); m["cache"] != int64(32) {
		t.Errorf("default cache %v, want 32", m["cache"])
	}
	m = effective(t, []string{"CAIRN_CONFIG=" + file})
	if m["miner.threads"] != int64(3) {
		t.Errorf("CAIRN_CONFIG: miner.threads %v, want 3", m["miner.threads"])
	}

	// The node starts where the file says.
	d := launch(t, exec.Command(binary, "--config", file), port)
	d.waitReady(t, 10*time.Second)
	if _, err := d.signal(t, syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimSpace(d.log.String()), "{") {
		t.Errorf("log.format from the file not used: %.200s", d.log.String())
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown key", `"rpc.adr" = "127.0.0.1:1"`, `unknown setting "rpc.adr"`},
		{"unknown table key", "[miner]\nthread = 2", `unknown setting "miner.thread"`},
		{"not TOML", `rpc.addr = `, "--config"},
		{"wrong type", `"miner.threads" = "two"`, "miner.threads"},
		{"cache not a number", `cache = "big"`, "cache"},
		{"the file itself", `config = "other.toml"`, `unknown setting "config"`},
	} {
		file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".toml")
		os.WriteFile(file, []byte(tc.text), 0o644)
		var stderr bytes.Buffer
		cmd := exec.Command(binary, "--config", file, "config")
		cmd.Stderr = &stderr
		err := cmd.Run()
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if err == nil || len(lines) != 1 || !strings.HasPrefix(lines[0], "cairnd: --config ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%s: %v, stderr %q; want one line naming %q", tc.name, err, stderr.String(), tc.want)
		}
	}
	var stderr bytes.Buffer
	cmd := exec.Command(binary, "--config", filepath.Join(dir, "missing.toml"), "config")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "missing.toml") {
		t.Errorf("a missing file: %v %q", err, stderr.String())
	}
}
