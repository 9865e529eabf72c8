package gateway

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// forwardedMode is Config.Forwarded resolved to bits.
type forwardedMode uint8

const (
	forwardXFF forwardedMode = 1 << iota
	forwardRFC7239
)

func parseForwarded(s string) (forwardedMode, error) {
	switch s {
	case ForwardedXFF:
		return forwardXFF, nil
	case ForwardedRFC7239:
		return forwardRFC7239, nil
	case ForwardedBoth:
		return forwardXFF | forwardRFC7239, nil
	case ForwardedNone:
		return 0, nil
	}
	return 0, fmt.Errorf("gateway: Config.Forwarded %q: must be %q, %q, %q or %q", s, ForwardedXFF, ForwardedRFC7239, ForwardedBoth, ForwardedNone)
}

// setForwarded adds the client's address to req as X-Forwarded-For (appended to the
// client's own list, like nginx's $proxy_add_x_forwarded_for; only the last entry is the
// gateway's word) and/or an RFC 7239 Forwarded element. It does not allocate for usual
// header lengths.
func setForwarded(mode forwardedMode, ctx *fasthttp.RequestCtx, req *fasthttp.Request) {
	if mode == 0 {
		return
	}
	var ipBuf [48]byte
	ip, v6 := append(ipBuf[:0], "unknown"...), false
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		if addr, ok := netip.AddrFromSlice(a.IP); ok {
			addr = addr.Unmap()
			ip, v6 = addr.AppendTo(ipBuf[:0]), addr.Is6()
		}
	}
	var buf [256]byte
	if mode&forwardXFF != 0 {
		b := buf[:0]
		if prev := req.Header.Peek("X-Forwarded-For"); len(prev) > 0 {
			b = append(append(b, prev...), ", "...)
		}
		req.Header.SetBytesV("X-Forwarded-For", append(b, ip...))
		req.Header.Set("X-Forwarded-Proto", "http")
	}
	if mode&forwardRFC7239 != 0 {
		b := buf[:0]
		if prev := req.Header.Peek("Forwarded"); len(prev) > 0 {
			b = append(append(b, prev...), ", "...)
		}
		b = append(b, "for="...)
		if v6 {
			b = append(append(append(b, `"[`...), ip...), `]"`...) // IPv6 is quoted and bracketed
		} else {
			b = append(b, ip...)
		}
		req.Header.SetBytesV("Forwarded", append(b, ";proto=http"...))
	}
}
