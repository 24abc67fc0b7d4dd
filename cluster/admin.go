package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Operators' requests that change the cluster (forgetting a dead member) are authenticated by the
// cluster key: the request carries an HMAC-SHA256, under a key derived from it (Security.AdminKey),
// of the operation, its time and its arguments. Whoever can read the key file may do anything a
// node may, so this grants nothing new; the time bounds replays.

// ErrAdminAuth: an operator's request is not signed with the cluster key, or is stale.
var ErrAdminAuth = errors.New("cluster admin request not authenticated")

// AdminSkew is how far an admin request's time may be from the node's clock.
const AdminSkew = 5 * time.Minute

func adminMessage(op string, at time.Time, args []string) []byte {
	return []byte(op + "\n" + strconv.FormatInt(at.UnixMilli(), 10) + "\n" + strings.Join(args, "\n"))
}

// SignAdmin returns the hex MAC of an admin request.
func SignAdmin(key []byte, op string, at time.Time, args []string) string {
	return hex.EncodeToString(macBytes(key, op, at, args))
}

// VerifyAdmin checks an admin request's MAC and time against now.
func VerifyAdmin(key []byte, op string, at time.Time, args []string, mac string, now time.Time) error {
	if d := now.Sub(at); d > AdminSkew || d < -AdminSkew {
		return fmt.Errorf("%w: its time is %v away from this node's clock (at most %v)", ErrAdminAuth, d.Round(time.Second), AdminSkew)
	}
	got, err := hex.DecodeString(mac)
	if err != nil || !hmac.Equal(got, macBytes(key, op, at, args)) {
		return fmt.Errorf("%w: the MAC does not match (sign it with this cluster's --cluster-key)", ErrAdminAuth)
	}
	return nil
}

func macBytes(key []byte, op string, at time.Time, args []string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(adminMessage(op, at, args))
	return m.Sum(nil)
}

// AdminKey is the key operators' requests are checked with (nil: the cluster runs without a key,
// which only tests that say so do, and admin requests are then not authenticated).
func (p *Provider) AdminKey() []byte {
	if p.cfg.Security == nil {
		return nil
	}
	return p.cfg.Security.AdminKey
}
