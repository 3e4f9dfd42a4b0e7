package registry

import "strconv"

// appendJSONString appends s as a JSON string. Invalid UTF-8 passes through byte for byte
// (netdata does the same); control characters are escaped.
func appendJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendGUIDString(b []byte, g GUID) []byte {
	b = append(b, '"')
	b = g.AppendText(b)
	return append(b, '"')
}

// appendHeader opens a netdata registry response: action, status, hostname, machine_guid.
func (r *Registry) appendHeader(b []byte, action, status string) []byte {
	b = append(b, `{"action":"`...)
	b = append(b, action...)
	b = append(b, `","status":"`...)
	b = append(b, status...)
	b = append(b, `","hostname":`...)
	b = appendJSONString(b, r.cfg.Hostname)
	b = append(b, `,"machine_guid":`...)
	b = appendJSONString(b, r.cfg.MachineGUID)
	return b
}

// appendURLEntry appends one URL entry: netdata's [machine_guid, url, last_t*1000, usages, name]
// plus, sixth, netdata's registry.db flags (1 = EXPIRED: the URL now reaches another machine).
// netdata's dashboard reads the first five by position, so the extra element is invisible to
// it while ours can show the flag.
func appendURLEntry(b []byte, m GUID, url []byte, last, usage uint32, name []byte, expired bool) []byte {
	b = append(b, '[')
	b = appendGUIDString(b, m)
	b = append(b, ',')
	b = appendJSONString(b, url)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(last)*1000, 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(usage&usageMask), 10)
	b = append(b, ',')
	b = appendJSONString(b, name)
	if expired {
		return append(b, ",1]"...)
	}
	return append(b, ",0]"...)
}

func appendUintField(b []byte, key string, v uint64) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, v, 10)
}
