package sqlstore

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema change, applied once, in version order.
type Migration struct {
	Version int
	Name    string // file name, for errors
	SQL     string
}

// Migrations reads the *.sql files at the top of fsys. Each name starts
// with its version, a positive integer, and an underscore: 0001_init.sql.
// They are returned in version order; a duplicate version is an error.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("bad migration file name %q", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations")
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q share version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}

// Pending returns the migrations of ms, in version order as Migrations
// returns them, that a database at schema version cur lacks. A database newer
// than the last of ms is an error: this build does not know its schema and
// must not write to it.
func Pending(ms []Migration, cur int) ([]Migration, error) {
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	if cur > latest {
		return nil, fmt.Errorf("database schema version %d is newer than this build knows (%d)", cur, latest)
	}
	i := sort.Search(len(ms), func(i int) bool { return ms[i].Version > cur })
	return ms[i:], nil
}
