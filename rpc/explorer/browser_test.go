package explorer_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/node/nodetest"
)

// wait bounds every wait of the browser test for the nodes; a page must
// show a new block within liveWithin.
const (
	wait       = 30 * time.Second
	liveWithin = time.Second
)

// Where chromiumPath looks: TestChromiumMissing points them nowhere.
var (
	chromiumFile = "/usr/bin/chromium"
	chromiumName = "chromium"
)

// chromiumPath finds the browser: /usr/bin/chromium or chromium on PATH.
// Without it the test fails in CI (CI=true), which must install it, and
// skips elsewhere, saying how to install it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumFile); err == nil {
		return chromiumFile
	}
	if p, err := exec.LookPath(chromiumName); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (/usr/bin/chromium or on PATH): CI must install it (apt-get install chromium; .ci/run does)")
	}
	t.Skip("chromium not found; to run the browser test: apt-get install chromium")
	return ""
}

// browser is a headless Chromium tab for a test; the errors and
// exceptions its pages write to the console are collected.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex // guards errors
	errors []string
}

// newBrowser starts headless Chromium (without its sandbox when run as
// root, which Chromium refuses otherwise) and opens a tab, closed at the
// end of the test; the whole session is bounded by a deadline.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("hide-scrollbars", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancelTime := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithErrorf(t.Logf))
	b := &browser{t: t, ctx: bctx}
	msgs := chromedp.Console(bctx) // starts the browser
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errors = append(b.errors, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTime()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.errors {
			t.Errorf("browser console: %s", e)
		}
	})
	return b
}

// do runs the actions, failing the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// navigate runs actions that load a page (a link clicked, a form sent,
// a reload) and waits for it, which must answer 200.
func (b *browser) navigate(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	if resp.Status != 200 {
		b.t.Fatalf("browser: %s: %s answered %d", what, resp.URL, resp.Status)
	}
}

// waitJS waits up to d for the JavaScript expression to be true.
func (b *browser) waitJS(what, expr string, d time.Duration) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(d)))
	if err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML("main"))
		b.t.Fatalf("browser: waiting %v for %s (%s): %v\npage:\n%s", d, what, expr, err, html)
	}
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", expr, err)
	}
	return v
}

// screenshot saves the whole page as a PNG in the test's artifact
// directory (kept with go test -artifacts) and logs its path.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot: %v", err)
	}
	path := filepath.Join(b.t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// textIs is a JavaScript predicate: the element of sel exists and its
// text is want.
func textIs(sel, want string) string {
	return fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? "").trim() === %q`, sel, want)
}

// TestExplorerInBrowser drives headless Chromium against a real node of a
// three-node network: the overview shows the tip and, without a reload,
// each new block within a second of its import (through /ws); a tx id
// searched opens its page; the recipient's address page shows the
// payment; and a reorganisation of the node at a partition's heal shows
// as the banner and in the list.
func TestExplorerInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network and a browser; skipped with -short")
	}
	h := nodetest.New(t, 3, nodetest.Options{RPC: true})
	br := newBrowser(t)
	h.Mine(0, 2)
	h.WaitSameTip(wait)
	h.WaitGossipReady(wait)
	nd := h.Nodes[0]
	overview := nd.RPCURL() + "/explorer/"

	// The overview shows the current tip, and subscribes.
	br.navigate("open the overview", chromedp.Navigate(overview))
	br.waitJS("the tip", textIs("#tip-height", "2"), wait)
	br.waitJS("the subscription", `document.getElementById("live-status").dataset.state === "live"`, wait)
	br.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))

	// A new block appears within a second, without a reload.
	for want := 3; want <= 4; want++ {
		h.Mine(0, 1)
		t0 := time.Now()
		br.waitJS("block "+strconv.Itoa(want), textIs("#tip-height", strconv.Itoa(want)), wait)
		if d := time.Since(t0); d > liveWithin {
			t.Errorf("block %d took %v to appear (want under %v)", want, d, liveWithin)
		} else {
			t.Logf("block %d appeared %v after its import", want, d.Round(time.Millisecond))
		}
	}
	if br.eval(`String(window.notReloaded === true)`) != "true" {
		t.Fatal("the page was reloaded")
	}

	// Searching a tx id opens its page; it is pending, then confirmed.
	payee := chaintest.Key("explorer-payee").Address()
	acc, err := nd.Chain().Account(chaintest.Key("alice").Address())
	if err != nil {
		t.Fatal(err)
	}
	tx := &types.Tx{Version: types.TxVersion, To: payee, Amount: 12_34567000, Fee: 2000, Nonce: acc.Nonce,
		Memo: []byte(`<img src=x onerror="document.title='pwned'">`)}
	chaintest.Key("alice").Sign(tx, h.Params.GenesisHash())
	id, err := nd.SubmitTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	br.navigate("search the tx id", chromedp.SetValue("#q", id.String()), chromedp.Submit("#q"))
	br.waitJS("the tx page", fmt.Sprintf(`document.getElementById("tx")?.dataset.id === %q`, id.String()), wait)
	if st := br.eval(`document.getElementById("tx").dataset.status`); st != "pending" {
		t.Fatalf("tx status %q before it is mined", st)
	}
	if memo := br.eval(`document.getElementById("memo-text").textContent`); memo != string(tx.Memo) {
		t.Fatalf("memo shown as %q", memo)
	}
	h.Mine(0, 1)
	h.WaitSameTip(wait)
	br.navigate("reload the tx page", chromedp.Reload())
	br.waitJS("the tx confirmed", `document.getElementById("tx")?.dataset.status === "confirmed"`, wait)

	// The recipient's page, reached by its link, shows the payment.
	br.navigate("open the payee", chromedp.Click(fmt.Sprintf(`a[href$="/address/%s"]`, payee)))
	br.waitJS("the payee's page", fmt.Sprintf(`document.getElementById("address")?.dataset.address === %q`, payee.String()), wait)
	row := fmt.Sprintf(`tr.entry.received a[href$="/tx/%s"]`, id)
	br.waitJS("the payment in the history", fmt.Sprintf(`document.querySelector(%q) !== null`, row), wait)
	if bal := br.eval(`document.getElementById("balance").textContent`); bal != "12.34567 CRN" {
		t.Fatalf("payee balance %q", bal)
	}
	if title := br.eval(`document.title`); strings.Contains(title, "pwned") {
		t.Fatal("the memo ran as HTML")
	}

	// A reorganisation: node 0 alone mines one block, the other two mine
	// two; at the heal node 0 switches to their branch, and its overview
	// says so.
	br.navigate("open the overview again", chromedp.Navigate(overview))
	br.waitJS("the subscription", `document.getElementById("live-status").dataset.state === "live"`, wait)
	h.Partition([]int{0}, []int{1, 2})
	own := h.Mine(0, 1)[0]
	br.waitJS("node 0's own block", textIs("#tip-height", "6"), wait)
	majority := h.Mine(1, 2)
	newTip := majority[len(majority)-1].Hash()
	h.WaitTip(wait, newTip, 1, 2)
	h.Heal()
	h.WaitTip(wait, newTip, 0)
	br.waitJS("the reorg banner", fmt.Sprintf(`(b => !b.hidden && b.dataset.depth === "1" && b.dataset.oldTip === %q && b.dataset.newTip === %q)(document.getElementById("reorg-banner"))`,
		own.Hash().String(), newTip.String()), wait)
	br.waitJS("the new tip", textIs("#tip-height", "7"), wait)
	br.waitJS("the reorg listed", fmt.Sprintf(`(document.querySelector("#reorgs li")?.textContent ?? "").includes(%q)`, "depth 1"), wait)
	br.waitJS("the old tip as a valid fork", fmt.Sprintf(`document.querySelector('tr.tip-valid-fork a[href$="/block/%s"]') !== null`, own.Hash()), wait)
	br.screenshot("explorer-overview.png")
}

// TestChromiumMissing: without a browser, the browser test skips with the
// way to install it, or fails when CI=true. It runs this test binary
// again with the lookup pointed nowhere (chromiumLookupHelper).
func TestChromiumMissing(t *testing.T) {
	for _, c := range []struct {
		ci       string
		fails    bool
		contains string
	}{
		{"", false, "--- SKIP: TestChromiumLookupHelper"},
		{"true", true, "--- FAIL: TestChromiumLookupHelper"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChromiumLookupHelper$", "-test.v")
		cmd.Env = append(os.Environ(), "EXPLORER_CHROMIUM_HELPER=1", "CI="+c.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.fails || !strings.Contains(string(out), c.contains) ||
			!strings.Contains(string(out), "apt-get install chromium") {
			t.Errorf("CI=%q: %v\n%s", c.ci, err, out)
		}
	}
}

// TestChromiumLookupHelper is TestChromiumMissing's child process.
func TestChromiumLookupHelper(t *testing.T) {
	if os.Getenv("EXPLORER_CHROMIUM_HELPER") != "1" {
		t.Skip("run by TestChromiumMissing")
	}
	chromiumFile, chromiumName = "/nonexistent/chromium", "chromium-not-installed"
	chromiumPath(t)
	t.Error("chromiumPath returned without a browser")
}
