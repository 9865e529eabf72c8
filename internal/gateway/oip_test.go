package gateway

import "testing"

func TestOIPRequestFields(t *testing.T) {
	body := []byte(`{"inputs":[{"name":"x","data":[1,2,{"id":"nested"}]}], "id" : "req-7",
		"parameters":{"other":"v","user":"alice","n":42}}`)
	id, user := oipRequestFields(body, "user")
	if string(id) != "req-7" || string(user) != "alice" {
		t.Errorf("id %q user %q", id, user)
	}
	if _, n := oipRequestFields(body, "n"); string(n) != "42" {
		t.Errorf("numeric parameter %q", n)
	}
	if id, p := oipRequestFields([]byte(`not json`), "user"); id != nil || p != nil {
		t.Errorf("garbage gave %q %q", id, p)
	}
}

func TestOIPPrediction(t *testing.T) {
	cases := []struct {
		name string
		body string
		want prediction
	}{
		{"label and probability", `{"id":"1","model_version":"v2","outputs":[{"name":"probability","datatype":"FP32","shape":[1],"data":[0.83]},{"name":"label","datatype":"INT64","shape":[1],"data":[1]}]}`,
			prediction{label: 1, prob: 0.83, hasLabel: true, hasProb: true}},
		{"probability only, nested data", `{"outputs":[{"data":[[0.2]],"name":"pneumonia_prob"}]}`,
			prediction{label: 0, prob: 0.2, hasLabel: true, hasProb: true}},
		{"class only, odd case", `{"outputs":[{"name":"Predicted_Class","data":[0]}]}`,
			prediction{label: 0, hasLabel: true}},
		{"no outputs", `{"error":"boom"}`, prediction{}},
		{"truncated", `{"outputs":[{"name":"label","data":[1`, prediction{}},
	}
	for _, c := range cases {
		if got := oipPrediction([]byte(c.body)); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestIsInferPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/v2/models/detector/infer":            true,
		"/v2/models/detector/versions/3/infer": true,
		"/svc/x/v2/models/detector/infer":      true,
		"/v2/models/detector/ready":            false,
		"/v1/models/detector:predict":          false,
		"/v2/models/detector/infer/extra":      false,
	} {
		if got := isInferPath([]byte(p)); got != want {
			t.Errorf("%s: %v", p, got)
		}
	}
}

func TestUsableID(t *testing.T) {
	for in, want := range map[string]string{
		`plain-1`:                  "plain-1",
		`with\"quote`:              `with"quote`,
		`line\nbreak`:              "",
		`bad\escape`:               "",
		string(make([]byte, 2000)): "",
	} {
		if got := string(usableID([]byte(in), nil)); got != want {
			t.Errorf("usableID(%q) = %q, want %q", in, got, want)
		}
	}
}
