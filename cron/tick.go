package cron

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"

	"github.com/actorweave/actorweave/ans104"
)

// The fixed tags every tick item starts with, in this order; the cron's own tags (its Cron-Tag-*
// values) follow. The module sees only the cron's tags, as the reference's cron messages carry
// only those; the fixed ones say, in the log and to anyone reading it, what the tick is.
const (
	TagInterval = "Cron-Interval" // the cron's interval as the process wrote it
	TagIndex    = "Cron-Index"    // which Cron-Interval of the process (0-based)
	TagSeq      = "Cron-Seq"      // the tick's sequence number (>= 1)
	TagDue      = "Cron-Due"      // when it fell: ms for time crons, a height for block crons
	TagOwner    = "Process-Owner" // the process owner's address: the tick's From, as in the reference
	fixedTags   = 8
)

// Item builds the unsigned tick item t of spec s for process pid, whose owner address is owner.
// It is a function of its arguments only: target pid, a derived anchor, no data.
func Item(pid ans104.ID, owner string, s Spec, t Tick) *ans104.DataItem {
	tags := make([]ans104.Tag, 0, fixedTags+len(s.Tags))
	tags = append(tags,
		ans104.Tag{Name: "Data-Protocol", Value: "ao"},
		ans104.Tag{Name: "Type", Value: "Message"},
		ans104.Tag{Name: "Variant", Value: ans104.VariantLegacynet},
		ans104.Tag{Name: TagInterval, Value: s.Interval},
		ans104.Tag{Name: TagIndex, Value: strconv.Itoa(s.Index)},
		ans104.Tag{Name: TagSeq, Value: strconv.FormatUint(t.Seq, 10)},
		ans104.Tag{Name: TagDue, Value: strconv.FormatInt(t.Due, 10)},
		ans104.Tag{Name: TagOwner, Value: owner},
	)
	tags = append(tags, s.Tags...)
	return ans104.NewItem(nil, pid[:], Anchor(pid, s.Index, t.Seq), tags)
}

// Anchor is the tick's 32-byte anchor: 32 base64url characters of SHA-256("ao-cron" ‖ pid ‖ cron
// index ‖ seq). It makes ticks of different processes, crons and sequences differ even when their
// tags would not.
func Anchor(pid ans104.ID, index int, seq uint64) []byte {
	b := append([]byte("ao-cron"), pid[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(index))
	b = binary.BigEndian.AppendUint64(b, seq)
	h := sha256.Sum256(b)
	return []byte(ans104.EncodeB64(h[:])[:32])
}

// Info is what a tick item says of itself.
type Info struct {
	Index    int
	Interval string
	Seq      uint64
	Due      int64
	Owner    string       // the process owner's address
	Tags     []ans104.Tag // the cron's tags: what the module sees
}

// Parse recognises a tick item by its fixed tags. It does not say who signed it: a tick is only a
// tick when the scheduler that assigned it also signed it (compute checks that), so that no one
// else, and no process's outbox (pushed items always carry From-Process), can forge one.
func ParseTick(d *ans104.DataItem) (Info, bool) {
	t := d.Tags
	if len(t) < fixedTags || t[0].Name != "Data-Protocol" || t[1].Name != "Type" || t[1].Value != "Message" ||
		t[3].Name != TagInterval || t[4].Name != TagIndex || t[5].Name != TagSeq || t[6].Name != TagDue || t[7].Name != TagOwner {
		return Info{}, false
	}
	if _, ok := t.Get("From-Process"); ok {
		return Info{}, false
	}
	idx, err1 := strconv.Atoi(t[4].Value)
	seq, err2 := strconv.ParseUint(t[5].Value, 10, 64)
	due, err3 := strconv.ParseInt(t[6].Value, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || idx < 0 || seq == 0 {
		return Info{}, false
	}
	return Info{Index: idx, Interval: t[3].Value, Seq: seq, Due: due, Owner: t[7].Value, Tags: []ans104.Tag(t[fixedTags:])}, true
}
