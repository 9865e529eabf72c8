// Package flagdtestbed runs flagd's public conformance suite (flagd-testbed's gherkin
// features and flag files, in internal/flags/testdata/flagd-testbed) against an OFREP
// server: every scenario is evaluated over HTTP the way an OpenFeature OFREP provider
// evaluates it. It holds a small gherkin reader (the subset the testbed uses: tags,
// Background, Scenario, Scenario Outline with Examples/Scenarios blocks, data tables, doc
// strings, comments) and the testbed's step vocabulary.
package flagdtestbed

import (
	"fmt"
	"strings"
)

// Step is one Given/When/Then line with its data table, if any.
type Step struct {
	Text  string     // without the keyword
	Table [][]string // rows of cells, header first
	Line  int
}

// Scenario is one runnable scenario: a plain Scenario, or one Examples row of an outline
// (placeholders substituted), with the Background's steps first.
type Scenario struct {
	File string // path relative to the testbed directory
	Name string
	Line int // the Scenario line, or the Examples row's line for an outline
	// DefLine is the line of the Scenario (Outline) keyword.
	DefLine int
	Tags    []string // the feature's, the scenario's and the Examples block's
	Steps   []Step
}

// ID names the scenario in test output: file:line name.
func (s Scenario) ID() string { return fmt.Sprintf("%s:%d %s", s.File, s.Line, s.Name) }

// HasTag reports whether the scenario carries tag (with its @).
func (s Scenario) HasTag(tag string) bool {
	for _, t := range s.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

type outline struct {
	name     string
	line     int
	tags     []string
	steps    []Step
	isPlain  bool
	examples []examplesBlock
}

type examplesBlock struct {
	name   string
	tags   []string
	header []string
	rows   [][]string
	lines  []int
}

// ParseFeature reads one .feature file into its runnable scenarios.
func ParseFeature(file string, data []byte) ([]Scenario, error) {
	var (
		featureTags, pending []string
		background           []Step
		defs                 []*outline
		cur                  *outline // nil: in the Background (or before any scenario)
		inBackground         bool
		curExamples          *examplesBlock
		inDocString          bool
	)
	lastSteps := func() *[]Step {
		if cur != nil {
			return &cur.steps
		}
		return &background
	}
	for i, raw := range strings.Split(string(data), "\n") {
		lineNo := i + 1
		line := strings.TrimSpace(raw)
		if inDocString {
			if strings.HasPrefix(line, `"""`) || strings.HasPrefix(line, "```") {
				inDocString = false
			}
			continue
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, `"""`) || strings.HasPrefix(line, "```"):
			inDocString = true
		case strings.HasPrefix(line, "@"):
			for _, tag := range strings.Fields(line) {
				if strings.HasPrefix(tag, "#") {
					break // a comment after the tags
				}
				pending = append(pending, tag)
			}
		case strings.HasPrefix(line, "Feature:"):
			featureTags, pending = pending, nil
		case strings.HasPrefix(line, "Background:"):
			inBackground, cur, curExamples = true, nil, nil
		case hasKeyword(line, "Scenario Outline:", "Scenario Template:", "Scenario:", "Example:"):
			plain := strings.HasPrefix(line, "Scenario:") || strings.HasPrefix(line, "Example:")
			cur = &outline{name: afterColon(line), line: lineNo, tags: pending, isPlain: plain}
			defs = append(defs, cur)
			pending, inBackground, curExamples = nil, false, nil
		case hasKeyword(line, "Examples:", "Scenarios:"):
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: Examples outside a Scenario Outline", file, lineNo)
			}
			cur.examples = append(cur.examples, examplesBlock{name: afterColon(line), tags: pending})
			curExamples, pending = &cur.examples[len(cur.examples)-1], nil
		case strings.HasPrefix(line, "|"):
			cells, err := tableCells(line)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, lineNo, err)
			}
			switch {
			case curExamples != nil && curExamples.header == nil:
				curExamples.header = cells
			case curExamples != nil:
				curExamples.rows = append(curExamples.rows, cells)
				curExamples.lines = append(curExamples.lines, lineNo)
			default:
				steps := lastSteps()
				if len(*steps) == 0 {
					return nil, fmt.Errorf("%s:%d: a table row without a step", file, lineNo)
				}
				last := &(*steps)[len(*steps)-1]
				last.Table = append(last.Table, cells)
			}
		case isStep(line):
			if cur == nil && !inBackground {
				return nil, fmt.Errorf("%s:%d: a step outside a scenario: %s", file, lineNo, line)
			}
			_, text, _ := strings.Cut(line, " ")
			steps := lastSteps()
			*steps = append(*steps, Step{Text: strings.TrimSpace(text), Line: lineNo})
		default:
			// Free text: a feature or scenario description.
		}
	}
	var out []Scenario
	for _, d := range defs {
		tags := append(append([]string(nil), featureTags...), d.tags...)
		if d.isPlain {
			steps := append(append([]Step(nil), background...), d.steps...)
			out = append(out, Scenario{File: file, Name: d.name, Line: d.line, DefLine: d.line, Tags: tags, Steps: steps})
			continue
		}
		if len(d.examples) == 0 {
			return nil, fmt.Errorf("%s:%d: Scenario Outline %q has no Examples", file, d.line, d.name)
		}
		for _, ex := range d.examples {
			for r, row := range ex.rows {
				if len(row) != len(ex.header) {
					return nil, fmt.Errorf("%s:%d: %d cells, the header has %d", file, ex.lines[r], len(row), len(ex.header))
				}
				values := map[string]string{}
				for c, h := range ex.header {
					values[h] = row[c]
				}
				steps := append([]Step(nil), background...)
				for _, s := range d.steps {
					steps = append(steps, substitute(s, values))
				}
				name := fmt.Sprintf("%s [%s]", substitute(Step{Text: d.name}, values).Text, strings.Join(row, " | "))
				out = append(out, Scenario{File: file, Name: name, Line: ex.lines[r], DefLine: d.line,
					Tags: append(append([]string(nil), tags...), ex.tags...), Steps: steps})
			}
		}
	}
	return out, nil
}

func hasKeyword(line string, keywords ...string) bool {
	for _, k := range keywords {
		if strings.HasPrefix(line, k) {
			return true
		}
	}
	return false
}

func afterColon(line string) string {
	_, rest, _ := strings.Cut(line, ":")
	return strings.TrimSpace(rest)
}

func isStep(line string) bool {
	kw, _, _ := strings.Cut(line, " ")
	switch kw {
	case "Given", "When", "Then", "And", "But", "*":
		return true
	}
	return false
}

// tableCells splits "| a | b\|c |" into cells, honouring gherkin's escapes (\|, \\, \n).
func tableCells(line string) ([]string, error) {
	if !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil, fmt.Errorf("table row does not end with |: %s", line)
	}
	var cells []string
	var b strings.Builder
	body := line[1:]
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '\\' && i+1 < len(body) && (body[i+1] == '|' || body[i+1] == '\\'):
			b.WriteByte(body[i+1])
			i++
		case c == '\\' && i+1 < len(body) && body[i+1] == 'n':
			b.WriteByte('\n')
			i++
		case c == '|':
			cells = append(cells, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return cells, nil
}

// substitute replaces <name> placeholders in a step's text and table.
func substitute(s Step, values map[string]string) Step {
	replace := func(text string) string {
		for k, v := range values {
			text = strings.ReplaceAll(text, "<"+k+">", v)
		}
		return text
	}
	out := Step{Text: replace(s.Text), Line: s.Line}
	for _, row := range s.Table {
		r := make([]string, len(row))
		for i, c := range row {
			r[i] = replace(c)
		}
		out.Table = append(out.Table, r)
	}
	return out
}
