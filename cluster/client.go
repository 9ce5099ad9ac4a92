package cluster

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// NewClient makes the Redis client a URL describes, so that one setting
// (gameauth's Config.RedisURL) reaches every deployment go-redis supports:
//
//	redis://[user:password@]host:6379/0             one server (also rediss://, unix://)
//	redis://host1:6379?addr=host2:6379&addr=host3:6379   Redis Cluster: two or more seed nodes
//	redis://sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379   Sentinel
//
// A URL with master_name is Sentinel (go-redis's ParseFailoverURL: the host
// and addr parameters are sentinels, the user info authenticates to them, and
// username and password parameters to the master), one with addr parameters
// is a Cluster (ParseClusterURL), any other a single server (ParseURL); the
// query parameters those parsers know (dial_timeout, pool_size, …) apply. A
// Redis Cluster has only database 0.
//
// Clients made here honour context deadlines (go-redis's
// ContextTimeoutEnabled), so a call abandoned at its timeout also stops
// waiting on the connection. The error for a malformed URL never repeats
// the URL, which may hold a password.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, password included.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("cluster: Redis URL: %w", err)
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		opt, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("cluster: Redis Sentinel URL: %w", err)
		}
		if !q.Has("context_timeout_enabled") { // only the Sentinel parser knows it
			opt.ContextTimeoutEnabled = true
		}
		return redis.NewFailoverClient(opt), nil
	case q.Has("addr"):
		opt, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("cluster: Redis Cluster URL: %w", err)
		}
		// ParseClusterURL ignores the path; a database asked for must not
		// be silently replaced by 0.
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return nil, fmt.Errorf("cluster: Redis Cluster URL: database %q: a cluster has only database 0", p)
		}
		opt.ContextTimeoutEnabled = true
		return redis.NewClusterClient(opt), nil
	default:
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("cluster: Redis URL: %w", err)
		}
		opt.ContextTimeoutEnabled = true
		return redis.NewClient(opt), nil
	}
}
