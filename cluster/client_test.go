package cluster_test

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/cluster"
)

func TestNewClientPicksTheDeployment(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		check func(t *testing.T, c redis.UniversalClient)
	}{
		{"one server", "redis://ada:s3cret@10.0.0.1:6380/2?dial_timeout=3", func(t *testing.T, c redis.UniversalClient) {
			require.IsType(t, &redis.Client{}, c)
			o := c.(*redis.Client).Options()
			assert.Equal(t, "10.0.0.1:6380", o.Addr)
			assert.Equal(t, 2, o.DB)
			assert.Equal(t, "s3cret", o.Password)
			assert.True(t, o.ContextTimeoutEnabled, "calls stop waiting at their deadline")
		}},
		{"cluster", "redis://ada:s3cret@10.0.0.1:7000/0?addr=10.0.0.2:7000&addr=10.0.0.3:7000", func(t *testing.T, c redis.UniversalClient) {
			require.IsType(t, &redis.ClusterClient{}, c)
			o := c.(*redis.ClusterClient).Options()
			assert.Equal(t, []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}, o.Addrs)
			assert.Equal(t, "s3cret", o.Password)
			assert.True(t, o.ContextTimeoutEnabled)
		}},
		{"sentinel", "redis://10.0.0.1:26379/1?master_name=auth&addr=10.0.0.2:26379&password=s3cret", func(t *testing.T, c redis.UniversalClient) {
			require.IsType(t, &redis.Client{}, c)
			o := c.(*redis.Client).Options()
			assert.Equal(t, "FailoverClient", o.Addr, "go-redis's failover client")
			assert.Equal(t, 1, o.DB)
			assert.Equal(t, "s3cret", o.Password)
			assert.True(t, o.ContextTimeoutEnabled)
		}},
		{"sentinel, context deadlines off", "redis://10.0.0.1:26379?master_name=auth&context_timeout_enabled=false", func(t *testing.T, c redis.UniversalClient) {
			assert.False(t, c.(*redis.Client).Options().ContextTimeoutEnabled, "an explicit setting wins")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cluster.NewClient(tt.url)
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			tt.check(t, c)
		})
	}
}

func TestNewClientRejectsBadURLs(t *testing.T) {
	tests := []struct{ name, url, want string }{
		{"bad port", "redis://ada:s3cret@host:x/0", `invalid port ":x"`},
		{"space in host", "redis://ada:s3cret@ho st:6379/0", "invalid character"},
		{"scheme", "http://ada:s3cret@host:6379/0", "invalid URL scheme"},
		{"unknown option", "redis://ada:s3cret@host:6379/0?colour=blue", "unexpected option: colour"},
		{"cluster database", "redis://ada:s3cret@h1:7000/3?addr=h2:7000", "only database 0"},
		{"cluster scheme", "unix://ada:s3cret@/tmp/redis.sock?addr=h2:7000", "invalid URL scheme"},
		{"empty", "", "invalid URL scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cluster.NewClient(tt.url)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "s3cret", "the password stays out of errors")
		})
	}
}

// One URL setting reaches every deployment: the query says which.
func ExampleNewClient() {
	for _, url := range []string{
		"redis://127.0.0.1:6379/0",
		"redis://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000",
		"redis://10.0.0.1:26379/0?master_name=auth&addr=10.0.0.2:26379",
	} {
		c, err := cluster.NewClient(url) // connects lazily
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%T\n", c)
		_ = c.Close()
	}
	// Output:
	// *redis.Client
	// *redis.ClusterClient
	// *redis.Client
}
