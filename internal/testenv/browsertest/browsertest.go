// Package browsertest drives a headless Chromium for the browser tests of
// every package that serves pages (internal/web, internal/oidc): start,
// run steps with a timeout that reports where the browser was, read text
// and take screenshots at desktop and phone widths into
// $GATEHOUSE_SCREENSHOTS when it is set.
package browsertest

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium for one test.
type Browser struct {
	T        *testing.T
	Ctx      context.Context // the browser's; steps add their own timeout
	Deadline context.Context // the whole test's
	// Shots is the directory screenshots go to, "" when they are off.
	Shots string
}

// New starts Chromium at chromium (testenv.ChromiumPath) with the flags
// that keep it offline and quiet, in a 1280×900 window.
func New(t *testing.T, chromium string) *Browser {
	t.Helper()
	shots := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	deadline, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline,
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelCtx)

	// Start the browser on ctx with no per-step timeout: a timeout on the
	// first call's context would stop the whole browser.
	started := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	t.Logf("Chromium started in %v", time.Since(started).Round(time.Millisecond))
	return &Browser{T: t, Ctx: ctx, Deadline: deadline, Shots: shots}
}

// Do runs one step's actions with a 15-second timeout; on failure it
// reports where the browser was and what the page said.
func (b *Browser) Do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	stepCtx, cancel := context.WithTimeout(b.Ctx, 15*time.Second)
	defer cancel()
	start := time.Now()
	defer func() { b.T.Logf("%-32s %v", step, time.Since(start).Round(time.Millisecond)) }()
	if err := chromedp.Do(stepCtx, actions...); err != nil {
		loc, _ := chromedp.Run(b.Ctx, chromedp.Location())
		body, _ := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS("body")))
		b.T.Fatalf("%s: %v\nat %s:\n%s", step, err, loc, body)
	}
}

// Text is the visible text of the first element matching sel.
func (b *Browser) Text(sel string) string {
	b.T.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.T.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// Location is the page's URL.
func (b *Browser) Location() *url.URL {
	b.T.Helper()
	loc, err := chromedp.Run(b.Ctx, chromedp.Location())
	if err != nil {
		b.T.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.T.Fatal(err)
	}
	return u
}

// Path is the page's URL path.
func (b *Browser) Path() string { b.T.Helper(); return b.Location().Path }

// Shot saves a full-page screenshot as name.png when screenshots are on.
func (b *Browser) Shot(name string) {
	b.T.Helper()
	if b.Shots == "" {
		return
	}
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.T.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.Shots, name+".png"), png, 0o644); err != nil {
		b.T.Fatal(err)
	}
}

// ShotWidths saves the page as name.png at desktop width and as
// name-phone.png at a phone's (390×844, mobile, 2× scale), and leaves the
// browser at desktop width. The page is laid out again at each size, not
// reloaded, so the answer to a form post can be shot too. Nothing happens
// when screenshots are off.
func (b *Browser) ShotWidths(name string) {
	b.T.Helper()
	if b.Shots == "" {
		return
	}
	b.Shot(name)
	b.Do("phone "+name, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	b.Shot(name + "-phone")
	b.Do("desktop again", chromedp.EmulateViewport(1280, 900))
}
