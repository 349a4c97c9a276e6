package tests

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor (a CRD, so not
// in k8s.io/api) that the chart renders, written from the CRD's schema
// (monitoring.coreos.com/v1). Decoded strictly, an unknown or misspelt field fails.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
			Authorization *struct {
				Type        string                    `json:"type"`
				Credentials *corev1.SecretKeySelector `json:"credentials"`
			} `json:"authorization"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func (sm *serviceMonitor) check(t *testing.T) {
	t.Helper()
	if len(sm.Spec.Selector.MatchLabels) == 0 || len(sm.Spec.Endpoints) == 0 {
		t.Errorf("ServiceMonitor %s: needs a selector and an endpoint", sm.Name)
	}
	for _, e := range sm.Spec.Endpoints {
		if e.Port == "" || e.Path != "/metrics" {
			t.Errorf("ServiceMonitor %s: endpoint %q %q, want a named port and /metrics", sm.Name, e.Port, e.Path)
		}
		if a := e.Authorization; a == nil || a.Type != "Bearer" || a.Credentials == nil || a.Credentials.Key != "metrics-token" {
			t.Errorf("ServiceMonitor %s: /metrics needs the metrics-only token (key metrics-token) as a Bearer credential, never the shop API token", sm.Name)
		}
	}
}
