package manifest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validatePodTemplate checks the parts of a pod template shipsafe relies on: containers with
// names and images, ports, and well-formed probes. Full Kubernetes pod validation is the API
// server's job; this catches the mistakes that would make a rollout never become ready.
func validatePodTemplate(t *corev1.PodTemplateSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	sp := p.Child("spec")
	if len(t.Spec.Containers) == 0 {
		errs = append(errs, field.Required(sp.Child("containers"), "at least one container"))
	}
	switch t.Spec.RestartPolicy {
	case "", corev1.RestartPolicyAlways:
	default:
		errs = append(errs, mustBeOneOf(sp.Child("restartPolicy"), string(t.Spec.RestartPolicy), string(corev1.RestartPolicyAlways)))
	}
	names := map[string]bool{}
	for i := range t.Spec.InitContainers {
		errs = append(errs, validateContainer(&t.Spec.InitContainers[i], sp.Child("initContainers").Index(i), names)...)
	}
	for i := range t.Spec.Containers {
		errs = append(errs, validateContainer(&t.Spec.Containers[i], sp.Child("containers").Index(i), names)...)
	}
	return errs
}

func validateContainer(c *corev1.Container, p *field.Path, names map[string]bool) field.ErrorList {
	var errs field.ErrorList
	switch {
	case c.Name == "":
		errs = append(errs, field.Required(p.Child("name"), ""))
	case names[c.Name]:
		errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
	default:
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), c.Name, msg))
		}
	}
	names[c.Name] = true
	if c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	}
	portNames := map[string]bool{}
	for i, port := range c.Ports {
		pp := p.Child("ports").Index(i)
		errs = append(errs, validatePortNumber(port.ContainerPort, pp.Child("containerPort"))...)
		if port.HostPort != 0 {
			errs = append(errs, validatePortNumber(port.HostPort, pp.Child("hostPort"))...)
		}
		if port.Name != "" {
			for _, msg := range validation.IsValidPortName(port.Name) {
				errs = append(errs, field.Invalid(pp.Child("name"), port.Name, msg))
			}
			if portNames[port.Name] {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
			}
			portNames[port.Name] = true
		}
		switch port.Protocol {
		case "", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			errs = append(errs, mustBeOneOf(pp.Child("protocol"), string(port.Protocol), "TCP", "UDP", "SCTP"))
		}
	}
	errs = append(errs, validateProbe(c.ReadinessProbe, p.Child("readinessProbe"), portNames)...)
	errs = append(errs, validateProbe(c.LivenessProbe, p.Child("livenessProbe"), portNames)...)
	errs = append(errs, validateProbe(c.StartupProbe, p.Child("startupProbe"), portNames)...)
	return errs
}

func validatePortNumber(n int32, p *field.Path) field.ErrorList {
	if n < 1 || n > 65535 {
		return field.ErrorList{field.Invalid(p, n, "must be between 1 and 65535")}
	}
	return nil
}

func validateProbe(pr *corev1.Probe, p *field.Path, portNames map[string]bool) field.ErrorList {
	if pr == nil {
		return nil
	}
	var errs field.ErrorList
	handlers := 0
	if h := pr.HTTPGet; h != nil {
		handlers++
		errs = append(errs, validateProbePort(h.Port, p.Child("httpGet", "port"), portNames)...)
		if h.Path != "" && h.Path[0] != '/' {
			errs = append(errs, field.Invalid(p.Child("httpGet", "path"), h.Path, "must start with \"/\""))
		}
		switch h.Scheme {
		case "", corev1.URISchemeHTTP, corev1.URISchemeHTTPS:
		default:
			errs = append(errs, mustBeOneOf(p.Child("httpGet", "scheme"), string(h.Scheme), "HTTP", "HTTPS"))
		}
	}
	if pr.TCPSocket != nil {
		handlers++
		errs = append(errs, validateProbePort(pr.TCPSocket.Port, p.Child("tcpSocket", "port"), portNames)...)
	}
	if pr.Exec != nil {
		handlers++
		if len(pr.Exec.Command) == 0 {
			errs = append(errs, field.Required(p.Child("exec", "command"), ""))
		}
	}
	if pr.GRPC != nil {
		handlers++
		errs = append(errs, validatePortNumber(pr.GRPC.Port, p.Child("grpc", "port"))...)
	}
	if handlers != 1 {
		errs = append(errs, field.Invalid(p, description(fmt.Sprintf("%d handlers", handlers)), "must set exactly one of httpGet, tcpSocket, exec, grpc"))
	}
	for _, f := range []struct {
		name string
		v    int32
	}{
		{"initialDelaySeconds", pr.InitialDelaySeconds}, {"timeoutSeconds", pr.TimeoutSeconds},
		{"periodSeconds", pr.PeriodSeconds}, {"successThreshold", pr.SuccessThreshold},
		{"failureThreshold", pr.FailureThreshold},
	} {
		errs = append(errs, validateNonNegative(&f.v, p.Child(f.name))...)
	}
	return errs
}

func validateProbePort(port intstr.IntOrString, p *field.Path, portNames map[string]bool) field.ErrorList {
	if port.Type == intstr.Int {
		return validatePortNumber(port.IntVal, p)
	}
	if port.StrVal == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if !portNames[port.StrVal] {
		return field.ErrorList{field.Invalid(p, port.StrVal, "must be a port number or the name of one of the container's ports")}
	}
	return nil
}
