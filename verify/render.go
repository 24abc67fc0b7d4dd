package verify

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Render writes the report as a table with a summary line.
func Render(w io.Writer, r *Report) {
	fmt.Fprintf(w, "process  %s\ngateway  %s\n", r.Process, r.Gateway)
	if r.Node != "" {
		fmt.Fprintf(w, "node     %s\n", r.Node)
	}
	fmt.Fprintf(w, "log      %d entries in %d batches\n", r.Entries, r.Batches)
	fmt.Fprintf(w, "coverage %s\n\n", coverageLine(r.Coverage))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NONCE\tID\tCHECK\tSTATUS\tDETAIL")
	for _, c := range r.Checks {
		nonce := fmt.Sprint(c.Nonce)
		if c.What == "log" || c.What == "module" {
			nonce = "-"
		}
		id := c.Message
		if len(id) > 12 {
			id = id[:12] + "…"
		}
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", nonce, id, c.What, c.Status, oneLine(c.Detail))
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, Summary(r))
}

func coverageLine(c Coverage) string {
	switch {
	case !c.Known:
		return fmt.Sprintf("%d entries on Arweave (the node's log length unknown)", c.OnArweave)
	case c.Complete:
		return fmt.Sprintf("full: all %d of the node's entries on Arweave", c.NodeEntries)
	}
	return fmt.Sprintf("PARTIAL: %d of the node's %d entries on Arweave", c.OnArweave, c.NodeEntries)
}

// Summary is one line: the verdict and the counts.
func Summary(r *Report) string {
	verdict := "VERIFIED: everything matches"
	if !r.OK {
		verdict = "NOT VERIFIED"
		var first string
		for _, c := range r.Checks {
			if c.Status == Mismatch || c.Status == Missing {
				first = fmt.Sprintf("first problem: nonce %d %s %s: %s", c.Nonce, c.What, c.Status, oneLine(c.Detail))
				break
			}
		}
		verdict += " (" + first + ")"
	} else if r.Coverage.Known && !r.Coverage.Complete {
		verdict = fmt.Sprintf("VERIFIED ONLY IN PART: %d of the node's %d entries checked (--partial)", r.Coverage.OnArweave, r.Coverage.NodeEntries)
	} else if !r.Coverage.Known {
		verdict = fmt.Sprintf("VERIFIED: the %d entries on Arweave match (coverage of the node's log unknown)", r.Coverage.OnArweave)
	}
	return fmt.Sprintf("%s — %d ok, %d mismatch, %d missing, %d skipped, in %s",
		verdict, r.Counts[OK], r.Counts[Mismatch], r.Counts[Missing], r.Counts[Skipped], r.Duration.Round(time.Millisecond))
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
