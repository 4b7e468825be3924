package capture

import "io"

// DecodeRecordForTest is decodeRecord, the fast path with its fallback.
func DecodeRecordForTest(line []byte) (Record, error) {
	var r Record
	err := decodeRecord(line, &r, &interner{})
	return r, err
}

// ScanJSONLWith is ScanJSONL with its limits shrunk: maxLine bytes per
// line, workers decoders (1: serial) reading chunk bytes at a time (the
// serial reader's buffer).
func ScanJSONLWith(r io.Reader, name string, fn func(*Exchange) error, maxLine, workers, chunk int) error {
	return scanJSONL(r, name, fn, scanConfig{maxLine: maxLine, workers: workers, chunk: chunk})
}

// DecodesFast says whether line stays on decodeRecord's fast path.
func DecodesFast(line []byte) bool {
	var r Record
	d := fastDecoder{b: line, in: &interner{}}
	if !d.record(&r) {
		return false
	}
	d.ws()
	return d.i == len(d.b)
}

// DecodeBase64 is decodeBase64.
func DecodeBase64(src []byte) ([]byte, bool) { return decodeBase64(src) }
