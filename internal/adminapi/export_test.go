package adminapi

// RoutePatterns lists the patterns of every route, for tests that walk them.
func RoutePatterns() []string {
	var out []string
	for _, r := range (&Handler{}).routeTable() {
		out = append(out, r.pattern)
	}
	return out
}
