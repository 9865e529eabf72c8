// Command backend is the tiny upstream used by bench/gateway/run.sh: a net/http server that
// answers every request with a fixed Open Inference Protocol response (as a model server
// would, minus the model), so the proxies in front of it are what the benchmark compares.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9001", "address to serve on")
	version := flag.String("version", "v1", "model_version to report")
	label := flag.Int("label", 0, "predicted label to answer (0 or 1)")
	flag.Parse()

	prob := "0.12"
	if *label == 1 {
		prob = "0.87"
	}
	body := []byte(fmt.Sprintf(`{"model_name":"detector","model_version":%q,"outputs":[`+
		`{"name":"probability","datatype":"FP32","shape":[1],"data":[%s]},`+
		`{"name":"label","datatype":"INT64","shape":[1],"data":[%d]}]}`, *version, prob, *label))
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", length)
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*listen, h))
}
