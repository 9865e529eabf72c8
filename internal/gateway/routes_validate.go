package gateway

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// FieldError is one reason a route table was refused, naming the field path, the value and
// the rule, e.g. `services[detector].revisions[1].weight: must be >= 0, got -5`.
type FieldError struct {
	Path  string
	Value string
	Rule  string
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Path, e.Rule)
	}
	return fmt.Sprintf("%s: %s, got %s", e.Path, e.Rule, e.Value)
}

// Validate checks a table and returns every problem found (joined FieldErrors), or nil.
// A table that validates can be served; SetRoutes refuses one that does not. A table with
// no services is valid: every request then gets 404.
func (t RouteTable) Validate() error {
	var errs []error
	add := func(path, value, rule string) { errs = append(errs, &FieldError{Path: path, Value: value, Rule: rule}) }

	if t.DefaultService != "" {
		if _, ok := t.Services[t.DefaultService]; !ok {
			add("defaultService", strconv.Quote(t.DefaultService), "must name a service in services")
		}
	}
	hostOwner := map[string]string{}
	prefixOwner := map[string]string{}
	for _, name := range sortedServiceNames(t.Services) {
		s := t.Services[name]
		p := fmt.Sprintf("services[%s]", name)
		if name == "" || strings.ContainsAny(name, "/ \t") {
			add(p, strconv.Quote(name), "service name must be non-empty without '/' or spaces")
		}
		for i, h := range s.Hosts {
			hp := fmt.Sprintf("%s.hosts[%d]", p, i)
			hl := strings.ToLower(h)
			if h == "" || strings.ContainsAny(h, "/ ") {
				add(hp, strconv.Quote(h), "must be a host name without scheme, path or spaces")
			} else if other, dup := hostOwner[hl]; dup {
				add(hp, strconv.Quote(h), "host already routed to service "+strconv.Quote(other))
			}
			hostOwner[hl] = name
		}
		prefix := s.effectivePrefix(name)
		if s.PathPrefix != "" && s.PathPrefix != "-" && (!strings.HasPrefix(s.PathPrefix, "/") || strings.HasSuffix(s.PathPrefix, "/") && s.PathPrefix != "/") {
			add(p+".pathPrefix", strconv.Quote(s.PathPrefix), "must start with '/' and not end with '/'")
		}
		if prefix != "" {
			if other, dup := prefixOwner[prefix]; dup {
				add(p+".pathPrefix", strconv.Quote(prefix), "prefix already routed to service "+strconv.Quote(other))
			}
			prefixOwner[prefix] = name
		}
		errs = append(errs, validateRevisions(p, s)...)
		revs := map[string]bool{}
		for _, r := range s.Revisions {
			revs[r.Name] = true
		}
		errs = append(errs, validateRouting(p, s, revs)...)
		errs = append(errs, validateLimits(p, s)...)
	}
	return errors.Join(errs...)
}

func validateRevisions(p string, s Service) []error {
	var errs []error
	add := func(path, value, rule string) { errs = append(errs, &FieldError{Path: path, Value: value, Rule: rule}) }
	if len(s.Revisions) == 0 {
		add(p+".revisions", "", "must list at least one revision")
	}
	seen := map[string]bool{}
	total := 0
	for i, r := range s.Revisions {
		rp := fmt.Sprintf("%s.revisions[%d]", p, i)
		if r.Name == "" {
			add(rp+".name", `""`, "must be non-empty")
		} else if seen[r.Name] {
			add(rp+".name", strconv.Quote(r.Name), "must be unique within the service")
		}
		seen[r.Name] = true
		if r.Weight < 0 || r.Weight > 1_000_000 {
			add(rp+".weight", strconv.Itoa(r.Weight), "must be between 0 and 1000000")
		} else {
			total += r.Weight
		}
		if len(r.Endpoints) == 0 {
			add(rp+".endpoints", "[]", "must list at least one endpoint")
		}
		for j, e := range r.Endpoints {
			ep := fmt.Sprintf("%s.endpoints[%d]", rp, j)
			host, port, err := net.SplitHostPort(e.Address)
			if err != nil || host == "" {
				add(ep, strconv.Quote(e.Address), "must be host:port")
				continue
			}
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				add(ep, strconv.Quote(e.Address), "port must be 1-65535")
			}
		}
	}
	if len(s.Revisions) > 0 && total == 0 && len(s.HeaderRoutes) == 0 && s.Select == nil {
		add(p+".revisions", "total weight 0", "at least one revision must have weight > 0")
	}
	return errs
}

func validateRouting(p string, s Service, revs map[string]bool) []error {
	var errs []error
	add := func(path, value, rule string) { errs = append(errs, &FieldError{Path: path, Value: value, Rule: rule}) }
	mustRev := func(path, name string) {
		if !revs[name] {
			add(path, strconv.Quote(name), "must name a revision of this service")
		}
	}
	if st := s.Sticky; st != nil {
		n := 0
		for _, v := range []string{st.Header, st.Cookie, st.Parameter} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			add(p+".sticky", fmt.Sprintf("%d sources", n), "must set exactly one of header, cookie, parameter")
		}
	}
	for i, hr := range s.HeaderRoutes {
		hp := fmt.Sprintf("%s.headerRoutes[%d]", p, i)
		if hr.Header == "" {
			add(hp+".header", `""`, "must name a header")
		}
		n := 0
		for _, v := range []string{hr.Exact, hr.Prefix, hr.Regex} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			add(hp, fmt.Sprintf("%d matchers", n), "must set exactly one of exact, prefix, regex")
		}
		if hr.Regex != "" {
			if _, err := regexp.Compile(hr.Regex); err != nil {
				add(hp+".regex", strconv.Quote(hr.Regex), "must be a valid RE2 regular expression ("+err.Error()+")")
			}
		}
		mustRev(hp+".revision", hr.Revision)
	}
	if m := s.Mirror; m != nil {
		mustRev(p+".mirror.revision", m.Revision)
		if m.Percent < 0 || m.Percent > 100 {
			add(p+".mirror.percent", strconv.FormatFloat(m.Percent, 'g', -1, 64), "must be between 0 and 100")
		}
	}
	if f := s.Select; f != nil {
		if f.Flag == "" {
			add(p+".select.flag", `""`, "must name a flag")
		}
		if f.TargetingKeyHeader != "" && f.TargetingKeyParameter != "" {
			add(p+".select", "both targetingKeyHeader and targetingKeyParameter", "must set at most one targeting key source")
		}
		if len(f.Variants) == 0 {
			add(p+".select.variants", "{}", "must map at least one variant to a revision")
		}
		for _, v := range sortedKeys(f.Variants) {
			mustRev(fmt.Sprintf("%s.select.variants[%s]", p, v), f.Variants[v])
		}
		for i, r := range f.Fallback {
			mustRev(fmt.Sprintf("%s.select.fallback[%d]", p, i), r)
		}
	}
	return errs
}

func validateLimits(p string, s Service) []error {
	var errs []error
	add := func(path, value, rule string) { errs = append(errs, &FieldError{Path: path, Value: value, Rule: rule}) }
	l := s.Limits
	if l.MaxInFlight < 0 {
		add(p+".limits.maxInFlight", strconv.Itoa(l.MaxInFlight), "must be >= 0")
	}
	if l.MaxBodyBytes < 0 {
		add(p+".limits.maxBodyBytes", strconv.FormatInt(l.MaxBodyBytes, 10), "must be >= 0")
	}
	if l.Timeout < 0 {
		add(p+".limits.timeout", l.Timeout.Std().String(), "must be >= 0")
	}
	if l.MaxRetries != nil && (*l.MaxRetries < 0 || *l.MaxRetries > 10) {
		add(p+".limits.maxRetries", strconv.Itoa(*l.MaxRetries), "must be between 0 and 10")
	}
	if rl := l.RateLimit; rl != nil {
		if rl.RequestsPerSecond <= 0 {
			add(p+".limits.rateLimit.requestsPerSecond", strconv.FormatFloat(rl.RequestsPerSecond, 'g', -1, 64), "must be > 0")
		}
		if rl.Burst < 0 {
			add(p+".limits.rateLimit.burst", strconv.Itoa(rl.Burst), "must be >= 0")
		}
	}
	if hc := s.HealthCheck; hc != nil {
		if hc.Path != "" && !strings.HasPrefix(hc.Path, "/") {
			add(p+".healthCheck.path", strconv.Quote(hc.Path), "must start with '/'")
		}
		if hc.Interval < 0 || hc.Timeout < 0 || hc.UnhealthyThreshold < 0 || hc.HealthyThreshold < 0 {
			add(p+".healthCheck", "negative value", "interval, timeout and thresholds must be >= 0")
		}
	}
	if od := s.OutlierDetection; od != nil {
		if od.MaxEjectionPercent < 0 || od.MaxEjectionPercent > 100 {
			add(p+".outlierDetection.maxEjectionPercent", strconv.Itoa(od.MaxEjectionPercent), "must be between 0 and 100")
		}
		if od.ConsecutiveConnectionFailures < 0 || od.Consecutive5xx < 0 || od.BaseEjection < 0 || od.MaxEjection < 0 {
			add(p+".outlierDetection", "negative value", "thresholds and durations must be >= 0")
		}
	}
	return errs
}

// effectivePrefix is the path prefix routed to the service, "" when disabled.
func (s Service) effectivePrefix(name string) string {
	switch s.PathPrefix {
	case "-":
		return ""
	case "":
		return "/svc/" + name
	default:
		return s.PathPrefix
	}
}

func sortedServiceNames(m map[string]Service) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
