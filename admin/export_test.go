package admin

// Patterns are the ServeMux patterns of the API's routes, the table
// NewHandler builds its mux from.
func Patterns() []string {
	var out []string
	for _, rt := range (&handler{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}
