package gateway

import (
	"slices"

	gw "github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

// services turns one rollout's desired traffic into gateway services: the main service
// and, when set, the preview and canary services. Only ready endpoints are listed and a
// revision without any is left out, so the gateway never sends a request to something that
// is not ready.
func services(d traffic.Desired) map[string]gw.Service {
	endpoints := map[string][]gw.Endpoint{}
	for rev, addrs := range d.Backends {
		for _, a := range addrs {
			endpoints[rev] = append(endpoints[rev], gw.Endpoint{Address: a})
		}
	}
	base := gw.Service{Idempotent: d.Settings.Idempotent, Limits: gw.Limits{Timeout: gw.Duration(d.Settings.Timeout)}}
	if d.StickyHeader != "" {
		base.Sticky = &gw.Sticky{Header: d.StickyHeader}
	}
	main := base
	for _, w := range d.Traffic.Weights {
		if len(endpoints[w.Hash]) == 0 {
			continue
		}
		main.Revisions = append(main.Revisions, gw.Revision{Name: w.Hash, Weight: int(w.Weight), Endpoints: endpoints[w.Hash]})
	}
	// Header-routed, mirrored and flag-selected revisions need endpoints even at weight 0.
	addRev := func(hash string) bool {
		if len(endpoints[hash]) == 0 {
			return false
		}
		if !slices.ContainsFunc(main.Revisions, func(r gw.Revision) bool { return r.Name == hash }) {
			main.Revisions = append(main.Revisions, gw.Revision{Name: hash, Endpoints: endpoints[hash]})
		}
		return true
	}
	for _, hr := range d.Traffic.HeaderRoutes {
		if len(hr.Match) == 0 || !addRev(hr.Revision) {
			continue
		}
		// The gateway matches one header per route; the first one decides.
		m := hr.Match[0]
		main.HeaderRoutes = append(main.HeaderRoutes, gw.HeaderRoute{
			Header: m.HeaderName, Exact: m.HeaderValue.Exact, Prefix: m.HeaderValue.Prefix, Regex: m.HeaderValue.Regex, Revision: hr.Revision,
		})
	}
	for _, m := range d.Traffic.Mirrors {
		if m.Percentage > 0 && addRev(m.Revision) {
			main.Mirror = &gw.Mirror{Revision: m.Revision, Percent: float64(m.Percentage)}
			break
		}
	}
	main.Select = flagSelect(d.Select, addRev)
	out := map[string]gw.Service{}
	if len(main.Revisions) > 0 && d.Services.Main != "" {
		out[d.Services.Main] = main
	}
	only := func(name, hash string) {
		if name != "" && name != d.Services.Main && hash != "" && len(endpoints[hash]) > 0 {
			s := base
			s.Revisions = []gw.Revision{{Name: hash, Weight: 100, Endpoints: endpoints[hash]}}
			out[name] = s
		}
	}
	only(d.Services.Preview, d.Traffic.Preview)
	only(d.Services.Canary, d.CanaryRevision)
	return out
}

// flagSelect keeps the variants whose revision has ready endpoints (adding it to the main
// service at weight 0), and the fallbacks among them.
func flagSelect(sel *traffic.Selection, addRev func(string) bool) *gw.FlagSelect {
	if sel == nil || sel.Flag == "" {
		return nil
	}
	out := &gw.FlagSelect{Flag: sel.Flag, TargetingKeyHeader: sel.TargetingKeyHeader, Variants: map[string]string{}}
	// Sorted so the same selection always gives the same table.
	variants := make([]string, 0, len(sel.Variants))
	for v := range sel.Variants {
		variants = append(variants, v)
	}
	slices.Sort(variants)
	for _, v := range variants {
		if h := sel.Variants[v]; h != "" && addRev(h) {
			out.Variants[v] = h
		}
	}
	for _, h := range sel.Fallback {
		if slices.Contains(out.Fallback, h) {
			continue
		}
		for _, v := range out.Variants {
			if v == h {
				out.Fallback = append(out.Fallback, h)
				break
			}
		}
	}
	if len(out.Variants) == 0 {
		return nil
	}
	return out
}
