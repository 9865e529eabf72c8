// Package k8stest gives an e2e test package a real Kubernetes control plane on 127.0.0.1: etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler built from source by
// hack/k8s-testenv/build.sh, with kwok faking the nodes and their pods (pods get Running/Ready and
// an IP, but no process runs). Use Main from TestMain, then Get from each test.
package k8stest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure a cluster.
type Options struct {
	// BinDir holds the binaries (default: Binaries()).
	BinDir string
	// Nodes is the number of kwok nodes (default 3).
	Nodes int
	// StartTimeout bounds Start (default 90s: a loaded 2-core machine needs ~10s).
	StartTimeout time.Duration
	Log          *slog.Logger
}

// Cluster is a running test cluster.
type Cluster struct {
	// Config is an admin (system:masters) client config; copy it before changing it.
	Config *rest.Config
	// Client is a clientset on Config.
	Client kubernetes.Interface
	// Kubeconfig is the path of a kubeconfig file for Config (for CLIs under test).
	Kubeconfig string
	// Dir is the cluster's temporary directory (logs are Dir/*.log).
	Dir string

	spawn    *spawner
	procs    []*process
	stopOnce sync.Once
	log      *slog.Logger
}

// Start starts a cluster. On error, everything it started is already stopped.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 90 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.BinDir == "" {
		if opts.BinDir, err = Binaries(); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "shipsafe-k8stest-")
	if err != nil {
		return nil, fmt.Errorf("create cluster dir: %w", err)
	}
	c := &Cluster{Dir: dir, spawn: newSpawner(), log: opts.Log}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	began := time.Now()

	creds, err := writeCredentials(dir)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort, kcmPort, schedPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	bin := func(name string) string { return filepath.Join(opts.BinDir, name) }
	url := func(p int) string { return "http://127.0.0.1:" + strconv.Itoa(p) }

	etcd, err := c.spawn.run("etcd", filepath.Join(dir, "etcd.log"), bin("etcd"),
		"--name=k8stest", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+url(etcdClient), "--advertise-client-urls="+url(etcdClient),
		"--listen-peer-urls="+url(etcdPeer), "--initial-advertise-peer-urls="+url(etcdPeer),
		"--initial-cluster=k8stest="+url(etcdPeer),
		// A test cluster's data dies with the test: durability is not worth the fsync latency.
		"--unsafe-no-fsync", "--log-level=warn")
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, etcd)

	api, err := c.spawn.run("kube-apiserver", filepath.Join(dir, "kube-apiserver.log"), bin("kube-apiserver"),
		"--etcd-servers="+url(etcdClient),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort),
		// The default reconciler refuses a loopback advertise address.
		"--endpoint-reconciler-type=none",
		"--tls-cert-file="+creds.certFile, "--tls-private-key-file="+creds.keyFile,
		"--client-ca-file="+creds.caFile,
		"--token-auth-file="+creds.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-key-file="+creds.saPubFile,
		"--service-account-signing-key-file="+creds.saKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"))
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, api)

	c.Config = &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(apiPort),
		BearerToken:     creds.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: creds.caPEM},
		QPS:             200,
		Burst:           400,
	}
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, fmt.Errorf("clientset: %w", err)
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, c.Config); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, "kube-apiserver /readyz", c.procs, c.readyz); err != nil {
		return nil, err
	}

	kcm, err := c.spawn.run("kube-controller-manager", filepath.Join(dir, "kube-controller-manager.log"), bin("kube-controller-manager"),
		"--kubeconfig="+c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(kcmPort),
		// kwok's nodes have no kubelet: node IPAM and lifecycle would only fight it.
		"--controllers=*,-nodeipam,-nodelifecycle",
		"--service-account-private-key-file="+creds.saKeyFile, "--root-ca-file="+creds.caFile,
		"--leader-elect=false",
		// The cluster's own controllers must not be the bottleneck of a scale test.
		"--kube-api-qps=200", "--kube-api-burst=400",
		"--concurrent-replicaset-syncs=10", "--concurrent-deployment-syncs=10")
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, kcm)

	sched, err := c.spawn.run("kube-scheduler", filepath.Join(dir, "kube-scheduler.log"), bin("kube-scheduler"),
		"--kubeconfig="+c.Kubeconfig, "--authentication-kubeconfig="+c.Kubeconfig, "--authorization-kubeconfig="+c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(schedPort), "--leader-elect=false")
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, sched)

	kwokArgs := []string{"--kubeconfig=" + c.Kubeconfig,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=" + kwokAnnotation + "=fake",
		"--cidr=10.244.0.1/16", "--node-ip=127.0.0.1"}
	stages, err := filepath.Glob(filepath.Join(filepath.Dir(opts.BinDir), "stages", "*.yaml"))
	if err != nil || len(stages) == 0 {
		return nil, fmt.Errorf("no kwok stage files in %s (rebuild with hack/k8s-testenv/build.sh)", filepath.Join(filepath.Dir(opts.BinDir), "stages"))
	}
	for _, s := range stages {
		kwokArgs = append(kwokArgs, "--config="+s)
	}
	kwok, err := c.spawn.run("kwok", filepath.Join(dir, "kwok.log"), bin("kwok"), kwokArgs...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, kwok)

	if err := c.addNodes(ctx, opts.Nodes); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, "the default service account", c.procs, c.defaultServiceAccount); err != nil {
		return nil, err
	}
	c.log.Info("test cluster up", "api", c.Config.Host, "nodes", opts.Nodes, "took", time.Since(began).Round(time.Millisecond), "dir", dir)
	return c, nil
}

// Stop stops every process (SIGTERM, then SIGKILL after 5s) and removes the cluster's directory
// unless K8STEST_KEEP is set. Safe to call more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		// Reverse order: clients before the API server, the API server before etcd.
		for i := len(c.procs) - 1; i >= 0; i-- {
			c.procs[i].stop(5 * time.Second)
		}
		c.spawn.close()
		if os.Getenv("K8STEST_KEEP") == "" {
			_ = os.RemoveAll(c.Dir)
		}
	})
}

// Alive reports an error naming the first component that has exited.
func (c *Cluster) Alive() error {
	for _, p := range c.procs {
		if err := p.alive(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) readyz(ctx context.Context) error {
	body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("readyz: %w (%s)", err, body)
	}
	return nil
}

func (c *Cluster) defaultServiceAccount(ctx context.Context) error {
	_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1GetOptions)
	return err
}

func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["k8stest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["k8stest"] = &clientcmdapi.Context{Cluster: "k8stest", AuthInfo: "admin", Namespace: "default"}
	kc.CurrentContext = "k8stest"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// freePorts returns n distinct loopback ports that were free a moment ago. The components bind
// them a little later; on loopback in a test that race is acceptable.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
