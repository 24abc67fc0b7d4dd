package arweave

import (
	"bytes"
	"math/rand"
	"testing"

	goarutils "github.com/everFinance/goar/utils"
)

// dataRoot (a node's fixed 256 KiB split) equals goar's root wherever no rebalancing happens, and
// differs exactly where chunkingDiffers says; unambiguousSize leaves such a size behind and stays
// within 32 KiB.
func TestDataRoot(t *testing.T) {
	data := make([]byte, 5<<20)
	rand.New(rand.NewSource(1)).Read(data)
	var sizes []int
	for n := 0; n <= 5; n++ {
		for _, d := range []int{1, 2, 1000, minChunkSize - 1, minChunkSize, minChunkSize + 1, maxChunkSize - 1, maxChunkSize} {
			sizes = append(sizes, n*maxChunkSize+d)
		}
	}
	for _, size := range sizes {
		c, err := goarutils.GenerateChunks(data[:size])
		if err != nil {
			t.Fatal(err)
		}
		same := bytes.Equal(dataRoot(data[:size]), c.DataRoot)
		if same == chunkingDiffers(size) {
			t.Errorf("size %d: roots equal %v, chunkingDiffers %v", size, same, chunkingDiffers(size))
		}
		u := unambiguousSize(size)
		if chunkingDiffers(u) || u < size || u-size >= minChunkSize || (u != size) != chunkingDiffers(size) {
			t.Errorf("size %d: unambiguousSize %d", size, u)
		}
	}
	// A single chunk, by hand: sha256(sha256(sha256(chunk)) || sha256(note(len))).
	chunkID := hash(data[:1000])
	if want := hashParts(hash(chunkID), hash(note(1000))); !bytes.Equal(dataRoot(data[:1000]), want[:]) {
		t.Fatal("single-chunk root")
	}
}
