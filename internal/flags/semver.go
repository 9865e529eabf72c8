package flags

// semver is a parsed semantic version. pre points into the parsed string, so parsing
// does not allocate.
type semver struct {
	major, minor, patch uint64
	pre                 string
}

// parseSemver accepts MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD] with an optional leading
// "v", as flagd does (missing minor/patch count as 0).
func parseSemver(s string) (semver, bool) {
	var v semver
	if len(s) > 0 && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	nums := [3]*uint64{&v.major, &v.minor, &v.patch}
	i := 0
	for part := 0; part < 3; part++ {
		start := i
		var n uint64
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n = n*10 + uint64(s[i]-'0')
			i++
		}
		if i == start || (i-start > 1 && s[start] == '0') {
			return semver{}, false
		}
		*nums[part] = n
		if i < len(s) && s[i] == '.' && part < 2 {
			i++
			continue
		}
		break
	}
	if i < len(s) && s[i] == '-' {
		start := i + 1
		i = start
		for i < len(s) && s[i] != '+' {
			c := s[i]
			if !(c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return semver{}, false
			}
			i++
		}
		if i == start {
			return semver{}, false
		}
		v.pre = s[start:i]
	}
	if i < len(s) && s[i] == '+' {
		i = len(s)
	}
	if i != len(s) {
		return semver{}, false
	}
	return v, true
}

// compareSemver orders versions by semantic-versioning precedence (build metadata ignored).
func compareSemver(a, b semver) int {
	for _, p := range [][2]uint64{{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	return comparePrerelease(a.pre, b.pre)
}

// comparePrerelease compares dot-separated identifiers: numeric ones numerically and
// below alphanumeric ones; a shorter list that is a prefix sorts first.
func comparePrerelease(a, b string) int {
	for a != "" && b != "" {
		var x, y string
		x, a = nextIdent(a)
		y, b = nextIdent(b)
		xn, yn := isNumeric(x), isNumeric(y)
		switch {
		case xn && yn:
			if len(x) != len(y) {
				if len(x) < len(y) {
					return -1
				}
				return 1
			}
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		case xn:
			return -1
		case yn:
			return 1
		case x != y:
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func nextIdent(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
