package admin_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/account"
)

// findBrowser returns the Chromium to drive: $CHROMIUM_BIN, else Debian's,
// else one on PATH; "" when there is none.
func findBrowser() string {
	if bin := os.Getenv("CHROMIUM_BIN"); bin != "" {
		return bin
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startBrowser starts one headless Chromium for a test and its subtests,
// each of which opens its own tab, and returns it with the folder its
// downloads go to. Outside CI, no browser skips; in CI (CI set) it fails,
// so that the browser tests cannot vanish silently.
func startBrowser(t *testing.T) (browser context.Context, downloads string) {
	t.Helper()
	bin := findBrowser()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found (CHROMIUM_BIN, /usr/bin/chromium, chromium or google-chrome on PATH), and CI is set")
		}
		t.Skip("no Chromium found: install chromium or set CHROMIUM_BIN to run the console's browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "start %s", bin)
	downloads = t.TempDir()
	_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
	require.NoError(t, err)
	return ctx, downloads
}

// tab is one browser tab on the console, with what went wrong in it: the
// dialogs that opened, the exceptions thrown, the policy violations.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string // "desktop" or "phone", in screenshot names

	mu         sync.Mutex
	dialogs    []string
	exceptions []string
}

// recordViolations makes every document of the tab keep the policy
// violations it meets, for violations() to read.
const recordViolations = `window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));`

// openTab opens a tab with a viewport of w×h; phone makes it a touch
// phone's (the page's meta viewport applies).
func openTab(t *testing.T, browser context.Context, w, h int64, phone bool) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, name: "desktop"}
	opts := []chromedp.EmulateViewportOption{}
	if phone {
		tb.name = "phone"
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(w, h, opts...)))
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			tb.dialogs = append(tb.dialogs, string(ev.Type)+": "+ev.Message)
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			tb.exceptions = append(tb.exceptions, msg)
		}
	}))
	// A dialog blocks the page: dismiss any, so that a regression fails
	// the test instead of hanging it.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: recordViolations})
	require.NoError(t, err)
	return tb
}

// do runs the steps, each bounded so that a missing element fails fast.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	require.NoError(tb.t, chromedp.Do(ctx, steps...))
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(tb.t, err, expr)
	return v
}

// waitFor waits until the JavaScript condition holds.
func (tb *tab) waitFor(cond string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(20*time.Millisecond)))
	require.NoError(tb.t, err, "waiting for %s; the page shows: %s", cond, tb.visibleText())
}

func (tb *tab) visibleText() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	return s
}

// text is the text of the element that selector finds.
func (tb *tab) text(selector string) string {
	return eval[string](tb, fmt.Sprintf(`document.querySelector(%q).textContent`, selector))
}

// click clicks the element with that id (a button, a link).
func (tb *tab) click(id string) { tb.do(chromedp.Click(chromedp.ID(id))) }

// clickCSS clicks the first element the CSS selector finds.
func (tb *tab) clickCSS(selector string) { tb.do(chromedp.Click(chromedp.CSS(selector))) }

// submit submits the form with that id as pressing its button would (a
// submit event; form.submit() would skip it).
func (tb *tab) submit(id string) {
	eval[chromedp.Void](tb, fmt.Sprintf(`document.getElementById(%q).requestSubmit()`, id))
}

// setValue sets the value of the field with that id, as a person choosing
// it would (input and change events).
func (tb *tab) setValue(id, value string) {
	tb.t.Helper()
	eval[chromedp.Void](tb, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); })()`, id, value))
	assert.Equal(tb.t, value, eval[string](tb, fmt.Sprintf(`document.getElementById(%q).value`, id)), "set %s", id)
}

// typeInto fills the field with that id: set at once (typing costs some
// 30 ms a key), then its last character typed, so that the field sees
// keys too.
func (tb *tab) typeInto(id, value string) {
	if value == "" {
		tb.setValue(id, "")
		return
	}
	last := len(value) - 1
	tb.setValue(id, value[:last])
	tb.do(chromedp.SendKeys(chromedp.ID(id), value[last:]))
}

// signIn opens the console and signs in with the token; it waits for the
// player search.
func (tb *tab) signIn(s *server, bearer string) {
	tb.do(chromedp.Navigate(s.url + "/admin/"))
	tb.waitFor(`document.getElementById('token') !== null`)
	tb.typeInto("token", bearer)
	tb.click("signin-submit")
}

// clean asserts that nothing went wrong in the tab: no dialog, no uncaught
// exception, no policy violation, and no horizontal overflow.
func (tb *tab) clean() {
	tb.t.Helper()
	// The tab's listener takes mu in the loop that reads the browser's
	// answers: hold it for no call to the browser.
	tb.mu.Lock()
	dialogs, exceptions := tb.dialogs, tb.exceptions
	tb.mu.Unlock()
	assert.Empty(tb.t, dialogs, "no JavaScript dialog opened")
	assert.Empty(tb.t, exceptions, "no uncaught exception")
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__violations`))
	require.NoError(tb.t, err)
	assert.Empty(tb.t, v, "no Content-Security-Policy violation")
}

// fits asserts that the page needs no horizontal scrolling.
func (tb *tab) fits(what string) {
	tb.t.Helper()
	w := eval[[]int](tb, `[document.documentElement.scrollWidth, window.innerWidth]`)
	assert.LessOrEqual(tb.t, w[0], w[1], "%s on %s: the page is wider than the screen", what, tb.name)
}

// shot saves a PNG of the whole page as $GAMEAUTH_SCREENSHOTS/<name>-<tab>.png.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	dir := os.Getenv("GAMEAUTH_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(tb.t, err)
	require.NoError(tb.t, os.MkdirAll(dir, 0o755))
	require.NoError(tb.t, os.WriteFile(filepath.Join(dir, name+"-"+tb.name+".png"), png, 0o644))
}

// hostile is what a player may type to run script in a page that parses
// their text as HTML: the nickname, in the fields that fit it
// (device ID and model, memo), and a shorter one where a nickname's 20
// characters do not.
const (
	hostile     = `<img src=x onerror=alert(1)>`
	hostileNick = `<svg onload=alert()>`
)

// The console driven in a real browser: one Chromium, a tab for each
// subtest, run side by side.
func TestConsoleInBrowser(t *testing.T) {
	browser, downloads := startBrowser(t)

	// The end-to-end run: find a hostile player by nickname, block
	// them through the form, and see the game refuse them with the reason.
	t.Run("find and block a player", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		s.signUp("ann@example.com", "Ann", "dev-ann")
		s.signUp("bob@example.com", "Bob the Builder", "dev-bob")
		id, access := s.signUpOn("mallory@example.com", hostileNick, "dev-mallory", hostile)
		require.Equal(t, "<nil>", fmt.Sprint(s.do("GET", "/me", access, nil).body["ErrorCode"]))

		tb := openTab(t, browser, 1280, 800, false)
		tb.do(chromedp.Navigate(s.url + "/admin/"))
		tb.waitFor(`document.getElementById('token') !== null`)
		assert.Equal(t, "Operator token", tb.text(`label[for=token]`), "a labelled field")
		tb.shot("signin")
		tb.typeInto("token", token)
		tb.click("signin-submit")
		tb.waitFor(`document.getElementById('search-q') !== null`)
		assert.Equal(t, token, eval[string](tb, `sessionStorage.getItem('gameauth.console.token')`), "kept for the tab")
		assert.Empty(t, eval[string](tb, `document.cookie`), "no cookie")

		tb.typeInto("search-q", "<svg")
		tb.submit("search-form")
		tb.waitFor(`document.querySelectorAll('.results-table a.player-link').length === 1`)
		assert.Equal(t, hostileNick, tb.text(`.results-table a.player-link`), "the nickname, as text")
		tb.shot("search")

		tb.clickCSS(`.results-table a.player-link`)
		tb.waitFor(`document.getElementById('player-nickname') !== null && document.getElementById('player-events').childElementCount > 0`)
		assert.Equal(t, hostileNick, tb.text(`#player-nickname`))
		assert.Equal(t, 0, eval[int](tb, `document.querySelectorAll('img, svg, script:not([src])').length`),
			"the player's text made no element")
		assert.True(t, eval[bool](tb, fmt.Sprintf(
			`[...document.querySelectorAll('.sessions-table td')].some((td) => td.textContent === %q)`, hostile)),
			"the device model, as text")
		assert.True(t, eval[bool](tb, fmt.Sprintf(
			`[...document.querySelectorAll('#player-events td')].some((td) => td.textContent === 'signup')`)),
			"the player's audit events")
		assert.Equal(t, id, eval[string](tb, `location.hash.split('/').pop()`))

		// Block them through the form: permanent, everything.
		const reason = `Botting in ranked <b>matches</b>`
		assert.True(t, eval[bool](tb, `document.getElementById('block-permanent').checked`), "permanent unless an end is set")
		tb.typeInto("block-reason", reason)
		tb.click("block-submit")
		tb.waitFor(`!document.getElementById('notice-ok').hidden`)
		assert.Contains(t, tb.text("#notice-ok"), "Player blocked")
		tb.waitFor(`document.querySelector('.blocks-table') !== null`)
		assert.True(t, eval[bool](tb, fmt.Sprintf(
			`[...document.querySelectorAll('.blocks-table td')].some((td) => td.textContent === %q)`, reason)),
			"the reason, as text")
		assert.Contains(t, tb.text(".badges"), "Blocked")
		tb.shot("player")

		// The game refuses the player, with the reason.
		me := s.do("GET", "/me", access, nil)
		assert.Equal(t, 403, me.status, me.raw)
		assert.Equal(t, account.CodeAccountBlocked, me.body["ErrorCode"])
		require.IsType(t, map[string]any{}, me.body["ErrorData"], me.raw)
		assert.Equal(t, reason, me.body["ErrorData"].(map[string]any)["blockReason"])

		// The audit log has it, and who did it.
		tb.click("nav-audit")
		tb.waitFor(`document.querySelector('#audit-events .events-table') !== null`)
		first := eval[[]string](tb, `[...document.querySelectorAll('#audit-events tbody tr:first-child td')].map((td) => td.textContent)`)
		require.Len(t, first, 8)
		assert.Equal(t, "block.added", first[1])
		assert.Equal(t, id, first[2])
		assert.Equal(t, "anna", first[6])
		assert.Equal(t, reason, first[7])
		tb.shot("audit")

		tb.clean()
	})

	t.Run("phone", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		s.signUp("ann@example.com", "Ann", "dev-ann")
		id, _ := s.signUpOn("annika@example.com", "Annika", "a-rather-long-device-identifier-0123456789abcdef", hostile)
		_, err := s.auth.Service().BlockPlayer(context.Background(), id, account.BlockSpec{
			Reason: "A long reason that has to wrap on a narrow screen: repeated chat abuse", Services: []string{"chat"}})
		require.NoError(t, err)

		tb := openTab(t, browser, 390, 844, true)
		tb.do(chromedp.Navigate(s.url + "/admin/"))
		tb.waitFor(`document.getElementById('token') !== null`)
		tb.fits("sign-in")
		tb.shot("signin")
		tb.typeInto("token", token)
		tb.click("signin-submit")
		tb.waitFor(`document.getElementById('search-q') !== null`)

		tb.typeInto("search-q", "ann")
		tb.submit("search-form")
		tb.waitFor(`document.querySelectorAll('.results-table a.player-link').length === 2`)
		tb.fits("search results")
		assert.Equal(t, "none", eval[string](tb, `getComputedStyle(document.querySelector('.results-table thead')).display === 'none' ? 'none' : getComputedStyle(document.querySelector('.results-table tr')).display === 'block' ? 'none' : 'table'`),
			"rows stack into cards")
		tb.shot("search")

		tb.do(chromedp.Click(chromedp.CSS(`.results-table tbody tr:nth-child(2) a.player-link`)))
		tb.waitFor(`document.getElementById('player-nickname') !== null && document.getElementById('player-events').childElementCount > 0`)
		assert.Equal(t, "Annika", tb.text("#player-nickname"))
		tb.fits("player page")
		box := eval[[]float64](tb, `(() => { const r = document.getElementById('block-submit').getBoundingClientRect(); return [r.left, r.right]; })()`)
		assert.GreaterOrEqual(t, box[0], 0.0)
		assert.LessOrEqual(t, box[1], 390.0, "the block button is on the screen")
		tb.shot("player")

		tb.click("nav-audit")
		tb.waitFor(`document.querySelector('#audit-events .events-table') !== null`)
		tb.fits("audit log")
		tb.shot("audit")
		tb.clean()
	})

	// The API's refusals reach the operator as its code and message.
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		id, _ := s.signUp("ann@example.com", "Ann", "dev-ann")
		tb := openTab(t, browser, 1280, 800, false)

		tb.signIn(s, "not-the-token")
		tb.waitFor(`!document.getElementById('signin-error').hidden`)
		assert.Contains(t, tb.text("#signin-error"), "TOKEN_INVALID: not an operator's token")
		assert.Nil(t, eval[*string](tb, `sessionStorage.getItem('gameauth.console.token')`), "a refused token is not kept")
		tb.shot("signin-refused")

		tb.typeInto("token", token)
		tb.click("signin-submit")
		tb.waitFor(`document.getElementById('search-q') !== null`)

		// An unknown player.
		tb.do(chromedp.Navigate(s.url + "/admin/#/player/nobody"))
		tb.waitFor(`!document.getElementById('notice-error').hidden`)
		assert.Equal(t, "ACCOUNT_NOT_FOUND: account not found", tb.text("#notice-error"))

		// A block that ends in the past: the form says why, and nothing is blocked.
		tb.do(chromedp.Navigate(s.url + "/admin/#/player/" + id))
		tb.waitFor(`document.getElementById('block-form') !== null`)

		// The form's own refusals, which the API would answer too: a blank
		// reason, a blank or repeated service. Dropped, blank services
		// would leave none: a block of everything.
		tb.typeInto("block-reason", "   ")
		tb.click("block-submit")
		tb.waitFor(`!document.getElementById('block-error').hidden`)
		assert.Equal(t, "Give a reason: the player is shown it.", tb.text("#block-error"))
		assert.Equal(t, "block-reason", eval[string](tb, `document.activeElement.id`), "the cursor is where the mistake is")
		tb.typeInto("block-reason", "spam")
		for _, c := range []struct{ services, says string }{
			{" , ", "A service name is empty: remove the extra comma, or clear the field to block everything."},
			{"chat,,ranking", "A service name is empty"},
			{"chat, ranking,", "A service name is empty"},
			{"chat, ranking, chat", "Service chat is listed twice."},
		} {
			eval[chromedp.Void](tb, `document.getElementById('block-error').hidden = true`)
			tb.typeInto("block-services", c.services)
			tb.click("block-submit")
			tb.waitFor(`!document.getElementById('block-error').hidden`)
			assert.Contains(t, tb.text("#block-error"), c.says, "services %q", c.services)
			assert.Equal(t, "block-services", eval[string](tb, `document.activeElement.id`))
		}
		tb.typeInto("block-services", "")
		assert.Empty(t, s.admin("GET", "/players/"+id, nil).body["Blocks"], "nothing was sent")

		tb.click("block-until-on")
		tb.click("block-submit")
		tb.waitFor(`!document.getElementById('block-error').hidden`)
		assert.Contains(t, tb.text("#block-error"), "Pick when the block ends")
		tb.setValue("block-until", "2026-02-01T12:00")
		tb.click("block-submit")
		tb.waitFor(`document.getElementById('block-error').textContent.startsWith('INVALID_REQUEST')`)
		assert.Equal(t, "INVALID_REQUEST: block end is not in the future", tb.text("#block-error"))
		assert.Empty(t, s.admin("GET", "/players/"+id, nil).body["Blocks"])

		// A token the server stops taking signs the tab out, saying why.
		eval[chromedp.Void](tb, `sessionStorage.setItem('gameauth.console.token', 'rotated-away')`)
		tb.click("nav-audit")
		tb.waitFor(`document.getElementById('signin-error') !== null && !document.getElementById('signin-error').hidden`)
		assert.Contains(t, tb.text("#signin-error"), "TOKEN_INVALID")
		assert.Nil(t, eval[*string](tb, `sessionStorage.getItem('gameauth.console.token')`))
		tb.clean()
	})

	// Every action of the player page, each checked through the API.
	t.Run("actions", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		id, _ := s.signUp("ann@example.com", "Ann", "dev-ann")
		r := s.do("POST", "/auth/email/signin", "", map[string]any{"linked_id": "ann@example.com", "linked_password": "correct horse",
			"platform": "android", "device_id": hostile, "device_model": "Pixel 11"})
		require.Equal(t, 200, r.status, r.raw)
		record := func() map[string]any { return s.admin("GET", "/players/"+id, nil).body }
		sessions := func() map[string]string {
			out := map[string]string{}
			for _, x := range record()["Sessions"].([]any) {
				m := x.(map[string]any)
				out[m["DeviceID"].(string)] = m["State"].(string)
			}
			return out
		}
		sid := ""
		for _, x := range record()["Sessions"].([]any) {
			if m := x.(map[string]any); m["DeviceID"] == "dev-ann" {
				sid = m["SessionID"].(string)
			}
		}
		require.NotEmpty(t, sid)

		tb := openTab(t, browser, 1280, 800, false)
		tb.signIn(s, token)
		tb.waitFor(`document.getElementById('search-q') !== null`)
		open := func() {
			tb.do(chromedp.Navigate(s.url + "/admin/#/player/" + id))
			tb.waitFor(`document.getElementById('block-form') !== null`)
		}
		done := func(message string) {
			tb.waitFor(`!document.getElementById('notice-ok').hidden`)
			assert.Contains(t, tb.text("#notice-ok"), message)
			eval[chromedp.Void](tb, `document.getElementById('notice-ok').hidden = true`)
		}
		open()

		// Export what is stored about the player.
		tb.click("export")
		done("Export downloaded")
		assert.Eventually(t, func() bool {
			data, err := os.ReadFile(filepath.Join(downloads, "player-"+id+".json"))
			return err == nil && strings.Contains(string(data), `"LinkedID": "ann@example.com"`)
		}, 10*time.Second, 20*time.Millisecond, "the export, downloaded")

		// Block the hostile device until a date, for chat only: its row's
		// button picks it in the form.
		tb.clickCSS(`.sessions-table button[data-block-device=` + fmt.Sprintf("%q", hostile) + `]`)
		assert.Equal(t, "device:"+hostile, eval[string](tb, `document.getElementById('block-target').value`))
		tb.typeInto("block-reason", "farm")
		tb.click("block-until-on")
		tb.setValue("block-until", "2026-03-08T09:30")
		tb.typeInto("block-services", "chat, ranking")
		tb.click("block-submit")
		done("Device " + hostile + " blocked")
		blocks := record()["Blocks"].([]any)
		require.Len(t, blocks, 1)
		b := blocks[0].(map[string]any)
		assert.Equal(t, "device", b["Kind"])
		assert.Equal(t, hostile, b["Subject"])
		assert.Equal(t, "2026-03-08T09:30:00Z", b["Until"])
		assert.Equal(t, []any{"chat", "ranking"}, b["Services"])
		assert.Equal(t, true, b["InForce"])

		// Unblock it from the blocks table.
		tb.waitFor(`document.querySelector('.blocks-table button[data-device]') !== null`)
		tb.clickCSS(`.blocks-table button[data-device]`)
		done("Device unblocked")
		assert.Equal(t, false, record()["Blocks"].([]any)[0].(map[string]any)["InForce"])

		// Revoke one session.
		tb.clickCSS(fmt.Sprintf(`button[data-session=%q]`, sid))
		done("Session revoked")
		assert.Equal(t, map[string]string{"dev-ann": "revoked: admin", hostile: "live"}, sessions())

		// Revoke all: the button asks for a second click.
		tb.click("revoke-all")
		assert.Equal(t, "Click again to revoke all", tb.text("#revoke-all"))
		assert.Equal(t, "live", sessions()[hostile], "one click does nothing")
		tb.click("revoke-all")
		done("All sessions revoked")
		assert.Equal(t, map[string]string{"dev-ann": "revoked: admin", hostile: "revoked: admin"}, sessions())

		// Block the player, then unblock them.
		tb.typeInto("block-reason", "cooling off")
		tb.click("block-submit")
		done("Player blocked")
		tb.waitFor(`document.getElementById('unblock-player') !== null`)
		tb.click("unblock-player")
		tb.click("unblock-player")
		done("Player unblocked")
		for _, x := range record()["Blocks"].([]any) {
			assert.Equal(t, false, x.(map[string]any)["InForce"], "nothing in force")
		}

		// Restore a withdrawal; its memo shows as text.
		wid, waccess := s.signUp("wil@example.com", "Wil", "dev-wil")
		require.Equal(t, 200, s.do("POST", "/auth/withdrawal", waccess, map[string]any{"memo": hostile}).status)
		tb.do(chromedp.Navigate(s.url + "/admin/#/player/" + wid))
		tb.waitFor(`document.getElementById('restore') !== null`)
		assert.True(t, eval[bool](tb, fmt.Sprintf(`[...document.querySelectorAll('dd')].some((dd) => dd.textContent === %q)`, hostile)),
			"the memo, as text")
		assert.Contains(t, tb.text(".badges"), "Withdrawal pending")
		tb.click("restore")
		done("restored")
		assert.Nil(t, s.admin("GET", "/players/"+wid, nil).body["Withdrawal"])
		assert.Equal(t, 0, eval[int](tb, `document.querySelectorAll('img, svg').length`))
		tb.clean()
	})

	t.Run("audit log", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		id, _ := s.signUp("ann@example.com", "Ann", "dev-ann")
		bob, _ := s.signUp("bob@example.com", "Bob", "dev-bob")
		for range 30 {
			require.Equal(t, 200, s.admin("POST", "/players/"+id+"/block", map[string]any{"reason": "spam"}).status)
			require.Equal(t, 200, s.admin("DELETE", "/players/"+id+"/block", nil).status)
		}
		// 2 sign-ups, 30 blocks and 30 unblocks: two pages of 50.
		tb := openTab(t, browser, 1280, 800, false)
		tb.signIn(s, token)
		tb.waitFor(`document.getElementById('search-q') !== null`)
		rows := `document.querySelectorAll('#audit-events tbody tr').length`
		tb.click("nav-audit")
		tb.waitFor(rows + ` === 50`)
		assert.Equal(t, "Page 1", tb.text("#audit-page"))
		tb.click("audit-older")
		tb.waitFor(rows + ` === 12`)
		assert.Equal(t, "Page 2", tb.text("#audit-page"))
		assert.False(t, eval[bool](tb, `document.getElementById('audit-older') !== null`), "the last page")
		tb.click("audit-newer")
		tb.waitFor(rows + ` === 50`)

		kinds := eval[[]string](tb, `[...document.querySelectorAll('#audit-kind option')].map((o) => o.value).filter(Boolean)`)
		assert.Equal(t, account.AuditKinds(), kinds, "every kind to filter by")
		assert.Equal(t, "Kind", tb.text(`label[for=audit-kind]`))

		tb.setValue("audit-kind", "signup")
		tb.submit("audit-form")
		tb.waitFor(rows + ` === 2`)
		assert.Equal(t, "#/audit?kind=signup", eval[string](tb, `location.hash`))

		tb.typeInto("audit-player", bob)
		tb.submit("audit-form")
		tb.waitFor(rows + ` === 1`)
		assert.Equal(t, bob, tb.text(`#audit-events tbody td[data-label=Player]`))

		tb.setValue("audit-kind", "")
		tb.setValue("audit-player", "")
		tb.setValue("audit-since", s.clock.Now().Add(time.Second).Format("2006-01-02T15:04:05"))
		tb.submit("audit-form")
		tb.waitFor(`document.querySelector('#audit-events .empty') !== null`)
		assert.Equal(t, "#/audit?since=2026-03-01T12%3A00%3A01Z", eval[string](tb, `location.hash`))
		assert.Equal(t, "No event.", tb.text("#audit-events .empty"))

		// The player's page links to their events.
		tb.do(chromedp.Navigate(s.url + "/admin/#/player/" + bob))
		tb.waitFor(`document.querySelector('#player-events tbody tr') !== null`)
		tb.clickCSS(`a[href^="#/audit?player="]`)
		tb.waitFor(rows + ` === 1`)
		assert.Equal(t, bob, eval[string](tb, `document.getElementById('audit-player').value`))
		tb.clean()
	})

	// The policy holds in the browser: were the console ever to hand a
	// player's text to an HTML sink, the browser would throw instead.
	t.Run("policy enforced", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		tb := openTab(t, browser, 1280, 800, false)
		tb.do(chromedp.Navigate(s.url + "/admin/"))
		tb.waitFor(`document.getElementById('token') !== null`)
		assert.Equal(t, "TypeError", eval[string](tb, `(() => {
			try { document.createElement('img').setAttribute('onerror', 'window.__ran = true'); return 'set'; } catch (e) { return e.name; }
		})()`), "Trusted Types: an inline handler from a string throws")
		assert.Contains(t, eval[[]string](tb, `window.__violations`)[0], "require-trusted-types-for", "the policy refused it")
		assert.Equal(t, "TypeError", eval[string](tb, `(() => { try { document.body.innerHTML = '<b>x</b>'; return 'parsed'; } catch (e) { return e.name; } })()`),
			"Trusted Types: innerHTML from a string throws")
	})
}
