package textmatch

// Runs is how often r's regexp ran (the prefilter let the text through).
func Runs(r *Regexp) uint64 { return r.ran.Load() }
