package httpbody

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReadOK(t *testing.T) {
	answer := func(code int, body io.Reader) *http.Response {
		return &http.Response{StatusCode: code, Status: http.StatusText(code), Body: io.NopCloser(body)}
	}
	body, err := ReadOK(answer(http.StatusOK, strings.NewReader("12345")), 5)
	if err != nil || string(body) != "12345" {
		t.Fatalf("a body of exactly the limit: %q, %v", body, err)
	}
	for name, c := range map[string]struct {
		resp *http.Response
		want string
	}{
		"over the limit":  {answer(http.StatusOK, strings.NewReader("123456")), "larger than 5 bytes"},
		"not 200":         {answer(http.StatusNotFound, strings.NewReader("")), "status Not Found"},
		"204 is not 200":  {answer(http.StatusNoContent, strings.NewReader("")), "status No Content"},
		"read that fails": {answer(http.StatusOK, failingReader{}), "read the answer: connection reset"},
	} {
		if _, err := ReadOK(c.resp, 5); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
}
