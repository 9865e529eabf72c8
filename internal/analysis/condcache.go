package analysis

import (
	"regexp"
	"sync"
)

// maxCachedConditions bounds the cache; templates have a handful of conditions, so
// reaching it means expressions vary per run (e.g. args inside) and it is simply reset.
const maxCachedConditions = 1024

// conditionCache compiles each distinct condition expression once.
type conditionCache struct {
	compile CompileFunc
	mu      sync.Mutex
	byExpr  map[string]Condition
}

func newConditionCache(c CompileFunc) *conditionCache {
	return &conditionCache{compile: c, byExpr: make(map[string]Condition)}
}

func (c *conditionCache) get(expr string) (Condition, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cond, ok := c.byExpr[expr]; ok {
		return cond, nil
	}
	cond, err := c.compile(expr)
	if err != nil {
		return nil, err
	}
	if len(c.byExpr) >= maxCachedConditions {
		c.byExpr = make(map[string]Condition)
	}
	c.byExpr[expr] = cond
	return cond, nil
}

// patternCache compiles each distinct dryRun / measurementRetention pattern once.
type patternCache struct {
	mu        sync.Mutex
	byPattern map[string]*regexp.Regexp
}

func (c *patternCache) get(pattern string) (*regexp.Regexp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if re, ok := c.byPattern[pattern]; ok {
		return re, nil
	}
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	if err != nil {
		return nil, err
	}
	if c.byPattern == nil || len(c.byPattern) >= maxCachedConditions {
		c.byPattern = make(map[string]*regexp.Regexp)
	}
	c.byPattern[pattern] = re
	return re, nil
}
