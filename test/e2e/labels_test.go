package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/data/pneumoniamnist"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// oipImage is an OIP v2 inference body for one 28x28 image, without an id (the gateway
// assigns one).
func oipImage(img []uint8) []byte {
	var b bytes.Buffer
	b.WriteString(`{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,28,28],"data":[`)
	for i, p := range img {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(p)))
	}
	b.WriteString(`]}]}`)
	return b.Bytes()
}

// withID puts "id" first in an oipImage body.
func withID(body []byte, id string) []byte {
	return append([]byte(fmt.Sprintf(`{"id":%q,`, id)), body[1:]...)
}

type labelAttempt struct {
	name    string
	host    string
	ctype   string
	token   string
	wantErr bool
}

// TestAttackerWithTrafficPortCannotJoinLabels plays issue 18's attacker against a real
// `shipsafe up`: with only the public traffic port it tries every way to post wrong
// labels for the victim's requests (no token, a guessed token, text/plain as a cross-origin
// page would, another Host, and reusing the victim's ids with other images) before the
// real labeller. None may join: the revision's confusion matrix must hold exactly the
// labeller's labels.
func TestAttackerWithTrafficPortCannotJoinLabels(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	manifest := detectorRollout("labels", 1, "v1", "", canaryStrategy)
	c.apply(manifest)
	c.waitFor(ctx, "labels", "healthy on v1", healthyOn("v1"))
	rev := hashOf(t, manifest)
	since := time.Now()

	imgs, truths, err := pneumoniamnist.Val()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	infer := func(body []byte) (id string, predicted int) {
		t.Helper()
		resp, err := hc.Post("http://"+c.gateway+"/svc/labels/v2/models/pneumonia-detector/infer", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Outputs []struct {
				Name string    `json:"name"`
				Data []float64 `json:"data"`
			} `json:"outputs"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("inference: %d %v", resp.StatusCode, err)
		}
		predicted = -1
		for _, o := range out.Outputs {
			if o.Name == "label" && len(o.Data) > 0 {
				predicted = int(o.Data[0])
			}
		}
		return resp.Header.Get(gateway.RequestIDHeader), predicted
	}

	// The victim's traffic: ids assigned by the gateway.
	const n = 20
	ids := make([]string, n)
	predicted := make([]int, n)
	for i := range n {
		ids[i], predicted[i] = infer(oipImage(imgs[i]))
		if raw, err := hex.DecodeString(ids[i]); err != nil || len(raw) < 12 {
			t.Fatalf("assigned id %q: want >= 96 random bits", ids[i])
		}
	}
	// The attacker sees its own ids; they say nothing about the victim's.
	own, _ := infer(oipImage(imgs[n]))
	for _, id := range ids {
		if id[:8] == own[:8] {
			t.Errorf("attacker's id %s shares a prefix with victim's %s", own, id)
		}
	}

	// The attacker knows the victim's ids (the strongest case) and posts the wrong label
	// for each, every way the traffic port might take it.
	post := func(a labelAttempt, body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "http://"+c.gateway+"/v1/feedback", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if a.host != "" {
			req.Host = a.host
		}
		if a.ctype != "" {
			req.Header.Set("Content-Type", a.ctype)
		}
		if a.token != "" {
			req.Header.Set("Authorization", "Bearer "+a.token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	attempts := []labelAttempt{
		{name: "no token", ctype: "application/json"},
		{name: "text/plain from a web page", ctype: "text/plain"},
		{name: "another Host", host: "evil.example", ctype: "application/json"},
		{name: "guessed token", ctype: "application/json", token: strings.Repeat("0", 64)},
		{name: "the token of a guessed key", ctype: "application/json", token: gateway.FeedbackToken("", "labels")},
	}
	for _, a := range attempts {
		for i, id := range ids {
			code, body := post(a, fmt.Sprintf(`{"id":%q,"label":%d}`, id, 1-truths[i]))
			if code/100 == 2 {
				t.Fatalf("attacker (%s) got %d %s for a label", a.name, code, body)
			}
		}
	}
	// The attacker reuses five of the victim's ids with other images, hoping the real
	// label joins its own prediction instead.
	for i := range 5 {
		infer(withID(oipImage(imgs[100+i]), ids[i]))
	}

	// The real labeller, with the service's feedback token, posts the truth.
	tok := gateway.FeedbackToken(c.token, "labels")
	joined := map[string]bool{}
	for i, id := range ids {
		code, body := post(labelAttempt{ctype: "application/json", token: tok}, fmt.Sprintf(`{"id":%q,"label":%d}`, id, truths[i]))
		switch {
		case code == http.StatusAccepted && strings.Contains(body, "joined"):
			joined[id] = true
		case code == http.StatusConflict && i < 5: // a reused id with another answer: disputed
		default:
			t.Errorf("labeller's label %d: %d %s", i, code, body)
		}
	}
	if len(joined) < n-5 {
		t.Fatalf("only %d of the labeller's %d labels joined", len(joined), n)
	}

	// The revision counts exactly the labeller's labels, against the victim's predictions.
	var want gateway.ConfusionMatrix
	for i, id := range ids {
		if !joined[id] {
			continue
		}
		switch {
		case truths[i] == 1 && predicted[i] == 1:
			want.TruePositive++
		case truths[i] == 0 && predicted[i] == 1:
			want.FalsePositive++
		case truths[i] == 0:
			want.TrueNegative++
		default:
			want.FalseNegative++
		}
	}
	got := c.dataplaneSnapshot(t, "labels", rev, since).Confusion
	if got != want {
		t.Errorf("confusion matrix %+v, want the labeller's %+v", got, want)
	}
	t.Logf("attacker: %d label attempts refused; labeller: %d joined, %d disputed by reused ids; confusion %+v",
		len(attempts)*n, len(joined), n-len(joined), got)
}

// dataplaneSnapshot reads one revision's recorder snapshot from the data plane's admin API.
func (c *cluster) dataplaneSnapshot(t *testing.T, service, revision string, since time.Time) gateway.RevisionSnapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, "dataplane.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Admin string }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://%s/snapshot?service=%s&revision=%s&since=%d", st.Admin, service, revision, since.UnixMilli())
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s gateway.RevisionSnapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("snapshot %s: %d %v", url, resp.StatusCode, err)
	}
	return s
}
