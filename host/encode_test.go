package host

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAppendRequest(t *testing.T) {
	for _, tc := range []struct {
		req  Request
		want []byte
	}{
		{Request{Op: OpAccess, Quiet: true, When: time.Unix(300, 0), Person: "p", Machine: "m", URL: "u", Arg: "n"},
			[]byte{'a', 1, 0xac, 0x02, 1, 'p', 1, 'm', 1, 'u', 1, 'n'}},
		{Request{Op: OpAccess, Quiet: true, MachineOnly: true, Machine: "m"}, []byte{'a', 3, 0, 0, 1, 'm', 0, 0}},
		{Request{Op: OpSwitch, Machine: "m"}, []byte{'w', 0, 0, 0, 1, 'm', 0, 0}},
		{Request{Op: OpStats, Person: "ignored"}, []byte{'t', 0, 0}},
		{Request{Op: OpHello}, []byte{'h', 0, 0}},
		{Request{Op: OpImport, Arg: "db", Arg2: "log", Person: "ignored"}, []byte{'i', 0, 0, 2, 'd', 'b', 3, 'l', 'o', 'g'}},
		{Request{Op: OpExport, Arg: "out"}, []byte{'e', 0, 0, 3, 'o', 'u', 't'}},
		{Request{Op: OpExpire, When: time.Unix(1<<32-1, 0)}, []byte{'x', 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	} {
		got, err := AppendRequest([]byte{9}, &tc.req)
		if err != nil || !bytes.Equal(got, append([]byte{9}, tc.want...)) {
			t.Errorf("%+v: % x %v, want % x", tc.req, got, err, tc.want)
		}
	}
	for _, req := range []Request{
		{Op: 'z'},
		{Op: OpExpire, When: time.Unix(-1, 0)},
		{Op: OpExpire, When: time.Unix(1<<32, 0)},
		{Op: OpAccess, URL: strings.Repeat("h", MaxFieldLength+1)},
	} {
		if _, err := AppendRequest(nil, &req); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%.60v: %v, want ErrBadRequest", req, err)
		}
	}
}

func TestParseResponses(t *testing.T) {
	data := []byte{0xc8, 0x01, 3, 'a', 'b', 'c', 2, '{', '}', 0x94, 0x03, 0, 0}
	got, err := ParseResponses(data)
	if err != nil || len(got) != 2 || got[0].Status != 200 || got[0].Person != "abc" || string(got[0].Body) != "{}" ||
		got[1].Status != 404 || got[1].Person != "" || len(got[1].Body) != 0 {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][]byte{{0xc8}, {0xc8, 0x01, 5, 'a'}, {0xc8, 0x01, 0}, {0xff, 0xff, 0xff, 0x7f, 0, 0}} {
		if _, err := ParseResponses(bad); !errors.Is(err, ErrInternal) {
			t.Errorf("% x: %v", bad, err)
		}
	}
}
