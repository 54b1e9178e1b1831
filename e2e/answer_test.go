//go:build chaos || e2e_services

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// gatewayAnswer is what a secured request to a running gateway got, for the
// suites that drive gateways against real services.
type gatewayAnswer struct {
	Status int
	Code   int // fault code, 0 when the body is no fault
	Err    error
	// Challenges are the WWW-Authenticate lines, one per line of the answer, joined by "\n".
	Challenges string
}

func (a gatewayAnswer) String() string {
	if a.Err != nil {
		return a.Err.Error()
	}
	if a.Code != 0 {
		return fmt.Sprintf("%d fault %d", a.Status, a.Code)
	}
	return strconv.Itoa(a.Status)
}

func (a gatewayAnswer) accepted() bool { return a.Err == nil && a.Status == http.StatusOK }

// revoked is exactly the fault docs/runtime.md gives a revoked token.
func (a gatewayAnswer) revoked() bool {
	return a.Err == nil && a.Status == http.StatusUnauthorized && a.Code == 900901
}

// askGateway sends GET url with the token as a bearer (none when empty) and returns the answer.
func askGateway(client *http.Client, url, token string) gatewayAnswer {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return askRequest(client, req)
}

// askRequest sends req and returns the answer.
func askRequest(client *http.Client, req *http.Request) gatewayAnswer {
	resp, err := client.Do(req)
	if err != nil {
		return gatewayAnswer{Err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var f struct {
		Fault struct {
			Code int `json:"code"`
		} `json:"fault"`
	}
	json.Unmarshal(body, &f)
	return gatewayAnswer{Status: resp.StatusCode, Code: f.Fault.Code,
		Challenges: strings.Join(resp.Header.Values("WWW-Authenticate"), "\n")}
}
