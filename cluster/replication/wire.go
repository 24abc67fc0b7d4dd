package replication

import (
	"github.com/actorweave/actorweave/cluster/replication/replpb"
	"github.com/actorweave/actorweave/persistence"
)

func toID(b []byte) (id persistence.ID) {
	copy(id[:], b)
	return id
}

func entryToWire(e *persistence.Entry) *replpb.Entry {
	w := &replpb.Entry{Nonce: e.Nonce, Epoch: e.Epoch, Timestamp: e.Timestamp, BlockHeight: e.BlockHeight,
		HashChain: e.HashChain[:], AssignmentId: e.AssignmentID[:], Assignment: e.Assignment, Message: e.Message}
	if e.MessageID != (persistence.ID{}) {
		w.MessageId = e.MessageID[:]
	}
	return w
}

func entryFromWire(pid persistence.ID, w *replpb.Entry) persistence.Entry {
	return persistence.Entry{Process: pid, Nonce: w.Nonce, Epoch: w.Epoch, Timestamp: w.Timestamp,
		BlockHeight: w.BlockHeight, HashChain: toID(w.HashChain), AssignmentID: toID(w.AssignmentId),
		Assignment: w.Assignment, MessageID: toID(w.MessageId), Message: w.Message}
}

func entriesToWire(es []persistence.Entry) []*replpb.Entry {
	out := make([]*replpb.Entry, len(es))
	for i := range es {
		out[i] = entryToWire(&es[i])
	}
	return out
}

func entriesFromWire(pid persistence.ID, ws []*replpb.Entry) []persistence.Entry {
	out := make([]persistence.Entry, len(ws))
	for i, w := range ws {
		out[i] = entryFromWire(pid, w)
	}
	return out
}

func processToWire(p *persistence.Process) *replpb.Process {
	w := &replpb.Process{Id: p.ID[:], ModuleId: p.ModuleID[:], Owner: p.Owner, Item: p.Item,
		Timestamp: p.Timestamp, BlockHeight: p.BlockHeight, Epoch: p.Epoch}
	for _, t := range p.Tags {
		w.Tags = append(w.Tags, &replpb.Tag{Name: t.Name, Value: t.Value})
	}
	return w
}

func processFromWire(w *replpb.Process) persistence.Process {
	p := persistence.Process{ID: toID(w.Id), ModuleID: toID(w.ModuleId), Owner: w.Owner, Item: w.Item,
		Timestamp: w.Timestamp, BlockHeight: w.BlockHeight, Epoch: w.Epoch}
	for _, t := range w.Tags {
		p.Tags = append(p.Tags, persistence.Tag{Name: t.Name, Value: t.Value})
	}
	return p
}
