package ans104

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func aoTags(kv ...string) []Tag {
	var ts []Tag
	for i := 0; i+1 < len(kv); i += 2 {
		ts = append(ts, Tag{kv[i], kv[i+1]})
	}
	return ts
}

const someID = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

func TestAOViews(t *testing.T) {
	ed, _ := GenerateEd25519Signer()
	mk := func(target []byte, tags []Tag) *DataItem {
		d := NewItem([]byte(" "), target, nil, tags)
		if err := d.Sign(ed); err != nil {
			t.Fatal(err)
		}
		return d
	}
	proc := mk(nil, aoTags("Data-Protocol", "ao", "Type", "Process", "Module", someID, "Scheduler", "addr",
		"Cron-Interval", "1-minute", "Cron-Tag-Action", "Tick", "Cron-Interval", "10-blocks"))
	p, err := AsProcess(proc)
	if err != nil {
		t.Fatal(err)
	}
	if p.Module.String() != someID || p.Variant != VariantLegacynet || len(p.Crons) != 2 || p.Crons[0].Tags[0] != (Tag{"Action", "Tick"}) {
		t.Fatalf("process view %+v", p)
	}

	cases := []struct {
		name string
		view func(*DataItem) error
		item *DataItem
		want string
	}{
		{"process without Module", func(d *DataItem) error { _, e := AsProcess(d); return e },
			mk(nil, aoTags("Data-Protocol", "ao", "Type", "Process", "Scheduler", "x")), "Process item lacks the Module tag"},
		{"process with a bad Module id", func(d *DataItem) error { _, e := AsProcess(d); return e },
			mk(nil, aoTags("Data-Protocol", "ao", "Type", "Process", "Module", "short", "Scheduler", "x")), "Process item has a bad Module tag"},
		{"process without Scheduler", func(d *DataItem) error { _, e := AsProcess(d); return e },
			mk(nil, aoTags("Data-Protocol", "ao", "Type", "Process", "Module", someID)), "Process item lacks the Scheduler tag"},
		{"Cron-Tag before Cron-Interval", func(d *DataItem) error { _, e := AsProcess(d); return e },
			mk(nil, aoTags("Data-Protocol", "ao", "Type", "Process", "Module", someID, "Scheduler", "x", "Cron-Tag-A", "b")), "must follow a Cron-Interval"},
		{"message without Data-Protocol", func(d *DataItem) error { _, e := AsMessage(d); return e },
			mk(make([]byte, 32), aoTags("Type", "Message")), "Message item lacks the Data-Protocol tag"},
		{"message without target", func(d *DataItem) error { _, e := AsMessage(d); return e },
			mk(nil, aoTags("Data-Protocol", "ao", "Type", "Message")), "needs a target"},
		{"message with +link", func(d *DataItem) error { _, e := AsMessage(d); return e },
			mk(make([]byte, 32), aoTags("Data-Protocol", "ao", "Type", "Message", "X", "y+link")), "+link"},
		{"message typed as Process", func(d *DataItem) error { _, e := AsMessage(d); return e },
			mk(make([]byte, 32), aoTags("Data-Protocol", "ao", "Type", "Process")), `bad Type tag: value is "Process"`},
		{"tag-less item", func(d *DataItem) error { _, e := Kind(d); return e }, mk(nil, nil), "data item lacks the Type tag"},
		{"module without Module-Format", func(d *DataItem) error { _, e := AsModule(d); return e },
			mk(nil, aoTags("Data-Protocol", "ao", "Type", "Module", "Input-Encoding", "JSON-1", "Output-Encoding", "JSON-1")), "Module item lacks the Module-Format tag"},
		{"assignment with a bad Nonce", func(d *DataItem) error { _, e := AsAssignment(d); return e },
			mk(nil, aoTags("Data-Protocol", "ao", "Type", "Assignment", "Process", someID, "Hash-Chain", someID, "Epoch", "0", "Nonce", "-1", "Block-Height", "1", "Timestamp", "1")), "bad Nonce tag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.view(c.item)
			var te *TagError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a TagError saying %q", err, c.want)
			}
		})
	}

	ck := &Checkpoint{Process: p.Module, Module: p.Module, Nonce: 9, Timestamp: 5, BlockHeight: 3, SHA256: "ab", Encoding: "zstd"}
	back, err := AsCheckpoint(mk(nil, ck.Tags()))
	if err != nil || back.Nonce != 9 || back.Encoding != "zstd" || back.SHA256 != "ab" {
		t.Fatalf("checkpoint round trip: %+v %v", back, err)
	}
	mod, err := AsModule(mk(nil, aoTags("Data-Protocol", "ao", "Type", "Module", "Module-Format", "wasm32-unknown-emscripten2", "Input-Encoding", "JSON-1", "Output-Encoding", "JSON-1", "Memory-Limit", "1-gb")))
	if err != nil || mod.Format != "wasm32-unknown-emscripten2" || mod.MemoryLimit != "1-gb" {
		t.Fatalf("module view %+v %v", mod, err)
	}
}

// TestFormatBlockHeight: twelve digits, zero-padded, as fmt's %012d writes them, and longer heights
// whole.
func TestFormatBlockHeight(t *testing.T) {
	for _, h := range []uint64{0, 7, 1234567, 999999999999, 1000000000000, 18446744073709551615} {
		if got, want := FormatBlockHeight(h), fmt.Sprintf("%012d", h); got != want {
			t.Errorf("FormatBlockHeight(%d) = %q, want %q", h, got, want)
		}
	}
}
