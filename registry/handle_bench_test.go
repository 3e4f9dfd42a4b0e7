package registry

import (
	"strconv"
	"testing"
)

// BenchmarkHandle measures one request's cost inside Handle, per kind, in batches of 1000 as
// hosts send them. Run it natively and under GOOS=wasip1 to see what the module pays.
func BenchmarkHandle(b *testing.B) {
	r := New(Config{})
	out, _ := r.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(m1), URL: []byte("http://a.example:19999/"), Arg: []byte("a")}), nil, nil)
	resps, _ := ParseResponses(out)
	person := []byte(resps[0].Person)
	batch := func(mk func(i int) Request) []byte {
		var buf []byte
		for i := 0; i < 1000; i++ {
			req := mk(i)
			buf = AppendRequest(buf, &req)
		}
		return buf
	}
	cases := []struct {
		name  string
		batch []byte
	}{
		{"hello", batch(func(int) Request { return Request{Op: OpHello, Flags: FlagQuiet, When: 1} })},
		{"parse-only", nil},
		{"access-same", batch(func(int) Request {
			return Request{Op: OpAccess, Flags: FlagQuiet, When: 1_700_000_000, Person: person, Machine: []byte(m1), URL: []byte("http://a.example:19999/"), Arg: []byte("a")}
		})},
		{"access-urls", batch(func(i int) Request {
			return Request{Op: OpAccess, Flags: FlagQuiet, When: 1_700_000_000, Person: person, Machine: []byte(m2), URL: []byte("http://" + strconv.Itoa(i%50) + ".example:19999/"), Arg: []byte("a")}
		})},
		{"search", batch(func(int) Request {
			return Request{Op: OpSearch, Flags: FlagQuiet, When: 1_700_000_000, Person: person, Machine: []byte(m1), URL: []byte("http://a.example:19999/"), Arg: []byte(m1)}
		})},
	}
	cases[1].batch = cases[2].batch
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var reqs []Request
			for b.Loop() {
				if c.name == "parse-only" {
					reqs, _ = ParseBatch(c.batch, reqs[:0])
					continue
				}
				var err error
				out, err = r.Handle(c.batch, out[:0], nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/req")
		})
	}
}
