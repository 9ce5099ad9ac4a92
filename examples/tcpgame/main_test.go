package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/storage/memory"
)

// A player signs in, refreshes and renames themselves over plain TCP: no
// HTTP anywhere.
func TestSignInOverTCP(t *testing.T) {
	ctx := context.Background()
	auth, err := gameauth.New(ctx, gameauth.Config{Store: memory.New(),
		Account: account.Config{PasswordHashing: account.Argon2Params{Memory: 64, Time: 1}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, auth) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	in := bufio.NewScanner(conn)
	send := func(m map[string]any) reply {
		t.Helper()
		require.NoError(t, json.NewEncoder(conn).Encode(m))
		require.True(t, in.Scan(), "an answer line")
		var r reply
		require.NoError(t, json.Unmarshal(in.Bytes(), &r))
		return r
	}

	g := send(map[string]any{"op": "guest", "platform": "pc", "device_id": "pc-1"})
	require.True(t, g.OK, "%+v", g)
	assert.NotEmpty(t, g.GuestKey)
	hello := send(map[string]any{"op": "hello", "access_token": g.AccessToken})
	require.True(t, hello.OK)
	assert.Equal(t, g.PlayerID, hello.PlayerID)

	r := send(map[string]any{"op": "refresh", "refresh_token": g.RefreshToken})
	require.True(t, r.OK, "%+v", r)
	assert.NotEqual(t, g.RefreshToken, r.RefreshToken)

	n := send(map[string]any{"op": "nickname", "access_token": r.AccessToken, "nickname": "Tcp Hero"})
	require.True(t, n.OK, "%+v", n)
	assert.Equal(t, "Tcp Hero", n.Nickname)

	// The contract's codes, over this protocol too.
	bad := send(map[string]any{"op": "hello", "access_token": "forged"})
	assert.Equal(t, reply{Code: "TOKEN_INVALID", Message: account.ErrTokenInvalid.Message}, bad)
	_, err = auth.Service().BlockPlayer(ctx, g.PlayerID, account.BlockSpec{Reason: "spam"})
	require.NoError(t, err)
	blocked := send(map[string]any{"op": "hello", "access_token": r.AccessToken})
	assert.Equal(t, "ACCOUNT_BLOCKED", blocked.Code, "a block bites at the next message")
	missing := send(map[string]any{"op": "guest"})
	assert.Equal(t, "INVALID_REQUEST", missing.Code)
	assert.Contains(t, missing.Message, "platform")

	require.NoError(t, conn.Close())
	require.NoError(t, ln.Close())
	<-done
}
