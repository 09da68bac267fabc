package main

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// writeAtomic is writeAtomicMode for a file of mode 0600 (a saved plan).
func writeAtomic(path string, write func(w io.Writer) error) error {
	return writeAtomicMode(path, 0o600, write)
}

// writeAtomicMode writes a file of mode perm at path through a temporary
// file in its directory, synced and renamed onto it: a crash or a full disk
// never leaves a truncated file where a good one was. A symbolic link is
// written through, and a device or a pipe (/dev/stdout) written to, as
// os.WriteFile does.
func writeAtomicMode(path string, perm fs.FileMode, write func(w io.Writer) error) (err error) {
	if fi, err := os.Stat(path); err == nil {
		switch {
		case fi.IsDir():
			return &os.PathError{Op: "open", Path: path, Err: syscall.EISDIR}
		case !fi.Mode().IsRegular():
			return writeInPlace(path, perm, write) // no file to replace
		}
		if target, err := filepath.EvalSymlinks(path); err == nil {
			path = target
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			pe.Path = path // the temporary name means nothing to the user
		}
		return err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmp.Name())
			var pe *os.PathError
			if errors.As(err, &pe) && pe.Path == tmp.Name() {
				pe.Path = path
			}
		}
	}()
	if err = writeBuffered(tmp, write); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil { // CreateTemp makes it 0600
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// The rename is durable once the directory is: best effort, as some
	// file systems cannot sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// writeInPlace writes to path directly.
func writeInPlace(path string, perm fs.FileMode, write func(w io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	err = writeBuffered(f, write)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeBuffered calls write with a buffered writer of f, and flushes it.
func writeBuffered(f *os.File, write func(w io.Writer) error) error {
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := write(bw); err != nil {
		return err
	}
	return bw.Flush()
}
