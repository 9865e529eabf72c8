package flags

// Selector adapts a Store to the gateway's VariantSelector interface
// (SelectVariant(flagKey, targetingKey string) (variant string, ok bool)): the gateway asks
// which variant a request's targeting key gets and maps the variant to a revision.
type Selector struct {
	Store *Store
}

// SelectVariant evaluates flagKey for a context holding only targetingKey. ok is false
// when no variant was resolved (unknown or disabled flag, evaluation error, no default):
// the gateway then falls back to its own routing. It does not allocate.
func (s Selector) SelectVariant(flagKey, targetingKey string) (string, bool) {
	set := s.Store.Current()
	if set == nil {
		return "", false
	}
	return set.SelectVariant(flagKey, targetingKey)
}

// SelectVariant is Selector.SelectVariant for one flag-set version.
func (s *FlagSet) SelectVariant(flagKey, targetingKey string) (string, bool) {
	f, ok := s.flags[flagKey]
	if !ok {
		return "", false
	}
	r := s.evaluateFlag(f, nil, targetingKey)
	return r.Variant, r.OK()
}
