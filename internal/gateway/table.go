package gateway

import (
	"bytes"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"time"
)

// compiledTable is a RouteTable turned into what the hot path reads. It is immutable once
// published; SetRoutes builds a new one and swaps a pointer.
type compiledTable struct {
	src      RouteTable
	byHost   map[string]*serviceRoute
	prefixes []*serviceRoute // longest prefix first
	def      *serviceRoute
	feedback feedbackTokens // nil: no feedback key
}

type serviceRoute struct {
	name         string
	prefix       []byte
	revs         []*revisionRoute
	byName       map[string]*revisionRoute
	totalWeight  int
	sticky       compiledSticky
	headerRoutes []compiledHeaderRoute
	sel          *compiledSelect
	mirror       *revisionRoute
	mirrorCut    uint64 // mirror when a random uint64 < mirrorCut
	idempotent   bool
	maxRetries   int
	timeout      time.Duration
	maxBody      int
	limiter      *tokenBucket
}

type revisionRoute struct {
	name        string
	weight      int
	nameHash    uint64
	pool        *pool
	rec         *revisionRecorder
	met         *revisionMetrics
	maxInFlight int64
}

type compiledSticky struct {
	header, cookie, param string
}

type compiledHeaderRoute struct {
	header string
	exact  []byte
	prefix []byte
	re     *regexp.Regexp
	rev    *revisionRoute
}

type compiledSelect struct {
	flag      string
	keyHeader string
	keyParam  string
	variants  map[string]*revisionRoute
	fallback  []*revisionRoute
}

// match finds the service for a request: Host header, then path prefix, then default.
// It returns how many leading path bytes to strip.
func (t *compiledTable) match(host, path []byte) (*serviceRoute, int) {
	if len(t.byHost) > 0 && len(host) > 0 {
		h := host
		if i := bytes.LastIndexByte(h, ':'); i >= 0 && bytes.IndexByte(h, ']') < i {
			h = h[:i]
		}
		if s := t.byHost[bytesToString(h)]; s != nil {
			return s, 0
		}
		if s := t.byHost[strings.ToLower(string(h))]; s != nil {
			return s, 0
		}
	}
	for _, s := range t.prefixes {
		if bytes.HasPrefix(path, s.prefix) && (len(path) == len(s.prefix) || path[len(s.prefix)] == '/') {
			return s, len(s.prefix)
		}
	}
	return t.def, 0
}

// routeInput is what the routing decision may look at besides headers.
type routeInput struct {
	stickyKey    []byte
	targetingKey []byte
}

// headerPeeker reads request headers (fasthttp's RequestHeader in production).
type headerPeeker interface {
	Peek(key string) []byte
	Cookie(key string) []byte
}

// choose picks the serving revision: header routes, then the flag-selected variant and its
// fallback chain, then weights. fallbacks lists each move away from a revision that had
// no ready endpoint. rev is nil only when the service has no weighted revision.
func (s *serviceRoute) choose(h headerPeeker, in routeInput, sel VariantSelector, now int64) (rev *revisionRoute, fallbacks []fallbackStep) {
	for i := range s.headerRoutes {
		hr := &s.headerRoutes[i]
		if v := h.Peek(hr.header); v != nil && hr.matches(v) {
			return hr.rev, nil
		}
	}
	if s.sel != nil && sel != nil {
		if variant, ok := sel.SelectVariant(s.sel.flag, string(in.targetingKey)); ok {
			if first := s.sel.variants[variant]; first != nil {
				if first.pool.ready(now) {
					return first, nil
				}
				prev := first
				for _, r := range s.sel.fallback {
					fallbacks = append(fallbacks, fallbackStep{from: prev, to: r})
					if r.pool.ready(now) {
						return r, fallbacks
					}
					prev = r
				}
			}
		}
	}
	rev = s.weighted(in.stickyKey)
	if rev == nil || rev.pool.ready(now) {
		return rev, fallbacks
	}
	// The weighted choice has nothing ready: serve from the heaviest revision that has.
	var best *revisionRoute
	for _, r := range s.revs {
		if r.weight > 0 && r.pool.ready(now) && (best == nil || r.weight > best.weight) {
			best = r
		}
	}
	if best != nil {
		fallbacks = append(fallbacks, fallbackStep{from: rev, to: best})
		return best, fallbacks
	}
	return rev, fallbacks
}

// fallbackStep records that routing moved from one revision to another.
type fallbackStep struct{ from, to *revisionRoute }

func (hr *compiledHeaderRoute) matches(v []byte) bool {
	switch {
	case hr.exact != nil:
		return bytes.Equal(v, hr.exact)
	case hr.prefix != nil:
		return bytes.HasPrefix(v, hr.prefix)
	case hr.re != nil:
		return hr.re.Match(v)
	}
	return false
}

// weighted picks a revision in proportion to weight. With a sticky key it uses weighted
// rendezvous hashing: each revision scores weight / -ln(u(key, revision)) and the highest
// wins. That gives each revision a share equal to its weight, and raising one revision's
// weight (others unchanged or lowered) can only move keys onto it: sticky and monotone.
func (s *serviceRoute) weighted(key []byte) *revisionRoute {
	if s.totalWeight <= 0 {
		return nil
	}
	if key == nil {
		r := rand.IntN(s.totalWeight)
		for _, rev := range s.revs {
			if r < rev.weight {
				return rev
			}
			r -= rev.weight
		}
		return s.revs[len(s.revs)-1]
	}
	kh := fnv64(key)
	var best *revisionRoute
	bestScore := -1.0
	for _, rev := range s.revs {
		if rev.weight <= 0 {
			continue
		}
		u := (float64(mix64(kh^rev.nameHash)>>11) + 0.5) / (1 << 53) // uniform in (0,1)
		score := float64(rev.weight) / -math.Log(u)
		if score > bestScore {
			best, bestScore = rev, score
		}
	}
	return best
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// mix64 is the splitmix64 finaliser: turns correlated inputs into independent-looking bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// tableBuilder supplies the long-lived parts a compiled table refers to.
type tableBuilder interface {
	endpointFor(addr string) *endpoint
	recorderFor(service, revision string) *revisionRecorder
	metricsFor(service, revision string) *revisionMetrics
	limiterFor(service string, rl *RateLimit) *tokenBucket
	ejectHook() func(*endpoint, time.Duration)
	clockNow() Clock
	// bodyLimits returns the listener's body limit and a service's default one.
	bodyLimits() (listener, serviceDefault int)
}

// compile turns a validated table into a compiledTable.
func compile(t RouteTable, b tableBuilder) *compiledTable {
	ct := &compiledTable{src: t, byHost: map[string]*serviceRoute{}}
	for _, name := range sortedServiceNames(t.Services) {
		svc := t.Services[name]
		sr := &serviceRoute{name: name, byName: map[string]*revisionRoute{}, idempotent: svc.Idempotent}
		od := resolveOutlier(svc.OutlierDetection)
		for _, r := range svc.Revisions {
			p := &pool{od: od, clock: b.clockNow(), onEject: b.ejectHook()}
			for _, e := range r.Endpoints {
				if e.declaredReady() {
					p.members = append(p.members, b.endpointFor(e.Address))
				}
			}
			rr := &revisionRoute{name: r.Name, weight: r.Weight, nameHash: mix64(fnv64([]byte(r.Name))), pool: p,
				rec: b.recorderFor(name, r.Name), met: b.metricsFor(name, r.Name), maxInFlight: int64(svc.Limits.MaxInFlight)}
			sr.revs = append(sr.revs, rr)
			sr.byName[r.Name] = rr
			sr.totalWeight += r.Weight
		}
		if st := svc.Sticky; st != nil {
			sr.sticky = compiledSticky{header: st.Header, cookie: st.Cookie, param: st.Parameter}
		}
		for _, hr := range svc.HeaderRoutes {
			c := compiledHeaderRoute{header: hr.Header, rev: sr.byName[hr.Revision]}
			switch {
			case hr.Exact != "":
				c.exact = []byte(hr.Exact)
			case hr.Prefix != "":
				c.prefix = []byte(hr.Prefix)
			default:
				c.re = regexp.MustCompile(hr.Regex) // validated before compile
			}
			sr.headerRoutes = append(sr.headerRoutes, c)
		}
		if f := svc.Select; f != nil {
			cs := &compiledSelect{flag: f.Flag, keyHeader: f.TargetingKeyHeader, keyParam: f.TargetingKeyParameter,
				variants: map[string]*revisionRoute{}}
			for v, rev := range f.Variants {
				cs.variants[v] = sr.byName[rev]
			}
			for _, rev := range f.Fallback {
				cs.fallback = append(cs.fallback, sr.byName[rev])
			}
			sr.sel = cs
		}
		if m := svc.Mirror; m != nil && m.Percent > 0 {
			sr.mirror = sr.byName[m.Revision]
			sr.mirrorCut = uint64(m.Percent / 100 * math.MaxUint64)
			if m.Percent >= 100 {
				sr.mirrorCut = math.MaxUint64
			}
		}
		sr.maxRetries = defaultMaxRetries
		if svc.Limits.MaxRetries != nil {
			sr.maxRetries = *svc.Limits.MaxRetries
		}
		sr.timeout = svc.Limits.Timeout.Std()
		if sr.timeout <= 0 {
			sr.timeout = defaultTimeout
		}
		listenerMax, serviceDefault := b.bodyLimits()
		sr.maxBody = serviceDefault
		if l := svc.Limits.MaxBodyBytes; l > 0 {
			sr.maxBody = int(min(l, int64(listenerMax)))
		}
		sr.limiter = b.limiterFor(name, svc.Limits.RateLimit)
		for _, h := range svc.Hosts {
			ct.byHost[strings.ToLower(h)] = sr
		}
		if p := svc.effectivePrefix(name); p != "" {
			sr.prefix = []byte(p)
			ct.prefixes = append(ct.prefixes, sr)
		}
		if name == t.DefaultService {
			ct.def = sr
		}
	}
	sort.SliceStable(ct.prefixes, func(i, j int) bool { return len(ct.prefixes[i].prefix) > len(ct.prefixes[j].prefix) })
	return ct
}
