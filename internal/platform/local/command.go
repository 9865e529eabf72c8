package local

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Environment variables every replica receives besides its template's env.
const (
	// EnvPort is the replica's main port (also available as $(PORT) in command/args/env).
	EnvPort = "PORT"
	// EnvDataDir marks the process as managed by the platform rooted at this data dir,
	// so a restarted platform can find replicas the state file missed.
	EnvDataDir = "SHIPSAFE_LOCAL_DIR"
	// EnvReplica carries the replica ID (also exposed as POD_NAME-like fieldRef metadata.name).
	EnvReplica = "SHIPSAFE_REPLICA"
)

// inheritedEnv are the host variables a replica inherits; everything else comes from the
// template, like a container that does not see its node's environment.
var inheritedEnv = []string{"PATH", "HOME", "USER", "TMPDIR", "LANG", "LC_ALL", "TZ"}

// expandVars applies Kubernetes' $(VAR) expansion to s: $(NAME) becomes the value of NAME
// when defined and is left as written otherwise; $$ is an escaped '$' (so $$(NAME) yields
// the literal text $(NAME)); any other '$' is kept.
func expandVars(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// replicaPorts maps the ports a template names to the host ports of one replica: the
// main port serves the first declared container port (and any undeclared probe port),
// every other declared container port gets a port of its own.
type replicaPorts struct {
	Main  int           `json:"main"`
	Extra map[int32]int `json:"extra,omitempty"` // containerPort -> host port
}

// resolve maps a probe/container port (number or name) to the host port.
func (p replicaPorts) resolve(c *corev1.Container, port intstr.IntOrString) (int, error) {
	num := int32(port.IntValue())
	if port.Type == intstr.String {
		num = 0
		for _, cp := range c.Ports {
			if cp.Name == port.StrVal {
				num = cp.ContainerPort
			}
		}
		if num == 0 {
			return 0, fmt.Errorf("port %q: no container port has that name", port.StrVal)
		}
	}
	if hp, ok := p.Extra[num]; ok {
		return hp, nil
	}
	return p.Main, nil
}

// extraContainerPorts lists the declared container ports after the first, which need
// host ports of their own.
func extraContainerPorts(c *corev1.Container) []int32 {
	var out []int32
	for i, cp := range c.Ports {
		if i > 0 && cp.ContainerPort != c.Ports[0].ContainerPort && !slices.Contains(out, cp.ContainerPort) {
			out = append(out, cp.ContainerPort)
		}
	}
	return out
}

// launchSpec is everything needed to exec one replica process.
type launchSpec struct {
	Path string
	Args []string // argv including argv[0]
	Env  []string
	Dir  string
}

// commandResolver turns containers[0] into a launch spec.
type commandResolver struct {
	self          string              // the running shipsafe binary, for command[0] == "shipsafe"
	imageCommands map[string][]string // image (with or without tag) -> entrypoint
	lookPath      func(string) (string, error)
}

// entrypoint returns command (or the image's mapped entrypoint) + args, resolving argv[0].
func (r commandResolver) entrypoint(c *corev1.Container, expand func(string) string) (string, []string, error) {
	command := c.Command
	if len(command) == 0 {
		command = r.imageEntrypoint(c.Image)
	}
	if len(command) == 0 {
		return "", nil, fmt.Errorf("containers[0].command: required by the local platform (image %q has no entrypoint mapping)", c.Image)
	}
	argv := make([]string, 0, len(command)+len(c.Args))
	for _, s := range command {
		argv = append(argv, expand(s))
	}
	for _, s := range c.Args {
		argv = append(argv, expand(s))
	}
	prog := argv[0]
	var path string
	switch {
	case prog == "shipsafe":
		path = r.self
	case strings.Contains(prog, "/"):
		path = prog
	default:
		p, err := r.lookPath(prog)
		if err != nil {
			return "", nil, fmt.Errorf("containers[0].command[0]: %q not found in PATH: %w", prog, err)
		}
		path = p
	}
	if path == "" {
		return "", nil, fmt.Errorf("containers[0].command[0]: %q: the running binary is unknown", prog)
	}
	return path, argv, nil
}

func (r commandResolver) imageEntrypoint(image string) []string {
	if image == "" {
		return nil
	}
	if c, ok := r.imageCommands[image]; ok {
		return c
	}
	repo := image
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		repo = image[:i]
	}
	return r.imageCommands[repo]
}

// podContext carries the replica facts fieldRef env vars can read.
type podContext struct {
	ID        string
	Namespace string
	Labels    map[string]string
}

// buildLaunch resolves the replica's environment (in template order, so later values
// may reference earlier ones), then command and args with $(VAR) expansion.
func (r commandResolver) buildLaunch(tpl *corev1.PodTemplateSpec, ports replicaPorts, pod podContext, dataDir, workDir string) (launchSpec, error) {
	if len(tpl.Spec.Containers) == 0 {
		return launchSpec{}, fmt.Errorf("spec.template.spec.containers: must have at least one container")
	}
	c := &tpl.Spec.Containers[0]
	vars := map[string]string{EnvPort: strconv.Itoa(ports.Main)}
	for cp, hp := range ports.Extra {
		vars[fmt.Sprintf("PORT_%d", cp)] = strconv.Itoa(hp)
	}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	expand := func(s string) string { return expandVars(s, lookup) }
	order := make([]string, 0, len(vars)+len(c.Env))
	for k := range vars {
		order = append(order, k)
	}
	sort.Strings(order)
	for i, e := range c.Env {
		var v string
		switch {
		case e.ValueFrom == nil:
			v = expand(e.Value)
		case e.ValueFrom.FieldRef != nil:
			fv, err := fieldRefValue(e.ValueFrom.FieldRef.FieldPath, pod)
			if err != nil {
				return launchSpec{}, fmt.Errorf("containers[0].env[%d].valueFrom.fieldRef: %w", i, err)
			}
			v = fv
		default:
			return launchSpec{}, fmt.Errorf("containers[0].env[%d].valueFrom: only fieldRef is supported by the local platform", i)
		}
		if _, seen := vars[e.Name]; !seen {
			order = append(order, e.Name)
		}
		vars[e.Name] = v
	}
	path, argv, err := r.entrypoint(c, expand)
	if err != nil {
		return launchSpec{}, err
	}
	env := make([]string, 0, len(inheritedEnv)+len(order)+2)
	for _, k := range inheritedEnv {
		if v, ok := os.LookupEnv(k); ok {
			if _, overridden := vars[k]; !overridden {
				env = append(env, k+"="+v)
			}
		}
	}
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	env = append(env, EnvDataDir+"="+dataDir, EnvReplica+"="+pod.ID)
	dir := workDir
	if c.WorkingDir != "" {
		dir = c.WorkingDir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(workDir, dir)
		}
	}
	return launchSpec{Path: path, Args: argv, Env: env, Dir: dir}, nil
}

func fieldRefValue(path string, pod podContext) (string, error) {
	switch {
	case path == "metadata.name":
		return pod.ID, nil
	case path == "metadata.namespace":
		return pod.Namespace, nil
	case path == "status.podIP", path == "status.hostIP":
		return "127.0.0.1", nil
	case strings.HasPrefix(path, "metadata.labels['") && strings.HasSuffix(path, "']"):
		return pod.Labels[path[len("metadata.labels['"):len(path)-2]], nil
	default:
		return "", fmt.Errorf("fieldPath %q: not supported by the local platform", path)
	}
}

// defaultLookPath is exec.LookPath; a field so tests can replace it.
func defaultLookPath(file string) (string, error) { return exec.LookPath(file) }
