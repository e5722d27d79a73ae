// Package layering holds the test that keeps the import direction the
// README's package map describes: chain/types <- consensus <- chain <-
// {txpool, p2p, rpc} <- node <- cmd/*, with rpc <- rpc/explorer <- node
// and wallet on chain/types alone.
package layering

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cairn-ledger/cairn/"

// allowed lists, for each package of the node, the module packages its
// non-test code may import. The programs (cmd/*, sim, loadtest, testnet)
// and test helpers may import what they need; nothing imports cmd/*.
var allowed = map[string][]string{
	"chain/types":  {},
	"consensus":    {"chain/types"},
	"chain":        {"chain/types", "consensus"},
	"txpool":       {"chain", "chain/types", "consensus"},
	"p2p":          {"chain", "chain/types", "consensus"},
	"rpc":          {"chain", "chain/types", "consensus"},
	"rpc/explorer": {"chain", "chain/types", "consensus", "rpc"},
	"wallet":       {"chain/types"},
	"node":         {"chain", "chain/types", "consensus", "txpool", "p2p", "rpc", "rpc/explorer"},
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module)
		seen[pkg] = true
		var imports []string
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, module) {
				imports = append(imports, strings.TrimPrefix(imp, module))
			}
		}
		if want, ok := allowed[pkg]; ok {
			for _, imp := range imports {
				if !slices.Contains(want, imp) {
					t.Errorf("%s imports %s; the layering allows only %v", pkg, imp, want)
				}
			}
		}
		for _, imp := range imports {
			if strings.HasPrefix(imp, "cmd/") {
				t.Errorf("%s imports the program %s", pkg, imp)
			}
		}
	}
	for pkg := range allowed {
		if !seen[pkg] {
			t.Errorf("package %s not found by go list: the layering table is out of date", pkg)
		}
	}
}
