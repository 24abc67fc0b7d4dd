package ans104

import (
	"crypto/sha512"
	"strconv"
)

// DeepHash is Arweave's deep hash (SHA-384) of a list of blobs, the only shape a data item's
// signature message needs: hash(list) folds hash(blob) over the children, starting from
// SHA384("list" + count); hash(blob) = SHA384(SHA384("blob" + len) ‖ SHA384(blob)).
func DeepHash(blobs ...[]byte) [48]byte {
	acc := sha512.Sum384([]byte("list" + strconv.Itoa(len(blobs))))
	var buf [96]byte
	for _, b := range blobs {
		h := deepHashBlob(b)
		copy(buf[:48], acc[:])
		copy(buf[48:], h[:])
		acc = sha512.Sum384(buf[:])
	}
	return acc
}

func deepHashBlob(b []byte) [48]byte {
	tag := sha512.Sum384([]byte("blob" + strconv.Itoa(len(b))))
	data := sha512.Sum384(b)
	var buf [96]byte
	copy(buf[:48], tag[:])
	copy(buf[48:], data[:])
	return sha512.Sum384(buf[:])
}
