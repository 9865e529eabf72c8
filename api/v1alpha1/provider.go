package v1alpha1

// ProviderNames lists, by JSON name, the providers that are set (validation requires exactly one).
func (pr *MetricProvider) ProviderNames() []string {
	var set []string
	add := func(ok bool, name string) {
		if ok {
			set = append(set, name)
		}
	}
	add(pr.Builtin != nil, "builtin")
	add(pr.Prometheus != nil, "prometheus")
	add(pr.Web != nil, "web")
	add(pr.Job != nil, "job")
	add(len(pr.Plugin) > 0, "plugin")
	add(len(pr.Kayenta) > 0, "kayenta")
	add(len(pr.Datadog) > 0, "datadog")
	add(len(pr.Wavefront) > 0, "wavefront")
	add(len(pr.NewRelic) > 0, "newRelic")
	add(len(pr.CloudWatch) > 0, "cloudWatch")
	add(len(pr.Graphite) > 0, "graphite")
	add(len(pr.Influxdb) > 0, "influxdb")
	add(len(pr.SkyWalking) > 0, "skywalking")
	return set
}

// ProviderType names the provider a metric uses ("builtin", "prometheus", "web", "job", ...),
// or "" when none or several are set.
func (pr *MetricProvider) ProviderType() string {
	if set := pr.ProviderNames(); len(set) == 1 {
		return set[0]
	}
	return ""
}
