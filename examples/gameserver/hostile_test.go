package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hostile requests against the example server as a process, on SQLite and
// on PostgreSQL: NUL, invalid UTF-8 and lone surrogates in every field,
// wrong types, huge numbers and strings, deep nesting, duplicate keys,
// bodies over the 64 KiB bound, unicode nicknames, wrong methods, odd
// paths and bad headers, thousands of them from 8 clients at once. Never a
// 5xx, never an answer outside the contract's JSON shape, never a secret
// sent back, and the server's memory stays bounded.

// secretMark is in every secret the hostile requests send: no answer may
// carry it back.
const secretMark = "S3cretMark"

// secretFields hold secrets; the hostile values put in them carry
// secretMark.
var secretFields = map[string]bool{"linked_password": true, "new_password": true, "guest_key": true,
	"refresh_token": true, "access_token": true, "code": true, "withdrawal_key": true, "block_key": true}

// hostile is one request. costly ones may reach a password hash.
type hostile struct {
	name, method, path string
	header             http.Header
	body               []byte
	costly             bool
}

// fieldsOf are the string fields each endpoint reads, with a body in which
// all of them are valid; secret fields carry secretMark.
var hostileEndpoints = []struct {
	path   string
	bearer bool
	valid  map[string]any
}{
	{"/auth/email/signup", false, map[string]any{"linked_id": "", "linked_password": "pw " + secretMark, "nickname": "",
		"platform": "pc", "device_id": "", "device_model": "m", "device_os": "o", "device_language": "EN", "timezone": "Asia/Seoul"}},
	{"/auth/email/signin", false, map[string]any{"linked_id": "nobody@example.com", "linked_password": "pw " + secretMark,
		"platform": "pc", "device_id": "d"}},
	{"/auth/guest/signin", false, map[string]any{"guest_key": "k" + secretMark, "platform": "pc", "device_id": "d", "timezone": "UTC"}},
	{"/auth/token/refresh", false, map[string]any{"refresh_token": "r" + secretMark, "platform": "pc", "device_id": "d"}},
	{"/auth/token/status", false, map[string]any{"access_token": "a" + secretMark, "timezone": "UTC"}},
	{"/auth/email/link", true, map[string]any{"linked_id": "", "linked_password": "pw " + secretMark, "timezone": "UTC"}},
	{"/auth/password", true, map[string]any{"linked_password": "pw " + secretMark, "new_password": "new " + secretMark}},
	{"/auth/password/reset", false, map[string]any{"linked_id": "nobody@example.com"}},
	{"/auth/password/reset/confirm", false, map[string]any{"linked_id": "nobody@example.com", "code": "1234" + secretMark, "new_password": "new " + secretMark}},
	{"/auth/nickname", true, map[string]any{"nickname": ""}},
	{"/auth/nickname/exists", false, map[string]any{"nickname": "someone"}},
	{"/auth/withdrawal", true, map[string]any{"memo": "bye"}},
	{"/auth/withdrawal/search", false, map[string]any{"withdrawal_key": "w" + secretMark}},
	{"/auth/withdrawal/restore", false, map[string]any{"withdrawal_key": "w" + secretMark, "platform": "pc", "device_id": "d"}},
	{"/auth/block/reason", false, map[string]any{"block_key": "b" + secretMark}},
	{"/auth/signout", true, map[string]any{}},
}

// hostileValues replace one field at a time: JSON values, as they go on
// the wire (raw bytes, so that invalid UTF-8 stays invalid); {{M}} is
// secretMark in a secret field.
var hostileValues = []struct{ name, json string }{
	{"NUL", `"x\u0000y{{M}}"`},
	{"raw NUL", "\"x\x00y{{M}}\""},
	{"invalid UTF-8", "\"\xff\xfeX@b.c{{M}}\""},
	{"lone surrogate", `"\ud800{{M}}"`},
	{"control characters", `"\u0007\u001b[31m{{M}}"`},
	{"number", `12345678901234567890`},
	{"huge number", `1e400`},
	{"true", `true`},
	{"null", `null`},
	{"object", `{"a":{"b":[1,2,3]}}`},
	{"array", `["{{M}}"]`},
	{"long string", `"` + strings.Repeat("x", 60_000) + `{{M}}"`},
	// From here on, well-formed text (firstText).
	{"fullwidth", `"Ｆｕｌｌｗｉｄｔｈ{{M}}"`},
	{"decomposed", `"Jose\u0301{{M}}"`},
	{"right-to-left override", `"\u202eevil{{M}}"`},
	{"zero width", `"\u200b\ufeff{{M}}"`},
	{"emoji", `"🎮🐉👾🎲{{M}}"`},
	{"zalgo", `"Z` + strings.Repeat("\u0336\u0321", 40) + `{{M}}"`},
	{"blanks", `"  \t{{M}}\n "`},
}

// The table's stand-ins for a live session's access token and player ID,
// which the run fills in (and renews when a request ended the session).
const (
	liveAccess = "$ACCESS"
	livePlayer = "$PLAYER"
)

// firstText is the index of the first well-formed text in hostileValues.
const firstText = 12

// storedText are the sign-up fields whose well-formed text is stored and
// shown again: the ones worth a password hash per value.
var storedText = map[string]bool{"linked_id": true, "nickname": true, "device_id": true, "device_model": true}

// hostileRequests is the whole table for one round; access is an access
// token to forge others from.
func hostileRequests(round int, access string) []hostile {
	var out []hostile
	player := livePlayer
	bearer := http.Header{"Authorization": {"Bearer " + liveAccess}, "Content-Type": {"application/json"}}
	plain := http.Header{"Content-Type": {"application/json"}}
	uniq := func(s string) string { return fmt.Sprintf("%s%d-%s", s, round, randomName("")) }
	for _, e := range hostileEndpoints {
		h := plain
		if e.bearer {
			h = bearer
		}
		valid := map[string]string{}
		for k, v := range e.valid {
			s := v.(string)
			switch {
			case s != "":
			case k == "linked_id":
				s = uniq("h") + "@example.com"
			case k == "nickname":
				s = randomName("N")
			default:
				s = uniq("dev-")
			}
			valid[k] = s
		}
		body := func(field, value string) []byte {
			var b strings.Builder
			b.WriteString("{")
			first := true
			for k, v := range valid {
				if !first {
					b.WriteString(",")
				}
				first = false
				fmt.Fprintf(&b, "%q:", k)
				if k == field {
					b.WriteString(value)
				} else {
					fmt.Fprintf(&b, "%q", v)
				}
			}
			b.WriteString("}")
			return []byte(b.String())
		}
		hashes := e.valid["linked_password"] != nil || e.valid["new_password"] != nil
		for field := range valid {
			mark := ""
			if secretFields[field] {
				mark = secretMark
			}
			for n, v := range hostileValues {
				if hashes && n >= firstText && !(e.path == "/auth/email/signup" && storedText[field]) {
					continue // well-formed text: as the valid request, and a password hash each
				}
				out = append(out, hostile{name: e.path + " " + field + " " + v.name, method: "POST", path: e.path, header: h,
					body: body(field, strings.ReplaceAll(v.json, "{{M}}", mark)), costly: hashes})
			}
		}
		for _, s := range []struct{ name, body string }{
			{"empty", ``}, {"null", `null`}, {"array", `[]`}, {"string", `"x"`}, {"number", `7`},
			{"trailing data", `{}{}`}, {"truncated", `{"a":`}, {"BOM", "\ufeff{}"},
			{"deep object", strings.Repeat(`{"a":`, 20_000) + `1` + strings.Repeat(`}`, 20_000)},
			{"deep array", `{"device_id":` + strings.Repeat(`[`, 30_000) + strings.Repeat(`]`, 30_000) + `}`},
			{"many keys", "{" + strings.Repeat(`"k":1,`, 9000) + `"z":1}`},
			{"big number", `{"period":` + strings.Repeat("9", 60_000) + `}`},
			{"over 64 KiB", string(body("", "")[:1]) + `"pad":"` + strings.Repeat(" ", 64<<10) + `"}`},
			{"64 KiB exactly", `{"pad":"` + strings.Repeat(" ", 64<<10-10) + `"}`},
			{"duplicate keys", string(body("", "")[:len(body("", ""))-1]) + `,"platform":"x","device_id":"y","linked_id":"a@b.c"}`},
		} {
			out = append(out, hostile{e.path + " " + s.name, "POST", e.path, h, []byte(s.body), false})
		}
		for _, m := range []string{"DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"} {
			out = append(out, hostile{e.path + " " + m, m, e.path, h, body("", ""), false})
		}
		out = append(out, hostile{name: e.path + " valid", method: "PUT", path: e.path, header: h, body: body("", ""), costly: hashes})
	}
	for _, s := range []struct{ name, body string }{
		{"period huge", `{"period":1e400}`}, {"period negative", `{"period":-1}`}, {"period float", `{"period":2.5}`},
		{"period string", `{"period":"7"}`}, {"period max int", `{"period":9223372036854775807}`},
		{"period over int", `{"period":9223372036854775808}`}, {"memo long", `{"memo":"` + strings.Repeat("m", 1001) + `"}`},
	} {
		out = append(out, hostile{"withdrawal " + s.name, "POST", "/auth/withdrawal", bearer, []byte(s.body), false})
	}
	for _, s := range []struct{ name, body string }{{"all string", `{"all":"yes"}`}, {"all number", `{"all":1}`}} {
		out = append(out, hostile{"signout " + s.name, "POST", "/auth/signout", bearer, []byte(s.body), false})
	}

	// Tokens and headers.
	parts := strings.Split(access, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	flipped := parts[0] + "." + parts[1] + "." + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, parts[2])
	for _, a := range []struct{ name, value string }{
		{"huge bearer", "Bearer " + strings.Repeat("x", 10_000) + secretMark},
		{"three dots", "Bearer a.b.c" + secretMark}, {"basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+secretMark))},
		{"scheme only", "Bearer"}, {"odd spacing", "bearer   " + liveAccess + "  "}, {"alg none", "Bearer " + none},
		{"bad signature", "Bearer " + flipped},
	} {
		h := http.Header{"Authorization": {a.value}}
		out = append(out,
			hostile{"/me " + a.name, "GET", "/me", h, nil, false},
			hostile{"/chat/ping " + a.name, "GET", "/chat/ping", h, nil, false},
			hostile{"nickname " + a.name, "GET", "/auth/nickname", h, nil, false},
			hostile{"status " + a.name, "POST", "/auth/token/status", h, []byte(`{}`), false})
	}
	out = append(out, hostile{"two bearers", "GET", "/me", http.Header{"Authorization": {"Bearer " + liveAccess, "Bearer x"}}, nil, false},
		hostile{"form body", "POST", "/auth/email/signin", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("linked_id=a%40b.c&linked_password=" + secretMark), false},
		hostile{"gzip that is not", "POST", "/auth/guest/signin", http.Header{"Content-Encoding": {"gzip"}, "Content-Type": {"application/json"}}, []byte(`{"platform":"pc","device_id":"gz"}`), false},
		hostile{"text/plain", "POST", "/auth/guest/signin", http.Header{"Content-Type": {"text/plain"}}, []byte(`{"platform":"pc","device_id":"tp"}`), false})

	// Paths.
	for _, p := range []string{
		"/", "/auth", "/auth//email/signup", "/auth/./email/signup", "/me/../me", "/auth/", "/auth/nowhere", "/auth/EMAIL/SIGNUP", "/auth/email/signup/", "/auth/email%2Fsignup",
		"/auth/%00", "/auth/email/signup?x=%00&y=" + strings.Repeat("q", 4000), "/auth/" + strings.Repeat("a/", 3000),
		"/auth/\u00e9\u4e2d", "/auth/.well-known/jwks.json?x=1", "/.well-known/jwks.json", "/me/", "/chat/ping/x",
		"/admin/players/" + player + "/block", "/api/v20240101/email/signin", "/block/v20221201/reason",
	} {
		out = append(out, hostile{"path " + p, "POST", p, plain, []byte(`{}`), false}, hostile{"GET path " + p, "GET", p, nil, nil, false})
	}

	// The admin routes, with the admin token.
	admin := http.Header{"Authorization": {"Bearer " + adminToken}, "Content-Type": {"application/json"}}
	for _, b := range []struct{ name, body string }{
		{"NUL reason", `{"reason":"a\u0000b"}`}, {"invalid UTF-8 reason", "{\"reason\":\"\xff\xfe\"}"},
		{"long reason", `{"reason":"` + strings.Repeat("r", 60_000) + `"}`}, {"until string", `{"until":"tomorrow"}`},
		{"until number", `{"until":1e400}`}, {"until far", `{"until":"9999-12-31T23:59:59Z"}`},
		{"until past", `{"until":"1970-01-01T00:00:00Z"}`}, {"services NUL", `{"services":["chat\u0000"]}`},
		{"services many", `{"services":[` + strings.Repeat(`"s",`, 5000) + `"s"]}`}, {"services wrong", `{"services":"chat"}`},
		{"null", `null`}, {"deep", strings.Repeat(`[`, 20_000)},
	} {
		for _, id := range []string{player, "%00", "no-such-player", strings.Repeat("i", 300), "\u00e9"} {
			out = append(out, hostile{"admin block " + b.name + " " + id, "POST", "/admin/players/" + id + "/block", admin, []byte(b.body), false},
				hostile{"admin device block " + b.name, "POST", "/admin/devices/" + id + "/block", admin, []byte(b.body), false})
		}
	}
	for _, id := range []string{player, "%00", "no-such-player"} {
		out = append(out, hostile{"admin unblock", "DELETE", "/admin/players/" + id + "/block", admin, nil, false},
			hostile{"admin revoke", "POST", "/admin/players/" + id + "/revoke", admin, nil, false})
	}
	return out
}

// sampleRSS samples srv's resident memory every 50 ms until stop, which
// returns the most it saw.
func sampleRSS(srv *node) (stop func() int64) {
	var most int64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				if rss, err := srv.readRSS(); err == nil {
					most = max(most, rss)
				}
			}
		}
	}()
	return func() int64 { close(done); <-finished; return most }
}

func TestFaultHostileRequests(t *testing.T) {
	processTest(t)
	bin := buildGameserver(t)
	// Two threads, so that the password hashes' bound (one per thread,
	// 19 MiB each) and so the memory bound are the same on every machine.
	start := func(t *testing.T, args ...string) *node {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
		return mustLaunchCmd(t, cmd)
	}
	t.Run("sqlite", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "gameauth.db")
		hostileRun(t, start(t, "-addr", "127.0.0.1:0", "-db", db, "-signin-limit", "0", "-admin-token", adminToken))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := freshSchema(t, sharedPostgres(t))
		hostileRun(t, start(t, postgresArgs(dsn, "-admin-token", adminToken)...))
	})
}

// hostileRun sends the table from 8 clients at once, each a share of it:
// once whole, then twice without the requests that may reach a
// password hash (each holds 19 MiB and tens of milliseconds of CPU), and
// checks every answer; then the raw requests net/http refuses itself.
func hostileRun(t *testing.T, srv *node) {
	const workers, passes = 8, 3
	y := newTally()
	rssIdle := srv.rss(t)
	var rssWarm int64
	stopSampling := sampleRSS(srv)
	send := func(w, pass int) {
		client := clientWith(30 * time.Second)
		var access, player string
		renew := func() bool {
			p, err := newGuest(srv.base, fmt.Sprintf("hostile-%d-%d", w, pass), 10*time.Second)
			if err != nil {
				y.problem("a fresh session: %v", err)
				return false
			}
			access = p.access
			player, _ = postJSON(client, "GET", srv.base+"/me", access, nil).body["UserUniqueID"].(string)
			return true
		}
		if !renew() {
			return
		}
		for i, h := range hostileRequests(pass*workers+w, access) {
			if i%workers != w || pass > 0 && h.costly {
				continue
			}
			header := http.Header{}
			live := strings.Contains(h.path, livePlayer)
			for k, vs := range h.header {
				for _, v := range vs {
					live = live || strings.Contains(v, liveAccess)
					header.Add(k, strings.ReplaceAll(v, liveAccess, access))
				}
			}
			path := strings.ReplaceAll(h.path, livePlayer, player)
			r := request(client, h.method, srv.base+path, header, h.body)
			y.record(h.name, r)
			if r.err != nil {
				y.problem("%s: no answer: %v", h.name, r.err)
			}
			if strings.Contains(string(r.raw), secretMark) {
				y.problem("%s: a secret sent back: %.300s", h.name, r.raw)
			}
			// A request that ended or blocked the session, or was refused
			// for it: the next one gets a fresh session.
			if live && (r.status == http.StatusUnauthorized || r.status == http.StatusForbidden ||
				r.status < 300 && strings.Contains(path, "/admin/") ||
				r.status < 300 && (strings.HasSuffix(path, "/link") || strings.HasSuffix(path, "/withdrawal") || strings.HasSuffix(path, "/signout"))) &&
				!renew() {
				return
			}
		}
	}
	var firstPass int
	for pass := range passes {
		passStart := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() { defer wg.Done(); send(w, pass) }()
		}
		wg.Wait()
		t.Logf("pass %d: %v", pass, time.Since(passStart).Round(time.Millisecond))
		if pass == 0 {
			rssWarm, firstPass = srv.rss(t), y.total()
		}
	}
	rssAfter, peak := srv.rss(t), stopSampling()

	// Requests net/http answers itself, before any handler: their answers
	// are its own (plain text), but never a 5xx, and the server goes on.
	raw := []struct{ name, req string }{
		{"header over 16 KiB", "GET /me HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("h", 20<<10) + "\r\n\r\n"},
		{"bad chunk", "POST /auth/guest/signin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
		{"bad method", "G\x00T /me HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"no host", "GET /me HTTP/1.1\r\n\r\n"},
		{"both lengths", "POST /auth/guest/signin HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"},
		{"HTTP/0.9", "GET /me\r\n\r\n"},
	}
	for _, rq := range raw {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.base, "http://"), 5*time.Second)
		require.NoError(t, err)
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(conn, rq.req)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			res.Body.Close()
			assert.Less(t, res.StatusCode, 500, rq.name)
			t.Logf("net/http's own answer to %s: %d %s", rq.name, res.StatusCode, res.Header.Get("Content-Type"))
		}
		conn.Close()
	}
	ps := newPlayers(t, srv.base, "after-", 1, 10*time.Second)
	stillRefreshes(t, ps, srv.base)

	t.Logf("hostile requests: %v", y)
	t.Logf("server RSS: %d MiB idle, %d MiB after the first %d requests, %d MiB after all %d, %d MiB at most (sampled every 50 ms)",
		rssIdle>>20, rssWarm>>20, firstPass, rssAfter>>20, y.total(), peak>>20)
	assert.Empty(t, y.failures())
	assert.Zero(t, y.serverErrors(), "no 5xx")
	assert.Less(t, peak, int64(256<<20), "memory bounded")
}
