package arweave

import (
	"crypto/sha256"
	"encoding/binary"
)

// How an L1 transaction's data_root is computed, and why some bundle sizes are padded.
//
// A format-2 transaction commits to its data by data_root, the root of a Merkle tree over the
// data's chunks. Two chunkings are in use:
//
//   - An Arweave node that receives the data inline (POST /tx with "data") recomputes the root with
//     ar_tx:chunk_binary: fixed 256 KiB chunks, the last one whatever is left (empty when the size
//     is a multiple of 256 KiB), and refuses the transaction when it differs: 400 "The attached data
//     is split in an unknown way." (ar_tx_validator:validate, ArweaveTeam/arweave).
//   - arweave-js, and arlocal's POST /tx check after it, rebalance the last two chunks when the last
//     would be smaller than 32 KiB: the second-to-last becomes ceil(rest/2) bytes. goar (v1.6.3)
//     does the same with floor(rest/2) (math.Ceil applied after an integer division), so for odd
//     sizes it disagrees with arlocal too, which answers 400 "Bad Request" and logs
//     `"data_root" is invalid`.
//
// The chunkings differ only when a bundle is over 256 KiB and its size modulo 256 KiB is between 1
// and 32 KiB - 1. No data_root is accepted inline by both a node and arlocal there, so Prepare never
// posts such a size: it appends a padding item (FORMAT.md §5) that takes the bundle to at least the
// next n*256 KiB + 32 KiB, where all three chunkings are the same fixed split. dataRoot computes
// that split as the node does, so the root does not depend on goar's chunker.

const (
	maxChunkSize = 256 << 10 // Arweave's DATA_CHUNK_SIZE
	minChunkSize = 32 << 10  // below this arweave-js rebalances the last two chunks
)

// chunkingDiffers reports whether a node (fixed 256 KiB chunks) and arweave-js or goar (last two
// chunks rebalanced) compute different data roots for n bytes.
func chunkingDiffers(n int) bool {
	r := n % maxChunkSize
	return n > maxChunkSize && r > 0 && r < minChunkSize
}

// unambiguousSize is the smallest size >= n for which chunkingDiffers is false.
func unambiguousSize(n int) int {
	if !chunkingDiffers(n) {
		return n
	}
	return n - n%maxChunkSize + minChunkSize
}

// dataRoot is the data_root of data as an Arweave node computes it for inline data: the chunks of
// ar_tx:chunk_binary(256 KiB) (a trailing empty chunk when the size is a multiple of 256 KiB),
// then ar_merkle:generate_tree (leaves paired left to right, an odd last node carried up as is).
// data must not be empty.
func dataRoot(data []byte) []byte {
	type node struct {
		id  [32]byte
		max uint64 // end offset of the node's last byte
	}
	var level []node
	for off := 0; ; off += maxChunkSize {
		end := min(off+maxChunkSize, len(data))
		chunkID := sha256.Sum256(data[off:end])
		level = append(level, node{id: hashParts(hash(chunkID[:]), hash(note(uint64(end)))), max: uint64(end)})
		if len(data)-off < maxChunkSize {
			break
		}
	}
	for len(level) > 1 {
		next := make([]node, 0, (len(level)+1)/2)
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			l, r := level[i], level[i+1]
			next = append(next, node{id: hashParts(hash(l.id[:]), hash(r.id[:]), hash(note(l.max))), max: r.max})
		}
		level = next
	}
	return level[0].id[:]
}

func hash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func hashParts(parts ...[]byte) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// note is an offset as a Merkle tree stores it: 32 bytes, big-endian.
func note(v uint64) []byte {
	b := make([]byte, 32)
	binary.BigEndian.PutUint64(b[24:], v)
	return b
}
