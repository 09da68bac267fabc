package vendors

import "bytes"

// maxCommandOutput bounds what is kept of a tokenCommand's output: a token
// is one short line, and a runaway command must not fill the memory.
const maxCommandOutput = 64 << 10

// limitedBuffer keeps the first n bytes written and discards the rest, so
// that the command never blocks on a full pipe.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
