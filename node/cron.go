package node

// SetBlockHeight sets the Arweave height the node stamps on assignments and drives block-based
// crons with. Without a gateway the height is static (Config.BlockHeight), so block crons do not
// fire; whatever learns the height (a gateway poller) calls this.
func (n *Node) SetBlockHeight(h uint64) { n.height.Store(h) }

// CronProcesses is the number of processes the node's cron ticker schedules.
func (n *Node) CronProcesses() int { return n.host.CronProcesses() }
