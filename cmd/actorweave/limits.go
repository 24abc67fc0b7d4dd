package main

import (
	"github.com/actorweave/actorweave/ans104"
	"github.com/spf13/pflag"
)

// bindItemLimits registers the data-item limits as flags on fs, defaulting to lim. Every verb that
// reads data items from outside (the node, item inspect) shares these names.
func bindItemLimits(fs *pflag.FlagSet, lim *ans104.Limits) {
	*lim = ans104.DefaultLimits()
	fs.IntVar(&lim.MaxItemBytes, "max-item-bytes", lim.MaxItemBytes, "largest data item accepted, in bytes")
	fs.IntVar(&lim.MaxTags, "max-tags", lim.MaxTags, "most tags a data item may carry")
	fs.IntVar(&lim.MaxTagNameBytes, "max-tag-name-bytes", lim.MaxTagNameBytes, "longest tag name, in bytes")
	fs.IntVar(&lim.MaxTagValueBytes, "max-tag-value-bytes", lim.MaxTagValueBytes, "longest tag value, in bytes")
	fs.IntVar(&lim.MaxTagsBytes, "max-tags-bytes", lim.MaxTagsBytes, "most bytes all tags of an item may take, Avro-encoded (arbundles refuses more than 4096)")
}
