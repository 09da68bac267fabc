package main

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"os"
	"sync"
)

// A saved plan is sealed in its state by `plan --out` (see state.SealPlan):
// the seal is a digest of the plan file's bytes and of the groupsync
// executable that wrote them. `apply PLANFILE` that finds the seal of the
// file it read, made at the plan's serial, by the same executable, knows
// that the file is unaltered and was made from a manifest Load found valid
// at the plan's digest. It then checks the manifest's digest and reads only
// its providers (spec.Heads), instead of loading and checking every
// group and checking the plan against them again. Any other plan (edited,
// made by another groupsync or from a copy of the state) is checked in
// full, as before.

// planSeal is the seal of a plan file of SHA-256 sum written by the
// executable exe.
func planSeal(exe string, sum []byte) string {
	h := sha256.New()
	io.WriteString(h, "groupsync plan seal 1\x00")
	io.WriteString(h, exe)
	h.Write([]byte{0})
	h.Write(sum)
	return hex.EncodeToString(h.Sum(nil))
}

// executableID identifies the running executable: the Go build id the go
// command writes into every executable it links (its last part digests
// the file's content), or a SHA-256 of the file when it has none. A
// groupsync built from other code, or with other flags, has another id.
var executableID = sync.OnceValues(func() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", err
	}
	if id := goBuildID(path); id != "" {
		return "go:" + id, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
})

// goBuildID reads the Go build id note of an ELF executable; "" when it
// has none (another format, or built with -buildid=).
func goBuildID(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return ""
	}
	data, err := sec.Data()
	if err != nil || len(data) < 16 {
		return ""
	}
	// An ELF note: name size, description size, type, then the name
	// ("Go\x00", padded to 4 bytes) and the description (the id).
	order := f.ByteOrder
	nameSize, descSize, typ := order.Uint32(data), order.Uint32(data[4:]), order.Uint32(data[8:])
	const goBuildIDNote = 4
	start := 12 + (int(nameSize)+3)&^3
	if typ != goBuildIDNote || nameSize != 4 || string(data[12:15]) != "Go\x00" || start+int(descSize) > len(data) || descSize == 0 {
		return ""
	}
	return string(data[start : start+int(descSize)])
}

// summingReader hashes what is read through it, from the start of a file
// to its end, in one pass: a seek elsewhere (a decoder reading the file
// again) spoils the sum, since the bytes hashed might then not be the bytes
// decoded.
type summingReader struct {
	r       io.ReadSeeker
	h       hash.Hash
	spoiled bool
}

func newSummingReader(r io.ReadSeeker) *summingReader {
	return &summingReader{r: r, h: sha256.New()}
}

func (s *summingReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	s.h.Write(b[:n])
	return n, err
}

func (s *summingReader) Seek(off int64, whence int) (int64, error) {
	if off != 0 || whence != io.SeekCurrent {
		s.spoiled = true
	}
	return s.r.Seek(off, whence)
}

// sum reads what is left of the file and returns the SHA-256 of all of it;
// nil when it was not read in one pass.
func (s *summingReader) sum() []byte {
	if _, err := io.Copy(s.h, s.r); err != nil || s.spoiled {
		return nil
	}
	return s.h.Sum(nil)
}

var errNoSeal = errors.New("no seal")

// sealOf is the seal of a plan file of SHA-256 sum written by this
// executable.
func sealOf(sum []byte) (string, error) {
	if sum == nil {
		return "", errNoSeal
	}
	exe, err := executableID()
	if err != nil {
		return "", err
	}
	return planSeal(exe, sum), nil
}
