package registry

// importOp and exportOp are replaced by the netdata interop (netdata.go).
func (s *Store) importOp(req *Request, body []byte) (Result, []byte) {
	return s.reg.fail(body, "import", 501, ErrBadRequest)
}

func (s *Store) exportOp(req *Request, body []byte) (Result, []byte) {
	return s.reg.fail(body, "export", 501, ErrBadRequest)
}
