package flags

import (
	"fmt"
	"sort"
)

// Warning is a rule that loads but does not do what it seems to: flagd accepts the file
// and evaluates such a flag to its default variant (or to the error flagd names), so
// Compile does too and reports the rule here. `shipsafe flags validate` prints warnings,
// and with --strict treats them as errors.
type Warning struct {
	Path string // JSON path of the rule ("flags.banner.targeting.if[0].sem_ver[1]")
	Msg  string // the rule broken and what evaluation does instead
}

func (w Warning) String() string { return w.Path + ": " + w.Msg }

// Warnings lists the set's warnings, sorted by JSON path.
func (s *FlagSet) Warnings() []Warning { return append([]Warning(nil), s.warnings...) }

func sortWarnings(ws []Warning) {
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Path < ws[j].Path })
}

// arity is the number of arguments a core JSON Logic operator uses (max -1: any number).
func arity(op string) (minArgs, maxArgs int) {
	switch op {
	case "==", "===", "!=", "!==", ">", ">=", "in", "/", "%", "missing_some":
		return 2, 2
	case "<", "<=", "substr":
		return 2, 3
	case "-":
		return 1, 2
	case "log":
		return 1, 1
	}
	return 0, -1
}

// fitArity makes a core operator's argument list the length the operator uses, the way
// JSON Logic evaluates it (a missing argument is null, extra ones are ignored), and warns.
func (c *ruleCompiler) fitArity(op string, args []expr, path string) []expr {
	minArgs, maxArgs := arity(op)
	if len(args) >= minArgs && (maxArgs < 0 || len(args) <= maxArgs) {
		return args
	}
	want := fmt.Sprintf("%d", minArgs)
	if maxArgs != minArgs {
		want = fmt.Sprintf("%d or %d", minArgs, maxArgs)
	}
	c.warn(path, "%s needs %s arguments, got %d; JSON Logic treats missing arguments as null and ignores extra ones", op, want, len(args))
	for len(args) < minArgs {
		args = append(args, constExpr(Null()))
	}
	if maxArgs >= 0 && len(args) > maxArgs {
		args = args[:maxArgs]
	}
	return args
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
