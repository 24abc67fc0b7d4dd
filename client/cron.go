package client

import (
	"context"
	"net/http"

	"github.com/actorweave/actorweave/ans104"
)

// Monitor resumes (on) or pauses a process's crons: POST or DELETE /monitor/:pid with a signed
// item (data " ", target the process), as aoconnect's monitor and unmonitor send it.
func (c *Client) Monitor(ctx context.Context, pid ans104.ID, on bool) (string, error) {
	item, err := c.Sign([]byte(" "), &pid, nil, nil)
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
