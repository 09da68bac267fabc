package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the manifest files and directories in paths (a directory
// means its *.yaml and *.yml files in name order, not recursively, skipping
// names that start with '.'), merges them in the order given, and validates
// the result against every rule of SPEC section 2.
//
// On any problem it returns a nil manifest and an ErrorList holding every
// problem found. A file named twice is read once.
func Load(paths ...string) (*Manifest, error) {
	var errs ErrorList
	files := expand(paths, &errs)
	if parallelLoad && streamGroups && len(files) > 0 {
		if m, list, ok := loadParallel(files, slices.Clone(errs)); ok {
			if len(list) > 0 {
				return nil, list
			}
			return m, nil
		}
	}
	return loadSequential(files, errs)
}

// Heads is a manifest's files read and split, with their digest: enough
// for its heads (Manifest), which Load can then finish without reading or
// parsing the files again.
type Heads struct {
	files      []string
	expandErrs ErrorList
	errs       ErrorList // expand's and the reads'
	loads      []fileLoad
	docs       []*rawDoc
	digest     string
	loaded     bool
}

// ReadHeads reads and splits the manifest files in paths (see Load).
func ReadHeads(paths ...string) *Heads {
	h := &Heads{}
	h.files = expand(paths, &h.expandErrs)
	h.errs = slices.Clone(h.expandErrs)
	h.loads, h.docs = readDocs(h.files, max(runtime.GOMAXPROCS(0), 1), &h.errs)
	h.digest = digestOf(h.files, h.loads)
	return h
}

// Manifest is the manifest with the same Files and Digest as Load's, but
// only the documents' versions, providers and people checked and returned:
// the groups are not read (HeadsOnly). It is for applying a saved plan
// that was sealed in its state when it was made from a manifest of the
// same digest, which Load found valid then: the plan needs the providers'
// tokens and endpoints, not its groups again.
func (h *Heads) Manifest() (*Manifest, error) {
	errs := slices.Clone(h.errs)
	b := newBuilder(&errs)
	b.heads(h.docs)
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	b.m.Files = h.files
	b.m.Digest = h.digest
	b.m.HeadsOnly = true
	return b.m, nil
}

// Load is Load of the same paths, from the files as they were read. It
// may be called once.
func (h *Heads) Load() (*Manifest, error) {
	if h.loaded {
		return nil, errors.New("load: the manifest's heads were loaded in full already")
	}
	h.loaded = true
	if parallelLoad && streamGroups && len(h.files) > 0 {
		if m, list, ok := loadDocs(h.files, h.errs, h.loads, h.docs, h.digest); ok {
			if len(list) > 0 {
				return nil, list
			}
			return m, nil
		}
	}
	return loadSequential(h.files, h.expandErrs)
}

// loadSequential is Load on one goroutine, errs holding expand's errors.
func loadSequential(files []string, errs ErrorList) (*Manifest, error) {
	digest := sha256.New()
	strs := map[string]string{}
	var docs []*rawDoc
	for _, f := range files {
		data, err := readManifest(f)
		if err != nil {
			errs.add(Pos{File: f}, "%s", err.Error())
			continue
		}
		hashFile(digest, f, data)
		docs = append(docs, parseFile(f, data, &errs, strs)...)
	}
	checkEmpty(files, docs, &errs)
	m := build(docs, &errs)
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	m.Files = files
	m.Digest = hex.EncodeToString(digest.Sum(nil))
	return m, nil
}

// hashFile adds file f of bytes data to a manifest's digest: name, length,
// bytes, so that no two different file sets hash alike.
func hashFile(digest hash.Hash, f string, data []byte) {
	fmt.Fprintf(digest, "%s\x00%d\x00", f, len(data))
	digest.Write(data)
}

// checkEmpty refuses a manifest of no document, when nothing else is wrong.
func checkEmpty(files []string, docs []*rawDoc, errs *ErrorList) {
	if len(docs) == 0 && len(*errs) == 0 {
		errs.add(Pos{File: files[0], Line: 1, Col: 1}, "manifest is empty: it needs at least version: 1")
	}
}

// expand turns paths into the list of files to read, in merge order.
func expand(paths []string, errs *ErrorList) []string {
	if len(paths) == 0 {
		errs.add(Pos{}, "no manifest given: pass a file or a directory (-f PATH)")
	}
	var files []string
	seen := map[string]bool{}
	for _, p := range paths {
		for _, f := range expandOne(filepath.Clean(p), errs) {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	return files
}

func expandOne(path string, errs *ErrorList) []string {
	info, err := os.Stat(path)
	if err != nil {
		errs.add(Pos{File: path}, "%s", ioMessage(err))
		return nil
	}
	if !info.IsDir() {
		if msg := notReadable(info); msg != "" {
			errs.add(Pos{File: path}, "%s", msg)
			return nil
		}
		return []string{path}
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		errs.add(Pos{File: path}, "%s", ioMessage(err))
		return nil
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		f := filepath.Join(path, name)
		info, err := os.Stat(f)
		if err == nil && info.IsDir() {
			continue
		}
		if err == nil {
			if msg := notReadable(info); msg != "" {
				errs.add(Pos{File: f}, "%s", msg)
				continue
			}
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		errs.add(Pos{File: path}, "directory has no *.yaml or *.yml file")
	}
	return files
}

// streamGroups turns on the reading of groups one at a time (see
// splitGroups); tests turn it off to compare.
var streamGroups = true

// MaxManifestSize is the largest manifest file Load reads: a manifest of
// the largest supported fleet is far smaller, and a bound keeps a wrong -f
// (a disk image, a log) from filling memory.
const MaxManifestSize = 32 << 20

// notReadable says why a file found by stat is not read as a manifest, or
// "": only regular files of at most MaxManifestSize are. A FIFO with no
// writer would block the read forever and a device such as /dev/zero never
// ends, so neither is opened.
func notReadable(info fs.FileInfo) string {
	switch m := info.Mode(); {
	case m.IsRegular():
		if info.Size() > MaxManifestSize {
			return fmt.Sprintf("cannot read: the file is %s, more than the %s a manifest may be", mebibytes(info.Size()), mebibytes(MaxManifestSize))
		}
		return ""
	case m&fs.ModeNamedPipe != 0:
		return "cannot read: a named pipe (FIFO) is not a manifest: pass a regular file or a directory"
	case m&fs.ModeDevice != 0 || m&fs.ModeCharDevice != 0:
		return "cannot read: a device is not a manifest: pass a regular file or a directory"
	case m&fs.ModeSocket != 0:
		return "cannot read: a socket is not a manifest: pass a regular file or a directory"
	default:
		return "cannot read: not a regular file or a directory"
	}
}

func mebibytes(n int64) string {
	return strings.TrimSuffix(strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64), ".0") + " MB"
}

// readManifest reads the file at path, which stat found regular and small
// enough; the file may have grown or been replaced since, so the read is
// bounded too.
func readManifest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.New(ioMessage(err))
	}
	defer f.Close()
	var size int64
	if info, err := f.Stat(); err == nil {
		if msg := notReadable(info); msg != "" {
			return nil, errors.New(msg)
		}
		size = info.Size()
	}
	// Room for the size stat found, so that the read does not grow and
	// copy the buffer all the way up to it.
	buf := bytes.NewBuffer(make([]byte, 0, min(size, MaxManifestSize)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxManifestSize+1)); err != nil {
		return nil, errors.New(ioMessage(err))
	}
	data := buf.Bytes()
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("cannot read: the file is more than the %s a manifest may be", mebibytes(MaxManifestSize))
	}
	return data, nil
}

// ioMessage is err without the path, which the error's position already
// names.
func ioMessage(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return "cannot read: " + pe.Err.Error()
	}
	return "cannot read: " + err.Error()
}

// parseFile decodes every document of one file. The groups of a file that
// allows it are read later, one at a time (see splitGroups); strs holds the
// strings interned over the load.
func parseFile(file string, data []byte, errs *ErrorList, strs map[string]string) []*rawDoc {
	return parseFileWith(file, data, errs, strs, true)
}

// parseFileWith is parseFile; check false leaves the groups unchecked (see
// splitGroups).
func parseFileWith(file string, data []byte, errs *ErrorList, strs map[string]string, check bool) []*rawDoc {
	d := &decoder{file: file, errs: errs, budget: 2*len(data) + 1024, interned: strs}
	if head, lazy, ok := splitGroups(d, data, check); ok && streamGroups {
		var root yaml.Node
		err := decodeNode(yaml.NewDecoder(bytes.NewReader(head)), &root)
		if err == nil && len(root.Content) == 1 && headMatches(root.Content[0], lazy.line) {
			if doc := d.document(root.Content[0]); doc != nil {
				doc.lazy = lazy
				return []*rawDoc{doc}
			}
		}
		// Anything else reads as it always has: the whole file at once.
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*rawDoc
	for {
		var root yaml.Node
		err := decodeNode(dec, &root)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			line, msg := syntaxError(err)
			errs.add(Pos{File: file, Line: line, Col: 1}, "invalid YAML: %s", msg)
			return docs
		}
		if len(root.Content) == 0 {
			continue
		}
		if doc := d.document(root.Content[0]); doc != nil {
			docs = append(docs, doc)
		}
	}
}

// decodeNode decodes the next document, turning a panic of the YAML parser
// into an error: a manifest must never crash the program.
func decodeNode(dec *yaml.Decoder, root *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("yaml: the parser failed on this file")
		}
	}()
	return dec.Decode(root)
}

var (
	yamlErrRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)
	// parserErrRE matches the problems of yaml.v3's parser (as opposed to
	// its scanner): their line is 0-based, and absent when 0.
	parserErrRE = regexp.MustCompile(`^(did not find expected|found duplicate %|found incompatible YAML|found undefined tag)`)
)

// syntaxError splits a yaml.v3 error into a 1-based line and a message. The
// scanner reports 1-based lines, the parser 0-based ones (the line where the
// unfinished construct starts); either omits the line when its mark is 0.
func syntaxError(err error) (int, string) {
	msg := err.Error()
	m := yamlErrRE.FindStringSubmatch(msg)
	if m == nil {
		return 1, msg
	}
	line, _ := strconv.Atoi(m[1])
	msg = msg[len(m[0]):]
	if parserErrRE.MatchString(msg) {
		line++
	}
	return max(line, 1), msg
}
