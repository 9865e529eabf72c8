package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/shipsafe/shipsafe/internal/kubecontroller"
)

// newControllerCmd runs the control plane on Kubernetes (internal/kubecontroller).
func newControllerCmd() *cobra.Command {
	var opts kubecontroller.Options
	var kubeconfig, tokenFile string
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the control plane on Kubernetes: Argo Rollouts resources in one namespace, with leader election",
		Long: "controller reconciles the argoproj.io Rollouts of one namespace as ReplicaSets, keeps progress in\n" +
			"their status and obeys Argo's kubectl plugin. Replicas elect a leader on a Lease; only the leader\n" +
			"acts. The API token is read from --token-file or $SHIPSAFE_TOKEN. docs/kubernetes.md explains the setup.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadKubeconfig(kubeconfig)
			if err != nil {
				return err
			}
			opts.Config = cfg
			if opts.API != "" {
				if opts.Token, err = readControllerToken(tokenFile); err != nil {
					return err
				}
			}
			opts.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			ctl, err := kubecontroller.New(opts)
			if err != nil {
				return err
			}
			return ctl.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the in-cluster service account)")
	cmd.Flags().StringVar(&opts.Namespace, "namespace", "default", "namespace whose Rollouts the controller manages")
	cmd.Flags().StringVar(&opts.API, "api", "127.0.0.1:7070", "API listen address (empty: no API)")
	cmd.Flags().StringVar(&opts.ProbeAddr, "probe-addr", "127.0.0.1:8081", "listen address of /healthz, /readyz and /metrics")
	cmd.Flags().StringVar(&opts.LeaseName, "lease-name", "shipsafe-controller", "name of the coordination.k8s.io Lease used for leader election")
	cmd.Flags().DurationVar(&opts.LeaseDuration, "lease-duration", 15*time.Second, "leader lease duration: the longest a stand-by waits after the leader dies")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the API token for mutating routes (default: $SHIPSAFE_TOKEN)")
	return cmd
}

// loadKubeconfig uses path, else $KUBECONFIG, else the in-cluster configuration.
func loadKubeconfig(path string) (*rest.Config, error) {
	if path == "" && os.Getenv("KUBECONFIG") == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no --kubeconfig or $KUBECONFIG, and not in a cluster: %w", err)
		}
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return cfg, nil
}

func readControllerToken(file string) (string, error) {
	if file == "" {
		if t := strings.TrimSpace(os.Getenv("SHIPSAFE_TOKEN")); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("the API needs a token: pass --token-file or set $SHIPSAFE_TOKEN (or --api \"\" to serve no API)")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("token file %s is empty", file)
	}
	return t, nil
}
