package gateway

import (
	"fmt"
	"math"
	"testing"

	"github.com/valyala/fasthttp"
)

func compiledService(t *testing.T, g *Gateway, tbl RouteTable, name string) *serviceRoute {
	t.Helper()
	if err := g.SetRoutes(tbl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	s, _ := g.table.Load().match(nil, []byte("/svc/"+name+"/x"))
	if s == nil || s.name != name {
		t.Fatalf("service %s not matched", name)
	}
	return s
}

func split(stable, canary int) RouteTable {
	return oneService(
		Revision{Name: "stable", Weight: stable, Endpoints: eps("127.0.0.1:8081")},
		Revision{Name: "canary", Weight: canary, Endpoints: eps("127.0.0.1:8082")},
	)
}

// within reports whether count is within 5 standard deviations of n*p (binomial).
func within(count, n int, p float64) bool {
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return math.Abs(float64(count)-float64(n)*p) <= 5*sd
}

func TestWeightedSplitWithinTolerance(t *testing.T) {
	s := compiledService(t, New(Config{}, nil), split(95, 5), "detector")
	const n = 200_000
	canary := 0
	for i := 0; i < n; i++ {
		if s.weighted(nil).name == "canary" {
			canary++
		}
	}
	if !within(canary, n, 0.05) {
		t.Errorf("canary got %d of %d, want about %d", canary, n, n/20)
	}
}

func TestStickySplitWithinToleranceAndMonotone(t *testing.T) {
	at5 := compiledService(t, New(Config{}, nil), split(95, 5), "detector")
	at20 := compiledService(t, New(Config{}, nil), split(80, 20), "detector")
	const n = 100_000
	on5, on20, moved := 0, 0, 0
	for i := 0; i < n; i++ {
		key := []byte(fmt.Sprintf("user-%d", i))
		a, b := at5.weighted(key).name, at20.weighted(key).name
		if at5.weighted(key).name != a {
			t.Fatal("sticky choice not deterministic")
		}
		if a == "canary" {
			on5++
			if b != "canary" {
				moved++
			}
		}
		if b == "canary" {
			on20++
		}
	}
	if moved != 0 {
		t.Errorf("%d keys left the canary when its weight grew from 5 to 20 (must be 0)", moved)
	}
	if !within(on5, n, 0.05) || !within(on20, n, 0.20) {
		t.Errorf("sticky shares: %d at 5%%, %d at 20%% of %d", on5, on20, n)
	}
}

func TestHeaderRoutesExactPrefixRegex(t *testing.T) {
	tbl := split(100, 0)
	svc := tbl.Services["detector"]
	svc.HeaderRoutes = []HeaderRoute{
		{Header: "x-exact", Exact: "yes", Revision: "canary"},
		{Header: "x-prefix", Prefix: "beta-", Revision: "canary"},
		{Header: "x-regex", Regex: `^team-(a|b)$`, Revision: "canary"},
	}
	tbl.Services["detector"] = svc
	s := compiledService(t, New(Config{}, nil), tbl, "detector")
	cases := []struct {
		header, value, want string
	}{
		{"x-exact", "yes", "canary"}, {"x-exact", "yess", "stable"},
		{"x-prefix", "beta-7", "canary"}, {"x-prefix", "alpha", "stable"},
		{"x-regex", "team-b", "canary"}, {"x-regex", "team-c", "stable"},
		{"x-other", "yes", "stable"},
	}
	for _, c := range cases {
		var h fasthttp.RequestHeader
		h.Set(c.header, c.value)
		rev, _ := s.choose(&h, routeInput{}, nil, 0)
		if rev.name != c.want {
			t.Errorf("%s: %s -> %s, want %s", c.header, c.value, rev.name, c.want)
		}
	}
}

// fakeSelector answers fixed variants per targeting key.
type fakeSelector map[string]string

func (f fakeSelector) SelectVariant(flag, key string) (string, bool) {
	v, ok := f[flag+"/"+key]
	return v, ok
}

func TestFlagSelectionWithFallbackChain(t *testing.T) {
	tbl := RouteTable{DefaultService: "detector", Services: map[string]Service{"detector": {
		Revisions: []Revision{
			{Name: "stable", Weight: 100, Endpoints: eps("127.0.0.1:8081")},
			{Name: "v2", Weight: 0, Endpoints: eps("127.0.0.1:8082")},
			{Name: "v3", Weight: 0, Endpoints: eps("127.0.0.1:8083")},
		},
		Select: &FlagSelect{Flag: "model", TargetingKeyHeader: "x-user",
			Variants: map[string]string{"new": "v3", "mid": "v2"}, Fallback: []string{"v2", "stable"}},
	}}}
	sel := fakeSelector{"model/alice": "new", "model/bob": "mid"}
	g := New(Config{Selector: sel}, nil)
	s := compiledService(t, g, tbl, "detector")
	pick := func(user string) (string, int) {
		var h fasthttp.RequestHeader
		rev, fb := s.choose(&h, routeInput{targetingKey: []byte(user)}, sel, 0)
		return rev.name, len(fb)
	}
	if r, fb := pick("alice"); r != "v3" || fb != 0 {
		t.Errorf("alice -> %s (%d fallbacks), want v3", r, fb)
	}
	if r, _ := pick("bob"); r != "v2" {
		t.Errorf("bob -> %s, want v2", r)
	}
	if r, _ := pick("carol"); r != "stable" {
		t.Errorf("carol (no variant) -> %s, want stable", r)
	}
	g.endpoints["127.0.0.1:8083"].healthy.Store(false) // v3 has no ready endpoint
	if r, fb := pick("alice"); r != "v2" || fb != 1 {
		t.Errorf("alice with v3 down -> %s (%d fallbacks), want v2 after 1", r, fb)
	}
	g.endpoints["127.0.0.1:8082"].healthy.Store(false)
	if r, fb := pick("alice"); r != "stable" || fb != 2 {
		t.Errorf("alice with v3, v2 down -> %s (%d fallbacks), want stable after 2", r, fb)
	}
}

func TestMatchByHostPrefixAndDefault(t *testing.T) {
	tbl := RouteTable{DefaultService: "a", Services: map[string]Service{
		"a": {Revisions: []Revision{{Name: "r", Weight: 1, Endpoints: eps("127.0.0.1:1")}}},
		"b": {Hosts: []string{"b.example"}, PathPrefix: "/models/b", Revisions: []Revision{{Name: "r", Weight: 1, Endpoints: eps("127.0.0.1:2")}}},
	}}
	g := New(Config{}, nil)
	if err := g.SetRoutes(tbl); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ct := g.table.Load()
	cases := []struct {
		host, path, svc string
		strip           int
	}{
		{"B.example:8080", "/x", "b", 0},
		{"other", "/models/b/v2/models/x/infer", "b", len("/models/b")},
		{"other", "/models/bb", "a", 0},
		{"other", "/svc/a/y", "a", len("/svc/a")},
		{"other", "/anything", "a", 0},
	}
	for _, c := range cases {
		s, strip := ct.match([]byte(c.host), []byte(c.path))
		if s.name != c.svc || strip != c.strip {
			t.Errorf("%s %s -> %s strip %d, want %s strip %d", c.host, c.path, s.name, strip, c.svc, c.strip)
		}
	}
}
