package account_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	. "github.com/gameauth/gameauth/account"
)

var knownCodes = Codes()

// FuzzHandler sends arbitrary bodies, with and without a valid access token,
// to every endpoint with every method: the handler never panics, and every
// answer is JSON in docs/API.md's shape with one of its codes. Nothing fails in
// the store here, so 503 is never right either, but for the fake provider's
// "down" (PROVIDER_UNAVAILABLE).
func FuzzHandler(f *testing.F) {
	var paths []string
	for _, rt := range routeTable {
		paths = append(paths, rt.paths...)
	}
	methods := []string{http.MethodPut, http.MethodPost, http.MethodGet, http.MethodDelete}
	seeds := []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"a":1}{}`, `{"linked_id":`,
		`{"linked_id":"fuzz@example.com","linked_password":"12345678","platform":"ios","device_id":"d1","nickname":"Fuzzy"}`,
		`{"linked_id":"fuzz@example.com","linked_password":"12345678","platform":"ios","device_id":"d1"}`,
		`{"platform":"aos","device_id":"d2","guest_key":"x"}`,
		`{"platform":"aos","device_id":"d2","device_language":"en-GB","timezone":"Asia/Seoul"}`,
		`{"refresh_token":"abc.def"}`, `{"refresh_token":7}`, `{"all":true}`, `{"all":"yes"}`,
		`{"period":3,"memo":"bye"}`, `{"period":1e400}`, `{"period":-1}`,
		`{"nickname":"\u0000"}`, `{"nickname":" x"}`, `{"nickname":"Knight"}`,
		`{"withdrawal_key":"k","platform":"ios","device_id":"d"}`, `{"block_key":"k"}`,
		`{"linked_id":"fuzz@example.com","code":"12345678","new_password":"abcdefgh"}`,
		`{"linked_password":"12345678","new_password":"abcdefghi"}`,
		`{"access_token":"a.b.c"}`, "{\"nickname\":\"\xff\xfe\"}", `{"device_id":{"a":[1,2,{}]}}`,
		`{"provider":"apple","id_token":"apple:fuzz","platform":"ios","device_id":"d"}`, `{"provider":"apple","id_token":"down"}`,
		`{"provider":"google"}`, `{"provider":"email","id_token":"x"}`, `{"provider":"apple","timestamp":-1}`,
	}
	for i := range paths {
		for j, s := range seeds {
			f.Add(uint8(i), uint8(j%len(methods)), []byte(s), j%2 == 0)
		}
	}
	e := newEnv(f, withProviders, func(c *envConfig) { c.MaxSessions = -1 })
	p := e.signUp("dev-f")
	f.Fuzz(func(t *testing.T, pathIdx, method uint8, body []byte, auth bool) {
		path := paths[int(pathIdx)%len(paths)]
		m := methods[int(method)%len(methods)]
		req := httptest.NewRequest(m, path, bytes.NewReader(body))
		req.RemoteAddr = "192.0.2.1:1234"
		if auth {
			req.Header.Set("Authorization", "Bearer "+p.access)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)

		allowed := []int{200, 201, 202, 400, 401, 403, 404, 405, 409, 410, 413, 429}
		if !slices.Contains(allowed, rec.Code) && !(rec.Code == 503 && strings.Contains(rec.Body.String(), CodeProviderUnavailable)) {
			t.Fatalf("%s %s: status %d: %s", m, path, rec.Code, rec.Body.String())
		}
		ct := rec.Header().Get("Content-Type")
		if !strings.HasPrefix(ct, "application/json") && ct != "application/jwk-set+json" {
			t.Fatalf("%s %s: content type %q", m, path, ct)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: not a JSON object: %v: %s", m, path, err, rec.Body.String())
		}
		if rec.Code < 400 {
			if _, ok := out["ErrorCode"]; ok {
				t.Fatalf("%s %s: success with an ErrorCode: %s", m, path, rec.Body.String())
			}
			return
		}
		code, _ := out["ErrorCode"].(string)
		msg, _ := out["Message"].(string)
		if !slices.Contains(knownCodes, code) || msg == "" {
			t.Fatalf("%s %s: not docs/API.md's error shape: %s", m, path, rec.Body.String())
		}
		for k := range out {
			switch k {
			case "ErrorCode", "Message":
			case "WithdrawalKey":
				if code != CodeAccountWithdrawn {
					t.Fatalf("WithdrawalKey with %s", code)
				}
			case "BlockKey":
				if code != CodeAccountBlocked {
					t.Fatalf("BlockKey with %s", code)
				}
			case "ErrorData":
				if code != CodeAccountBlocked && code != CodeDeviceBlocked {
					t.Fatalf("ErrorData with %s", code)
				}
			default:
				t.Fatalf("unexpected field %q in an error: %s", k, rec.Body.String())
			}
		}
		if rec.Code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
			t.Fatalf("405 without Allow")
		}
	})
}
