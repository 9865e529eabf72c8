package analysis

import "sync"

// maxCachedConditions bounds the cache; templates have a handful of conditions, so
// reaching it means expressions vary per run (e.g. args inside) and it is simply reset.
const maxCachedConditions = 1024

// conditionCache compiles each distinct expression once.
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
