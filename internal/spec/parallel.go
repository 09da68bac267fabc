package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"sync"
	"sync/atomic"

	"gopkg.in/yaml.v3"
)

// A large manifest loads on every core (loadParallel):
//
//   - the files are read and split (see splitGroups) concurrently, a file
//     per worker at a time;
//   - the groups are read into rawGroups by workers, in blocks of
//     consecutive groups of one file, while this goroutine takes the blocks
//     strictly in order and validates each group (builder.addGroup), so the
//     manifest, its order and every message are what one goroutine makes.
//
// The groups of a file are not checked before the load starts, as
// splitGroups checks them for the sequential load, unless a byte of the
// file says a group may need its whole file (see checkFirst): a group that
// neither lineParser nor yaml.v3 alone reads, or one with a character YAML
// refuses, is found by a worker, and the whole load is then done again the
// sequential way, which parses such a file whole. A manifest takes that
// second load only when one of its groups does not parse, or holds a line
// break other than \n.

// parallelLoad turns on loadParallel; tests turn it off to compare.
var parallelLoad = true

// blockGroups is how many groups a worker reads at a time: enough that
// handing a block over costs little beside reading it, few enough that the
// blocks out at once (their member lists) add little to the peak heap.
var blockGroups = 32

// fileLoad is one file read and split.
type fileLoad struct {
	data []byte
	read bool // data was read (it may be empty)
	docs []*rawDoc
	errs ErrorList
}

// groupTask is a block of groups of one file: items [lo, hi).
type groupTask struct {
	lazy   *lazyGroups
	lo, hi int
}

// groupBlock is a task's groups read, with the errors found reading them.
// Blocks are reused: spares are the member lists of groups validated
// already, for the next groups read (see decoder.spare).
type groupBlock struct {
	groups []*rawGroup
	errs   ErrorList
	spent  int  // of the file's alias budget (see decoder.spend)
	redo   bool // a group must be read the sequential way
	spares [][]scalar
}

// loadParallel is Load on several goroutines; errs holds expand's errors.
// ok is false when the files must be loaded the sequential way.
func loadParallel(files []string, errs ErrorList) (m *Manifest, _ ErrorList, ok bool) {
	loads, docs := readDocs(files, max(runtime.GOMAXPROCS(0), 1), &errs)
	return loadDocs(files, errs, loads, docs, "")
}

// loadDocs is loadParallel of the files read and split (readDocs), errs
// holding expand's and readDocs' errors; digest is theirs when it was
// hashed already, else "".
func loadDocs(files []string, errs ErrorList, loads []fileLoad, docs []*rawDoc, digest string) (m *Manifest, _ ErrorList, ok bool) {
	procs := max(runtime.GOMAXPROCS(0), 1)
	var tasks []groupTask
	for _, doc := range docs {
		if l := doc.lazy; l != nil {
			for lo := 0; lo < len(l.items); lo += blockGroups {
				tasks = append(tasks, groupTask{lazy: l, lo: lo, hi: min(lo+blockGroups, len(l.items))})
			}
		}
	}
	r := startReaders(tasks, procs)
	defer r.stop()

	// The digest meanwhile: the same bytes in the same order as the
	// sequential load's.
	sums := make(chan string, 1)
	go func() {
		if digest == "" {
			digest = digestOf(files, loads)
		}
		for i := range loads {
			loads[i].data = nil
		}
		sums <- digest
	}()

	b := newBuilder(&errs)
	b.heads(docs)
	next := 0
	for _, doc := range docs {
		for _, g := range doc.groups {
			b.addGroup(g)
		}
		l := doc.lazy
		if l == nil {
			continue
		}
		budget := l.d.budget // what the head left of the file's
		for ; next < len(tasks) && tasks[next].lazy == l; next++ {
			blk := <-r.ready[next]
			// Without aliases the budget never runs out; if it did, the
			// sequential load says where.
			if budget -= blk.spent; blk.redo || budget < 0 {
				<-sums
				return nil, nil, false
			}
			errs = append(errs, blk.errs...)
			for _, g := range blk.groups {
				b.addGroup(g)
			}
			r.recycle(blk)
			tasks[next] = groupTask{} // its file's bytes can go
		}
		doc.lazy = nil
	}
	b.checkPreviously()
	sum := <-sums
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs, true
	}
	b.m.Files = files
	b.m.Digest = sum
	return b.m, nil, true
}

// readDocs reads and splits the files on up to procs goroutines (see
// readFiles), and returns them with their documents in merge order, their
// errors added to errs.
func readDocs(files []string, procs int, errs *ErrorList) ([]fileLoad, []*rawDoc) {
	loads := readFiles(files, procs)
	var docs []*rawDoc
	for i := range loads {
		*errs = append(*errs, loads[i].errs...)
		docs = append(docs, loads[i].docs...)
	}
	checkEmpty(files, docs, errs)
	return loads, docs
}

// digestOf is the manifest digest of the files read: the same bytes in the
// same order as the sequential load's.
func digestOf(files []string, loads []fileLoad) string {
	h := sha256.New()
	for i, f := range files {
		if loads[i].read {
			hashFile(h, f, loads[i].data)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readFiles reads and splits the files on up to procs goroutines.
func readFiles(files []string, procs int) []fileLoad {
	loads := make([]fileLoad, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(procs, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			strs := map[string]string{}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				fl := &loads[i]
				data, err := readManifest(files[i])
				if err != nil {
					fl.errs.add(Pos{File: files[i]}, "%s", err.Error())
					continue
				}
				fl.data, fl.read = data, true
				fl.docs = parseFileWith(files[i], data, &fl.errs, strs, checkFirst(data))
			}
		}()
	}
	wg.Wait()
	return loads
}

// checkFirst reports whether the groups of a file are checked before they
// are read, as the sequential load checks them: a tab or a carriage return
// makes the file parse whole, and an anchor or an alias may make a group
// that reads only within its file. Other bytes are the rule, and finding
// these costs little beside checking every group.
func checkFirst(data []byte) bool {
	for _, c := range []byte("\t\r&*") {
		if bytes.IndexByte(data, c) >= 0 {
			return true
		}
	}
	return false
}

// groupReaders read the tasks' groups into blocks: ready[i] receives task
// i's. At most len(free)'s blocks are out at once, which bounds memory.
type groupReaders struct {
	tasks   []groupTask
	ready   []chan *groupBlock
	free    chan *groupBlock
	quit    chan struct{}
	stopped atomic.Bool
	next    atomic.Int64
	wg      sync.WaitGroup
}

func startReaders(tasks []groupTask, procs int) *groupReaders {
	r := &groupReaders{tasks: tasks, ready: make([]chan *groupBlock, len(tasks)), quit: make(chan struct{})}
	if len(tasks) == 0 {
		return r
	}
	for i := range r.ready {
		r.ready[i] = make(chan *groupBlock, 1)
	}
	workers := min(procs, len(tasks))
	// A block for each worker to fill, one ready and one being validated.
	r.free = make(chan *groupBlock, workers+2)
	for range cap(r.free) {
		r.free <- &groupBlock{}
	}
	for range workers {
		r.wg.Add(1)
		go r.run()
	}
	return r
}

// stop ends the workers, whether or not every block was read.
func (r *groupReaders) stop() {
	r.stopped.Store(true)
	close(r.quit)
	r.wg.Wait()
}

// recycle returns blk, its groups validated, for the workers to fill again.
func (r *groupReaders) recycle(blk *groupBlock) {
	for i, g := range blk.groups {
		if cap(g.members) > 0 && len(blk.spares) < blockGroups {
			blk.spares = append(blk.spares, g.members[:0])
		}
		blk.groups[i] = nil
	}
	blk.groups, blk.errs = blk.groups[:0], blk.errs[:0]
	r.free <- blk
}

func (r *groupReaders) run() {
	defer r.wg.Done()
	// The worker's own decoder and strings: at most one copy of a handle
	// per worker, and no lock.
	d := &decoder{interned: map[string]string{}}
	p := &lineParser{d: d}
	for {
		var blk *groupBlock
		select {
		case blk = <-r.free:
		case <-r.quit:
			return
		}
		i := int(r.next.Add(1) - 1)
		if i >= len(r.tasks) || r.stopped.Load() {
			return
		}
		readBlock(d, p, r.tasks[i], blk)
		r.ready[i] <- blk
	}
}

// readBlock reads task t's groups into blk as lazyGroups.each reads them.
func readBlock(d *decoder, p *lineParser, t groupTask, blk *groupBlock) {
	l := t.lazy
	// l.d is read only: the head's decoder, done with.
	d.file, d.errs, d.budget = l.d.file, &blk.errs, l.d.budget
	blk.spent, blk.redo = 0, false
	defer func() {
		blk.spent = l.d.budget - d.budget
		d.lineOffset, d.preInterned, d.errs = 0, false, nil
		if d.spare != nil {
			blk.spares, d.spare = append(blk.spares, d.spare), nil
		}
	}()
	for i := t.lo; i < t.hi; i++ {
		it := l.items[i]
		text := l.data[it.start:it.end]
		var item *yaml.Node
		line := 0
		switch {
		case l.parsed != nil && l.parsed[i] != nil:
			// Checked first (see checkFirst), and declined by lineParser.
			item, line = l.parsed[i], it.line-1
		case !printable(text):
			blk.redo = true
			return
		default:
			item = p.read(text, it.line)
		}
		if item == nil {
			n, ok := parseAlone(text)
			if !ok {
				blk.redo = true
				return
			}
			item, line = n, it.line-1
		}
		if d.spare == nil && len(blk.spares) > 0 {
			n := len(blk.spares) - 1
			d.spare, blk.spares[n] = blk.spares[n], nil
			blk.spares = blk.spares[:n]
		}
		d.lineOffset, d.preInterned = line, line == 0
		if d.spend() {
			if g := d.group(item); g != nil {
				blk.groups = append(blk.groups, g)
			}
		}
	}
}
