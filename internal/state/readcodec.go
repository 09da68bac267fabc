package state

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"groupsync/internal/vendors"
)

// A cached read is stored as one compact record (schema v6): a format byte,
// then the group as a binary record deflated. The record is the group's
// fields in a fixed order, strings as uvarint length then bytes, lists as
// uvarint count then items. Member ids and e-mail addresses repeat their
// prefixes and domains, which deflate shrinks to a few bytes each: the
// 10,000×200 scale world's cached reads take about a tenth of their JSON.
// Decoding is an inflate and a walk over bytes, cheaper than JSON.
const readFormatDeflate byte = 1

// encodeGroup returns the stored record of g.
func encodeGroup(g *vendors.Group) []byte {
	raw := appendGroup(make([]byte, 0, 64+len(g.Members)*48), g)
	var out bytes.Buffer
	out.Grow(len(raw)/3 + 16)
	out.WriteByte(readFormatDeflate)
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(&out)
	w.Write(raw) // writes to a bytes.Buffer do not fail
	w.Close()
	flateWriters.Put(w)
	return out.Bytes()
}

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

var flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// decodeGroup decodes a record made by encodeGroup. The group's strings
// share one allocation.
func decodeGroup(data []byte, g *vendors.Group) error {
	if len(data) == 0 || data[0] != readFormatDeflate {
		return errors.New("unknown cached read format")
	}
	r := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(data[1:]), nil); err != nil {
		return err
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return fmt.Errorf("bad cached read: %w", err)
	}
	d := recordDecoder{s: string(buf.Bytes())}
	d.group(g)
	if d.err != nil {
		return fmt.Errorf("bad cached read: %w", d.err)
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func appendGroup(b []byte, g *vendors.Group) []byte {
	b = appendString(b, g.ID)
	b = appendString(b, g.Name)
	b = appendString(b, g.Type)
	b = binary.AppendVarint(b, g.CreateTime)
	b = binary.AppendUvarint(b, uint64(len(g.Managers)))
	for _, m := range g.Managers {
		b = appendString(b, m)
	}
	b = appendMembers(b, g.Members)
	b = appendMembers(b, g.Subscribers)
	var flags byte
	if g.Info {
		flags |= 1
	}
	if g.Notice != nil {
		flags |= 2
	}
	b = append(b, flags)
	if g.Notice != nil {
		b = appendString(b, g.Notice.Title)
		b = appendString(b, g.Notice.Content)
	}
	return b
}

// appendMembers writes the count plus one, so that nil (0) and empty (1)
// stay apart, as they do in JSON.
func appendMembers(b []byte, ms []vendors.LiveMember) []byte {
	if ms == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(ms))+1)
	for _, m := range ms {
		b = appendString(b, m.ID)
		b = appendString(b, m.Email)
		b = appendString(b, m.Name)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// recordDecoder walks a record; the first error sticks and zeroes the rest.
type recordDecoder struct {
	s   string
	err error
}

var errShortRecord = errors.New("record ends early")

func (d *recordDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	var shift uint
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			d.s = d.s[i+1:]
			return v
		}
		shift += 7
	}
	d.err = errShortRecord
	return 0
}

func (d *recordDecoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *recordDecoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)) {
		d.err = errShortRecord
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

// count reads a list length, refusing one the rest of the record cannot hold.
func (d *recordDecoder) count(minItem int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.s)/minItem+1) {
		d.err = errShortRecord
		return 0
	}
	return int(n)
}

func (d *recordDecoder) group(g *vendors.Group) {
	g.ID = d.str()
	g.Name = d.str()
	g.Type = d.str()
	g.CreateTime = d.varint()
	if n := d.count(1); n > 0 {
		g.Managers = make([]string, n)
		for i := range g.Managers {
			g.Managers[i] = d.str()
		}
	}
	g.Members = d.members()
	g.Subscribers = d.members()
	if d.err != nil {
		return
	}
	if len(d.s) == 0 {
		d.err = errShortRecord
		return
	}
	flags := d.s[0]
	d.s = d.s[1:]
	g.Info = flags&1 != 0
	if flags&2 != 0 {
		g.Notice = &vendors.Notice{Title: d.str(), Content: d.str()}
	}
	if d.err == nil && len(d.s) != 0 {
		d.err = errors.New("trailing bytes")
	}
}

func (d *recordDecoder) members() []vendors.LiveMember {
	n := d.count(3)
	if d.err != nil || n == 0 {
		return nil
	}
	ms := make([]vendors.LiveMember, n-1)
	for i := range ms {
		ms[i] = vendors.LiveMember{ID: d.str(), Email: d.str(), Name: d.str()}
	}
	return ms
}
