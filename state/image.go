package state

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	"github.com/ujumbe/ujumbe/inputfile"
	"github.com/ujumbe/ujumbe/internal/prefault"
)

// An image holds the sends of a snapshot in the form a State keeps them in
// memory (group.go, index.go). The snapshot's writer writes it beside the
// snapshot, as PATH.img, and loading maps it (a large one on a local
// filesystem, mapimage_linux.go) or reads it in one piece and checks one
// CRC instead of decoding the snapshot line by line, which cost 1.7 s of
// CPU for the 2M sends of a 1M x 3 campaign.
//
// An image may also hold the first records of the snapshot's journal
// (imageJournal): a run that leaves many records in the journal, too few
// to rewrite the snapshot for (Store.Close), writes the image of the state
// it leaves instead, so that the runs after it do not replay them. Their
// lines are still read, and their chained CRCs must end where the image
// says; a journal that does not start with the records the image holds
// makes the image unusable, and the snapshot and the journal are read.
//
// An image is only a cache: the snapshot is the state. An image that is
// missing, damaged, written by a build that keeps sends in another layout,
// or made for another snapshot file is ignored, and the snapshot read as
// before. It names its snapshot file by device, inode, size and
// modification time, and repeats the lineage, serial and counts of sends
// of the snapshot's header, so that a snapshot replaced, restored from its
// backup or edited since is read, not the image. A snapshot damaged in
// place behind the image's back (the same file, times put back) is not
// noticed: the image, read instead, is what the next compaction writes.
//
// Layout: magic (8 bytes), the header's length (8, little-endian), the
// header (JSON), then the sections, each starting at a multiple of 8 bytes,
// and last the CRC-32C of all before it (4, little-endian). The sections,
// in the header's order: each table's slots, in its rows, for the columns
// of messages that have sends; each group's text entries in the order of
// its recs, its recs, and its recMores (encodeMore); then the opt-outs,
// each a uvarint length and a snapshot record. Slots and recs are in the
// byte order and layout of the build (imageLayout): they are copied, not
// decoded, and checked before they are used (imageReader.state).

// imageMagic starts every image.
const imageMagic = "ujimage\n"

// imageSuffix names the image of the snapshot at PATH: PATH.img.
const imageSuffix = ".img"

// imageLayout describes how this build keeps sends in memory: the layout
// of the types an image copies, and what a change to the key's hash, the
// text entries (appendTexts), encodeMore or the names of outcomes and
// statuses would change. An image written by a build with another layout
// is ignored.
var imageLayout = func() string {
	var b strings.Builder
	fmt.Fprintf(&b, "image 3, state %d, %s", Version, binary.NativeEndian)
	for _, t := range []reflect.Type{reflect.TypeFor[rec](), reflect.TypeFor[recMore](), reflect.TypeFor[Attempt](), reflect.TypeFor[uint64]()} {
		fmt.Fprintf(&b, "; %s (%d bytes)", t, t.Size())
		if t.Kind() == reflect.Struct {
			for i := range t.NumField() {
				f := t.Field(i)
				fmt.Fprintf(&b, " %s %s @%d", f.Name, f.Type, f.Offset)
			}
		}
	}
	fields := [nTexts]string{"k", "+255", "01234567-89ab-cdef-0123-456789abcdef", "c", "e", "m", "y", "Yes", "yes", "r"}
	more := recMore{deliveredAt: 1, readAt: -2, replyAt: 3, windowSeen: 4, windowExpires: 5, reply: true,
		history: []Attempt{{At: fromMillis(6), Outcome: OutcomeRetry, Systemic: true, MessageID: "m", ConversationID: "c", ErrorCode: "e"}}}
	fmt.Fprintf(&b, "; hash %x; entry %x; more %x; outcomes %q; statuses %q; kinds %q", hashKey("+255700000000"),
		appendTexts(nil, &fields, true), encodeMore(nil, &more), outcomeNames, statusNames, kindNames)
	return b.String()
}()

// imageKey names the snapshot file an image was made from.
type imageKey struct {
	Device  uint64 `json:"device"`
	Inode   uint64 `json:"inode"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
}

// keyOf returns the key of the file fi describes, and false where the
// system does not say its device and inode.
func keyOf(fi os.FileInfo) (imageKey, bool) {
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return imageKey{}, false
	}
	return imageKey{Device: uint64(sys.Dev), Inode: sys.Ino, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}, true
}

type imageHeader struct {
	Layout   string   `json:"layout"`
	Snapshot imageKey `json:"snapshot"`
	Lineage  string   `json:"lineage"`
	Serial   uint64   `json:"serial"` // the snapshot's
	// Journal, when set, says which of the journal's records the image
	// holds besides the snapshot.
	Journal *imageJournal `json:"journal,omitempty"`
	// Tail is the CRC on the snapshot's last line: chained through every
	// line before it, it stands for the snapshot's whole content.
	Tail     uint32       `json:"tail"`
	Variants []string     `json:"variants"` // the variant numbered i+1 in the recs
	Tables   []imageTable `json:"tables"`
	Groups   []imageGroup `json:"groups"`
	OptOuts  int          `json:"opt_outs"`          // bytes
	Inbound  int64        `json:"inbound,omitempty"` // State.InboundRead, Unix ms
}

// imageJournal is the start of a journal an image holds the records of:
// its first Records records after the header, which end at byte Size with
// the chained CRC Chain on their last line. The journal continues the
// snapshot the image names.
type imageJournal struct {
	Records int    `json:"records"`
	Size    int64  `json:"size"`
	Chain   uint32 `json:"chain"`
}

// records returns how many journal records j holds; 0 for nil.
func (j *imageJournal) records() int {
	if j == nil {
		return 0
	}
	return j.Records
}

type imageTable struct {
	Campaign string   `json:"campaign"`
	Rows     int      `json:"rows"`
	Columns  []string `json:"columns"` // the message of each column
}

type imageGroup struct {
	Campaign string `json:"campaign"`
	Message  string `json:"message"`
	Recs     int    `json:"recs"`
	Text     int    `json:"text"`  // bytes
	Mores    int    `json:"mores"` // recMores
	More     int    `json:"more"`  // bytes
}

// writeImage writes the image of st, whose snapshot is the file fi
// describes, its last line's CRC tail, to path+imageSuffix; j, when not
// nil, is the start of the journal st holds the records of too. The image
// is a cache: it is not synced, and a crash leaves a file whose CRC or key
// fails.
func writeImage(path string, st *State, fi os.FileInfo, tail uint32, j *imageJournal) error {
	key, ok := keyOf(fi)
	if !ok {
		return nil
	}
	name := path + imageSuffix
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = encodeImage(f, st, key, tail, j)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write state image %s: %w", name, err)
	}
	return nil
}

// writeImageOf writes the image of st, read from the snapshot file f and
// the start of its journal j (nil for none), at path, when f can be told
// by its image; an image is a cache, and a failure to write one is no
// failure of the run.
func writeImageOf(path string, f *os.File, st *State, j *imageJournal) {
	fi, err := f.Stat()
	if err != nil {
		return
	}
	if tail, ok := snapshotTail(f, fi.Size()); ok {
		_ = writeImage(path, st, fi, tail, j)
	}
}

// imageWriter writes an image's sections, each padded to 8 bytes, and
// keeps its CRC.
type imageWriter struct {
	w   *bufio.Writer
	crc uint32
	n   int
	err error
}

func (iw *imageWriter) write(b []byte) {
	if iw.err != nil {
		return
	}
	iw.crc = crc32.Update(iw.crc, castagnoli, b)
	iw.n += len(b)
	_, iw.err = iw.w.Write(b)
}

// pad ends a section.
func (iw *imageWriter) pad() {
	var zero [8]byte
	iw.write(zero[:(8-iw.n%8)%8])
}

// bytesOf returns the memory of s.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), uintptr(len(s))*unsafe.Sizeof(s[0]))
}

// encodeImage writes st's image to w, with the start of the journal j
// when st holds its records. It holds st's read lock throughout.
func encodeImage(w io.Writer, st *State, key imageKey, tail uint32, j *imageJournal) error {
	st.rlock()
	defer st.runlock()
	h := imageHeader{Layout: imageLayout, Snapshot: key, Lineage: st.lineage, Serial: st.serial, Tail: tail, Inbound: millis(st.inbound)}
	if j != nil {
		h.Serial, h.Journal = st.serial-uint64(j.Records), j
	}
	// The columns of messages whose sends are all gone are left out.
	type tableData struct {
		t    *table
		cols []int
	}
	var tables []tableData
	for name, t := range st.tables {
		it, d := imageTable{Campaign: name, Rows: t.rows}, tableData{t: t}
		for m := range t.names {
			if st.groups[groupKey{name, m}] != nil {
				it.Columns = append(it.Columns, m)
			}
		}
		if len(it.Columns) == 0 {
			continue
		}
		slices.SortFunc(it.Columns, func(a, b string) int { return cmp.Compare(t.names[a], t.names[b]) })
		for _, m := range it.Columns {
			d.cols = append(d.cols, t.names[m])
		}
		h.Tables = append(h.Tables, it)
		tables = append(tables, d)
	}
	// Variant numbers are the process's: the image names them.
	variantIDs := map[uint16]uint16{0: 0}
	// Each group's text entries, one after the other, and the recMores
	// its live recs use, so that what set and remove left behind is not
	// carried on.
	type groupData struct {
		g    *group
		lens []uint32
		more []byte
	}
	var groups []groupData
	for k, g := range st.groups {
		d := groupData{g: g, lens: make([]uint32, len(g.recs))}
		text, mores := 0, 0
		for i := range g.recs {
			r := &g.recs[i]
			n := g.entryLen(r)
			d.lens[i], text = uint32(n), text+n
			if _, ok := variantIDs[r.variant]; !ok {
				variantIDs[r.variant] = uint16(len(h.Variants) + 1)
				h.Variants = append(h.Variants, variants.Name(r.variant))
			}
			if r.more != 0 {
				d.more = encodeMore(d.more, &g.more[r.more-1])
				mores++
			}
		}
		if uint64(text) > math.MaxUint32 {
			return fmt.Errorf("the text of %s.%s is too large for an image", k.campaign, k.message)
		}
		h.Groups = append(h.Groups, imageGroup{Campaign: k.campaign, Message: k.message, Recs: len(g.recs),
			Text: text, Mores: mores, More: len(d.more)})
		groups = append(groups, d)
	}
	var optOuts []byte
	for _, o := range st.optOuts {
		line := appendRecord(nil, &record{op: opOptOut, optOut: o})
		optOuts = append(binary.AppendUvarint(optOuts, uint64(len(line))), line...)
	}
	h.OptOuts = len(optOuts)
	js, err := json.Marshal(h)
	if err != nil {
		return err
	}

	iw := &imageWriter{w: bufio.NewWriterSize(w, 1<<20)}
	iw.write([]byte(imageMagic))
	iw.write(binary.LittleEndian.AppendUint64(nil, uint64(len(js))))
	iw.write(js)
	iw.pad()
	for _, d := range tables {
		t := d.t
		if len(d.cols) == t.cols {
			iw.write(bytesOf(t.slots))
			continue
		}
		slots := make([]uint64, 0, 4096*len(d.cols))
		for row := range t.rows {
			for _, c := range d.cols {
				slots = append(slots, t.slots[row*t.cols+c])
			}
			if len(slots) == cap(slots) || row == t.rows-1 {
				iw.write(bytesOf(slots))
				slots = slots[:0]
			}
		}
	}
	batch := make([]rec, 0, 4096)
	for _, d := range groups {
		g := d.g
		for i := range g.recs {
			r := &g.recs[i]
			iw.write(unsafe.Slice(unsafe.StringData(g.text[r.chunk][r.at:]), d.lens[i]))
		}
		iw.pad()
		at, more := uint32(0), uint32(0)
		for lo := 0; lo < len(g.recs); lo += cap(batch) {
			batch = append(batch[:0], g.recs[lo:min(lo+cap(batch), len(g.recs))]...)
			for i := range batch {
				r := &batch[i]
				r.chunk, r.at, r.own = 0, at, false
				at += d.lens[lo+i]
				if r.more != 0 {
					more++
					r.more = more
				}
				r.variant = variantIDs[r.variant]
			}
			iw.write(bytesOf(batch))
		}
		iw.pad()
		iw.write(d.more)
		iw.pad()
	}
	iw.write(optOuts)
	iw.pad()
	iw.write(binary.LittleEndian.AppendUint32(nil, iw.crc))
	if iw.err == nil {
		iw.err = iw.w.Flush()
	}
	return iw.err
}

// entryLen returns the length of r's text entry (see appendTexts).
func (g *group) entryLen(r *rec) int {
	_, n, _ := entrySpan(g.text[r.chunk], int(r.at), r.more != 0 && g.more[r.more-1].reply)
	return n
}

// entrySpan returns the key of the text entry (appendTexts) at s[at:], of
// a send with a reply or not, and its length. It checks every length
// against s, and ok is false for an entry that does not fit: an image's
// entries are read this way once before textReader reads them unchecked.
func entrySpan(s string, at int, reply bool) (key string, n int, ok bool) {
	b := spanReader{s: s, i: at}
	key = b.text()
	if k := b.uvarint(); k > 0 {
		b.skip(k - 1) // phone
	}
	b.id()
	b.id()
	b.text() // error code
	b.text() // error message
	if reply {
		b.text()
		b.text()
		b.text()
		b.id()
	}
	if b.bad {
		return "", 0, false
	}
	return key, b.i - at, true
}

// spanReader reads a text entry with every length checked; bad is set,
// and stays set, when one does not fit.
type spanReader struct {
	s   string
	i   int
	bad bool
}

func (b *spanReader) uvarint() int {
	var n int
	for shift := 0; shift < 32 && b.i < len(b.s); shift += 7 {
		c := b.s[b.i]
		b.i++
		n |= int(c&0x7f) << shift
		if c < 0x80 {
			return n
		}
	}
	b.bad = true
	return 0
}

func (b *spanReader) skip(n int) {
	if b.bad || n < 0 || n > len(b.s)-b.i {
		b.bad = true
		return
	}
	b.i += n
}

func (b *spanReader) text() string {
	n := b.uvarint()
	b.skip(n)
	if b.bad {
		return ""
	}
	return b.s[b.i-n : b.i]
}

// id reads past an id (appendID).
func (b *spanReader) id() {
	switch k := b.uvarint(); k {
	case 0:
	case 1:
		b.skip(16)
	default:
		b.skip(k - 2)
	}
}

// encodeMore appends m to dst.
func encodeMore(dst []byte, m *recMore) []byte {
	for _, v := range [...]int64{m.deliveredAt, m.readAt, m.replyAt, m.windowSeen, m.windowExpires} {
		dst = binary.AppendVarint(dst, v)
	}
	var flags byte
	if m.reply {
		flags |= 1
	}
	if m.windowOpen {
		flags |= 2
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(m.history)))
	for _, a := range m.history {
		dst = binary.AppendVarint(dst, millis(a.At))
		o := byte(a.Outcome)
		if a.Systemic {
			o |= systemicBit
		}
		dst = append(dst, o)
		for _, s := range [...]string{a.MessageID, a.ConversationID, a.ErrorCode} {
			dst = append(binary.AppendUvarint(dst, uint64(len(s))), s...)
		}
	}
	return dst
}

// systemicBit marks, in the byte of an earlier attempt's outcome in a
// recMore's image, an attempt that failed for the run's reasons.
const systemicBit = 0x80

// errImage is any reason an image cannot be used; the snapshot is read.
var errImage = errors.New("no usable image")

// readImage returns the state the image of the snapshot file f holds, and
// the start of the journal whose records it holds too (nil for none), or
// errImage when it has no image this build can use. The image's header is
// read first and must name f, the lineage and serial of f's header, its
// count of sends in each message (unless it holds journal records, which
// change them) and the CRC on its last line (a copy of another run's state
// may match all the rest: restored over the file in place, with its
// times); then the rest is read and checked (readImage.state). The caller
// checks that the journal starts with the records it holds (replay).
func readImage(path string, f *os.File) (*State, *imageJournal, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, errImage
	}
	key, ok := keyOf(fi)
	if !ok {
		return nil, nil, errImage
	}
	snap, err := snapshotHeader(f, fi.Size())
	if err != nil {
		return nil, nil, errImage
	}
	img, err := inputfile.Open(path + imageSuffix)
	if err != nil {
		return nil, nil, errImage
	}
	defer img.Close()
	ifi, err := img.Stat()
	if err != nil || ifi.Size() > math.MaxInt {
		return nil, nil, errImage
	}
	head, js, h, err := readImageHeader(img, ifi.Size())
	if err != nil || h.Snapshot != key || !h.matches(&snap) {
		return nil, nil, errImage
	}
	if tail, ok := snapshotTail(f, fi.Size()); !ok || tail != h.Tail {
		return nil, nil, errImage
	}
	// The image of this snapshot: mapped or read in whole. The recs and
	// slots are used where they lie, and the text entries are strings
	// into it. It holds no pointer, so the collector does not look inside.
	buf := mapImage(img, ifi.Size())
	if buf != nil {
		// Mapped from the file's start, the header must be the one read: a
		// file is replaced, never changed in place, but make sure.
		if !bytes.HasPrefix(buf, head[:]) || !bytes.HasPrefix(buf[len(head):], js) {
			return nil, nil, errImage
		}
	} else {
		buf = make([]byte, ifi.Size())
		prefault.Pages(buf)
		copy(buf, head[:])
		copy(buf[len(head):], js)
		if _, err := io.ReadFull(img, buf[len(head)+len(js):]); err != nil {
			return nil, nil, errImage
		}
	}
	ir := &imageReader{b: buf[:len(buf)-4], off: len(head) + len(js)}
	if checksum(ir.b) != binary.LittleEndian.Uint32(buf[len(ir.b):]) {
		return nil, nil, errImage
	}
	ir.pad()
	st, err := ir.state(&h)
	// Without journal records, the opt-outs are the snapshot's.
	if err != nil || ir.bad || ir.off != len(ir.b) || h.Journal == nil && len(st.optOuts) != snap.OptOuts {
		return nil, nil, errImage
	}
	st.serial += uint64(h.Journal.records())
	return st, h.Journal, nil
}

// checksum returns the Castagnoli CRC-32 of b a megabyte at a time: the
// checksum is one assembly loop, which the runtime cannot preempt, and
// over a whole image of a million sends (hundreds of megabytes, mapped in
// as it reads) it held a collection's stop-the-world, and so every other
// goroutine of the process, for a tenth of a second or more.
func checksum(b []byte) uint32 {
	const chunk = 1 << 20
	var sum uint32
	for len(b) > chunk {
		sum = crc32.Update(sum, castagnoli, b[:chunk])
		b = b[chunk:]
	}
	return crc32.Update(sum, castagnoli, b)
}

// imageHead is the start of an image file: its magic and the length of
// its JSON header.
type imageHead [len(imageMagic) + 8]byte

// readImageHeader reads the header of the image file img, of the given
// size, from its start: the bytes before the JSON, the JSON and what it
// says. It is errImage for a file that is no image of this build's layout.
func readImageHeader(img io.Reader, size int64) (head imageHead, js []byte, h imageHeader, err error) {
	if _, err := io.ReadFull(img, head[:]); err != nil || string(head[:len(imageMagic)]) != imageMagic {
		return head, nil, h, errImage
	}
	n := binary.LittleEndian.Uint64(head[len(imageMagic):])
	if size < int64(len(head))+4 || n > uint64(size)-uint64(len(head))-4 {
		return head, nil, h, errImage
	}
	js = make([]byte, n)
	if _, err := io.ReadFull(img, js); err != nil {
		return head, nil, h, errImage
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if dec.Decode(&h) != nil || h.Layout != imageLayout || h.Journal != nil && (h.Journal.Records <= 0 || h.Journal.Size <= 0) {
		return head, nil, h, errImage
	}
	return head, js, h, nil
}

// staleImage returns the lineage and serial of the snapshot the image
// beside the snapshot at path was made of (not counting the journal
// records it may hold too), when it has one this build can read; ok is
// false otherwise.
func staleImage(path string) (lineage string, serial uint64, ok bool) {
	img, err := inputfile.Open(path + imageSuffix)
	if err != nil {
		return "", 0, false
	}
	defer img.Close()
	fi, err := img.Stat()
	if err != nil {
		return "", 0, false
	}
	_, _, h, err := readImageHeader(img, fi.Size())
	if err != nil {
		return "", 0, false
	}
	return h.Lineage, h.Serial, true
}

// snapshotHeader reads the header of the snapshot file f, of the given
// size, without moving its offset.
func snapshotHeader(f *os.File, size int64) (header, error) {
	line, complete, err := newLineReader(io.NewSectionReader(f, 0, size)).next()
	if err != nil || !complete {
		return header{}, errImage
	}
	payload, _, err := unframe(line, 0)
	if err != nil {
		return header{}, err
	}
	return parseHeader(payload, formatState)
}

// snapshotTail returns the CRC on the last line of the snapshot file f, of
// the given size. It reads the file's end 64 KiB at a time until it has the
// line, which one read does unless a send's history has grown long; ok is
// false when the last line is not a whole framed one, or is longer than
// 64 MiB.
func snapshotTail(f *os.File, size int64) (crc uint32, ok bool) {
	const window, limit = 1 << 16, 64 << 20
	var tail []byte // the file's last bytes read so far
	for int64(len(tail)) < size && len(tail) < limit {
		n := int(min(size-int64(len(tail)), window))
		b := make([]byte, n, n+len(tail))
		if _, err := f.ReadAt(b, size-int64(len(tail)+n)); err != nil {
			return 0, false
		}
		if tail = append(b, tail...); tail[len(tail)-1] != '\n' {
			return 0, false
		}
		start := bytes.LastIndexByte(tail[:len(tail)-1], '\n') + 1
		if start > 0 || int64(len(tail)) == size {
			crc, err := lineCRC(tail[start : len(tail)-1])
			return crc, err == nil
		}
	}
	return 0, false
}

// matches reports whether h names the lineage and serial of the snapshot
// header snap, and, unless it holds journal records too, has the groups of
// the sizes it lists.
func (h *imageHeader) matches(snap *header) bool {
	if h.Lineage != snap.Lineage || h.Serial != snap.Serial {
		return false
	}
	if h.Journal != nil {
		return true
	}
	if len(h.Groups) != len(snap.Messages) {
		return false
	}
	sends := make(map[groupKey]int, len(snap.Messages))
	for _, m := range snap.Messages {
		sends[groupKey{m.Campaign, m.Message}] = m.Sends
	}
	for _, g := range h.Groups {
		if n, ok := sends[groupKey{g.Campaign, g.Message}]; !ok || n != g.Recs {
			return false
		}
	}
	return true
}

// imageReader reads an image's sections; bad is set, and stays set, when
// one does not fit.
type imageReader struct {
	b   []byte
	off int
	bad bool
}

// next returns the next n bytes.
func (ir *imageReader) next(n int) []byte {
	if ir.bad || n < 0 || n > len(ir.b)-ir.off {
		ir.bad = true
		return nil
	}
	ir.off += n
	return ir.b[ir.off-n : ir.off : ir.off]
}

func (ir *imageReader) pad() { ir.next((8 - ir.off%8) % 8) }

// section returns the next n elements of type T, where they lie.
func section[T any](ir *imageReader, n int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if n < 0 || n > (len(ir.b)-ir.off)/max(size, 1) {
		ir.bad = true
		return nil
	}
	b := ir.next(n * size)
	ir.pad()
	if ir.bad || n == 0 {
		return nil
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(p)%unsafe.Alignof(zero) != 0 {
		ir.bad = true
		return nil
	}
	return unsafe.Slice((*T)(p), n)
}

// state makes the State the sections after the header h hold. Every part
// is checked before it is used, so that an image with a valid CRC but
// written wrongly is refused instead of read: each rec's text entry fits
// and follows the one before, its recMore is its own, and each index finds
// every rec of its group (index.holds).
func (ir *imageReader) state(h *imageHeader) (*State, error) {
	st := newState()
	st.lineage, st.serial, st.inbound = h.Lineage, h.Serial, fromMillis(h.Inbound)
	columns := 0
	for _, it := range h.Tables {
		cols := len(it.Columns)
		if cols == 0 || it.Rows <= 0 || it.Rows&(it.Rows-1) != 0 || it.Rows > (len(ir.b)-ir.off)/8/cols ||
			st.tables[it.Campaign] != nil {
			return nil, errImage
		}
		t := &table{rows: it.Rows, cols: cols, names: map[string]int{}}
		for c, m := range it.Columns {
			t.names[m] = c
		}
		if t.slots = section[uint64](ir, t.rows*t.cols); len(t.names) != t.cols || ir.bad {
			return nil, errImage
		}
		st.tables[it.Campaign] = t
		columns += cols
	}
	ids := make([]uint16, len(h.Variants)+1)
	for i, name := range h.Variants {
		ids[i+1] = variants.ID(name)
	}
	for _, ig := range h.Groups {
		t := st.tables[ig.Campaign]
		k := groupKey{ig.Campaign, ig.Message}
		col, ok := 0, t != nil
		if ok {
			col, ok = t.names[ig.Message]
		}
		if !ok || st.groups[k] != nil || ig.Recs <= 0 {
			return nil, errImage
		}
		g := &group{key: k, index: index{t: t, col: col, n: ig.Recs}}
		text := ir.next(ig.Text)
		ir.pad()
		g.recs = section[rec](ir, ig.Recs)
		more := ir.next(ig.More)
		ir.pad()
		if ir.bad {
			return nil, errImage
		}
		if len(text) > 0 {
			g.text = []string{unsafe.String(unsafe.SliceData(text), len(text))}
		}
		var err error
		if g.more, err = decodeMores(more, ig.Mores); err != nil {
			return nil, err
		}
		if !g.check(ids) {
			return nil, errImage
		}
		st.groups[k] = g
		st.n += len(g.recs)
	}
	if len(st.groups) != columns {
		return nil, errImage
	}
	optOuts := ir.next(h.OptOuts)
	ir.pad()
	d := newDecoder()
	for len(optOuts) > 0 {
		n, w := binary.Uvarint(optOuts)
		if w <= 0 || n > uint64(len(optOuts)-w) {
			return nil, errImage
		}
		r, err := d.record(optOuts[w : w+int(n)])
		if err != nil || r.op != opOptOut {
			return nil, errImage
		}
		st.apply(&r)
		optOuts = optOuts[w+int(n):]
	}
	return st, nil
}

// check reports whether the recs, text entries and recMores of g, read
// from an image, are as encodeImage writes them, and numbers their
// variants in this process (ids).
func (g *group) check(ids []uint16) bool {
	text := ""
	if len(g.text) > 0 {
		text = g.text[0]
	}
	at, more := 0, uint32(0)
	var sum uint64
	for i := range g.recs {
		r := &g.recs[i]
		reply := false
		if r.more != 0 {
			if more++; r.more != more || int(more) > len(g.more) {
				return false
			}
			reply = g.more[more-1].reply
		}
		if r.chunk != 0 || int(r.at) != at || r.own || int(r.variant) >= len(ids) ||
			int(r.outcome) >= len(outcomeNames) || int(r.status) >= len(statusNames) || int(r.kind) >= len(kindNames) {
			return false
		}
		key, n, ok := entrySpan(text, at, reply)
		if !ok {
			return false
		}
		at += n
		sum += mixSlot(hashKey(key)<<32 | uint64(i+1))
		if v := ids[r.variant]; v != r.variant {
			r.variant = v // a mapped image's page is copied only then
		}
	}
	return at == len(text) && int(more) == len(g.more) && g.index.holds(len(g.recs), sum)
}

// holds reports whether x's column holds n slots, each the position of one
// of n recs, in the rows lookup finds them in (no free slot between a
// slot's hash's row and its own), and the sum of mixSlot over them is sum,
// the sum over the slots the recs' keys should have. Probabilistic in the
// last part only, it costs one pass over the column.
func (x *index) holds(n int, sum uint64) bool {
	t := x.t
	mask := t.rows - 1
	// The run of full slots that ends the column continues at row 0.
	run := 0
	for i := t.rows - 1; i >= 0 && *x.slot(uint64(i)) != 0; i-- {
		run++
	}
	if run == t.rows {
		return false // never full (reserve)
	}
	count := 0
	for i := range t.rows {
		s := *x.slot(uint64(i))
		if s == 0 {
			run = 0
			continue
		}
		run++
		count++
		if pos := uint32(s); pos == 0 || uint64(pos) > uint64(n) || (i-int(s>>32)&mask)&mask >= run {
			return false
		}
		sum -= mixSlot(s)
	}
	return count == n && sum == 0
}

// mixSlot scatters the bits of a slot (the finalizer of SplitMix64), so
// that sums of slots differ when the slots do.
func mixSlot(s uint64) uint64 {
	s ^= s >> 30
	s *= 0xbf58476d1ce4e5b9
	s ^= s >> 27
	s *= 0x94d049bb133111eb
	return s ^ s>>31
}

// decodeMores reads the n recMores encodeMore wrote one after the other.
func decodeMores(b []byte, n int) ([]recMore, error) {
	if n < 0 || n > len(b) {
		return nil, errImage
	}
	out := make([]recMore, 0, n)
	prefault.Pages(out) // as in config's newDupIndex: a collection may read the pages first
	varint := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	uvarint := func() int {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > uint64(len(b)) {
			b = nil
			return -1
		}
		b = b[n:]
		return int(v)
	}
	str := func() (string, bool) {
		n := uvarint()
		if n < 0 || n > len(b) {
			return "", false
		}
		s := string(b[:n])
		b = b[n:]
		return s, true
	}
	for len(b) > 0 {
		var m recMore
		for _, p := range [...]*int64{&m.deliveredAt, &m.readAt, &m.replyAt, &m.windowSeen, &m.windowExpires} {
			*p = varint()
		}
		if len(b) == 0 {
			return nil, errImage
		}
		m.reply, m.windowOpen = b[0]&1 != 0, b[0]&2 != 0
		b = b[1:]
		n := uvarint()
		if n < 0 {
			return nil, errImage
		}
		for range n {
			at := varint()
			if len(b) == 0 || int(b[0]&^systemicBit) >= len(outcomeNames) {
				return nil, errImage
			}
			a := Attempt{At: fromMillis(at), Outcome: Outcome(b[0] &^ systemicBit), Systemic: b[0]&systemicBit != 0}
			b = b[1:]
			var ok1, ok2, ok3 bool
			a.MessageID, ok1 = str()
			a.ConversationID, ok2 = str()
			a.ErrorCode, ok3 = str()
			if !ok1 || !ok2 || !ok3 {
				return nil, errImage
			}
			m.history = append(m.history, a)
		}
		out = append(out, m)
	}
	if len(out) != n {
		return nil, errImage
	}
	return out, nil
}
