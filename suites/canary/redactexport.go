package canary

// Redact returns t with every planted value, in any form the searcher
// finds (raw, escaped, encoded, hashed), replaced by «role»; a t without
// any comes back unchanged. Tools that print what a capture holds (the
// payload diff) use it so no planted value reaches their output.
func (s *Searcher) Redact(t string) string { return s.redactString(t) }
