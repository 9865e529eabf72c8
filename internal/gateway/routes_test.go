package gateway

import (
	"strings"
	"testing"
)

func TestValidateNamesFieldPathValueAndRule(t *testing.T) {
	neg := -1
	tbl := RouteTable{
		DefaultService: "missing",
		Services: map[string]Service{
			"detector": {
				Revisions: []Revision{
					{Name: "stable", Weight: 95, Endpoints: eps("127.0.0.1:8081")},
					{Name: "canary", Weight: -5, Endpoints: eps("localhost")},
				},
				HeaderRoutes: []HeaderRoute{{Header: "x-canary", Exact: "1", Revision: "nope"}},
				Mirror:       &Mirror{Revision: "canary", Percent: 150},
				Limits:       Limits{MaxRetries: &neg},
				Sticky:       &Sticky{Header: "a", Cookie: "b"},
			},
		},
	}
	err := tbl.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`defaultService: must name a service in services, got "missing"`,
		`services[detector].revisions[1].weight: must be between 0 and 1000000, got -5`,
		`services[detector].revisions[1].endpoints[0]: must be host:port, got "localhost"`,
		`services[detector].headerRoutes[0].revision: must name a revision of this service, got "nope"`,
		`services[detector].mirror.percent: must be between 0 and 100, got 150`,
		`services[detector].limits.maxRetries: must be between 0 and 10, got -1`,
		`services[detector].sticky: must set exactly one of header, cookie, parameter, got 2 sources`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestValidateAcceptsGoodTable(t *testing.T) {
	tbl := oneService(
		Revision{Name: "stable", Weight: 95, Endpoints: eps("127.0.0.1:8081")},
		Revision{Name: "canary", Weight: 5, Endpoints: eps("127.0.0.1:8082")},
	)
	if err := tbl.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseRouteTableYAMLWithBothEndpointForms(t *testing.T) {
	src := `
defaultService: detector
services:
  detector:
    idempotent: true
    sticky: {header: x-user-id}
    limits: {timeout: 2s, maxInFlight: 10, rateLimit: {requestsPerSecond: 100, burst: 20}}
    revisions:
      - name: stable
        weight: 80
        endpoints: ["127.0.0.1:8081", {address: "127.0.0.1:8083", ready: false}]
      - name: canary
        weight: 20
        endpoints: ["127.0.0.1:8082"]
    mirror: {revision: canary, percent: 12.5}
`
	tbl, err := ParseRouteTable([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Validate(); err != nil {
		t.Fatal(err)
	}
	s := tbl.Services["detector"]
	if got := s.Revisions[0].Endpoints[1]; got.Address != "127.0.0.1:8083" || got.declaredReady() {
		t.Errorf("object endpoint = %+v", got)
	}
	if s.Limits.Timeout.Std().String() != "2s" || s.Mirror.Percent != 12.5 || s.Sticky.Header != "x-user-id" {
		t.Errorf("parsed %+v", s)
	}
	if _, err := ParseRouteTable([]byte("services: {x: {revisionz: []}}")); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestSetRoutesRefusesBadTableAndKeepsOld(t *testing.T) {
	g := New(Config{}, nil)
	good := oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps("127.0.0.1:8081")})
	if err := g.SetRoutes(good); err != nil {
		t.Fatal(err)
	}
	bad := oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps("bad")})
	if err := g.SetRoutes(bad); err == nil {
		t.Fatal("bad table accepted")
	}
	if got := g.Routes().Services["detector"].Revisions[0].Endpoints[0].Address; got != "127.0.0.1:8081" {
		t.Errorf("table changed to %q", got)
	}
	g.Close()
}
