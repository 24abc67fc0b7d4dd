package client

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/actorweave/actorweave/ans104"
)

// Monitor resumes (on) or pauses a process's crons: POST or DELETE /monitor/:pid with a signed
// control item: data " ", target the process, and the tags that make it usable only for this
// request (Action: Monitor or Unmonitor, Timestamp: now in ms); the node refuses a replay.
func (c *Client) Monitor(ctx context.Context, pid ans104.ID, on bool) (string, error) {
	action := "Unmonitor"
	if on {
		action = "Monitor"
	}
	item, err := c.Sign([]byte(" "), &pid, nil, []ans104.Tag{{Name: "Action", Value: action},
		{Name: "Timestamp", Value: strconv.FormatInt(time.Now().UnixMilli(), 10)}})
	if err != nil {
		return "", err
	}
	method := http.MethodDelete
	if on {
		method = http.MethodPost
	}
	var b []byte
	err = c.do(ctx, method, "/monitor/"+pid.String(), item.Bytes(), "application/octet-stream", &b)
	return string(b), err
}
