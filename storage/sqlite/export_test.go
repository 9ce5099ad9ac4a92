package sqlite

// SearchSQL is SearchNicknames' statement.
func SearchSQL(bounded bool) string { return searchSQL(bounded) }
