package tests

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// kubeVersion is the oldest Kubernetes the chart supports (native sidecars are on by
// default from 1.29); rendering against it keeps the API versions honest.
const kubeVersion = "1.29.0"

const (
	chartDir   = ".."
	repoRoot   = "../../.."
	sidecar    = "trustly-sidecar"
	secretDir  = "/var/run/secrets/trustly-sidecar"
	publicPort = "trustly-public"
)

// helm runs the pinned helm (HELM, or the Makefile's .cache/tools/helm) with its
// config, cache and data in a temporary directory: no repositories, no network.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		bin = filepath.Join(repoRoot, ".cache/tools/helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found at %s (make chart-test installs it): %v", bin, err)
	}
	home := t.TempDir()
	switch {
	case slices.Contains(args, "--kube-version"):
	case args[0] == "lint", args[0] == "template":
		// A helm built by go install defaults to Kubernetes 1.20, which the chart refuses.
		args = append(args, "--kube-version", kubeVersion)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func ciValues(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files under ci/: %v", err)
	}
	return files
}

func TestLint(t *testing.T) {
	for _, f := range ciValues(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if out, err := helm(t, "lint", "--strict", chartDir, "-f", f); err != nil {
				t.Fatalf("helm lint --strict -f %s: %v\n%s", f, err, out)
			}
		})
	}
}

// wantKinds is what each ci values file must render, no more and no less.
var wantKinds = map[string][]string{
	"standalone-values.yaml":    {"ServiceAccount", "Secret", "Service", "Service", "Deployment", "Ingress", "PodDisruptionBudget", "NetworkPolicy"},
	"live-sentinel-values.yaml": {"ServiceAccount", "Service", "Service", "Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "ServiceMonitor"},
	"cluster-values.yaml":       {"ServiceAccount", "Secret", "Service", "Service", "Deployment"},
	"sim-values.yaml":           {"ServiceAccount", "Secret", "ConfigMap", "Service", "Service", "Deployment", "NetworkPolicy"},
	"sidecar-values.yaml":       {"Secret"},
}

func TestCIValues(t *testing.T) {
	for _, f := range ciValues(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, "template", "shop", chartDir, "-f", f, "--namespace", "shop")
			if err != nil {
				t.Fatalf("helm template -f %s: %v\n%s", f, err, out)
			}
			golden(t, strings.TrimSuffix(name, "-values.yaml")+".yaml", out)
			objs := decodeAll(t, out)
			want, ok := wantKinds[name]
			if !ok {
				t.Fatalf("no wantKinds entry for %s: add one", name)
			}
			if got := kinds(objs); !sameSet(got, want) {
				t.Errorf("rendered kinds %v, want %v", got, want)
			}
			checkObjects(t, objs)
		})
	}
}

// TestShopChart renders the example shop chart, which depends on this chart through a
// file:// dependency and adds the sidecar to its own Deployment.
func TestShopChart(t *testing.T) {
	shop := shopChart(t)
	if out, err := helm(t, "lint", "--strict", shop); err != nil {
		t.Fatalf("helm lint --strict: %v\n%s", err, out)
	}
	out, err := helm(t, "template", "shop", shop, "--namespace", "shop")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	golden(t, "shop.yaml", out)
	objs := decodeAll(t, out)
	checkObjects(t, objs)

	dep := only[*appsv1.Deployment](t, objs)
	spec := dep.Spec.Template.Spec
	if len(spec.InitContainers) != 1 || spec.InitContainers[0].Name != sidecar {
		t.Fatalf("the shop's pod has init containers %v, want the sidecar alone", names(spec.InitContainers))
	}
	if p := spec.InitContainers[0].RestartPolicy; p == nil || *p != corev1.ContainerRestartPolicyAlways {
		t.Error("the sidecar is not a native sidecar: restartPolicy Always missing")
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || *g < 5+20+2 {
		t.Errorf("the shop's terminationGracePeriodSeconds %v leaves the sidecar less than its preStop sleep + SHUTDOWN_TIMEOUT", g)
	}
	if spec.InitContainers[0].StartupProbe == nil {
		t.Error("the sidecar has no startup probe, so the shop may start before it answers")
	}
	// The shop's containers get the shop API token alone, never the sidecar's Secret
	// volume (the Trustly password, the merchant key, the notification secret).
	tokenVolumes := map[string]bool{}
	for _, v := range spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.Secret != nil && len(src.Secret.Items) == 1 && src.Secret.Items[0].Key == "shop-api-token" && len(v.Projected.Sources) == 1 {
				tokenVolumes[v.Name] = true
			}
		}
	}
	var privatePort int32
	for _, p := range spec.InitContainers[0].Ports {
		if p.Name == "trustly-private" {
			privatePort = p.ContainerPort
		}
	}
	for _, c := range spec.Containers {
		hasToken := false
		for _, m := range c.VolumeMounts {
			if m.Name == "trustly-sidecar-secrets" {
				t.Errorf("container %s mounts the sidecar's whole Secret volume", c.Name)
			}
			hasToken = hasToken || tokenVolumes[m.Name]
		}
		if !hasToken {
			t.Errorf("container %s does not mount a volume holding only the shop API token", c.Name)
		}
	}
	svc := only[*corev1.Service](t, objs)
	var exposed []string
	for _, p := range svc.Spec.Ports {
		if p.TargetPort.String() == publicPort {
			exposed = append(exposed, p.Name)
		}
		if p.TargetPort.String() == "trustly-private" || p.TargetPort.IntVal == privatePort {
			t.Errorf("the shop's Service exposes the private listener (port %s)", p.Name)
		}
	}
	if len(exposed) != 1 || exposed[0] != "trustly" {
		t.Errorf("Service ports to the public listener: %v, want [trustly]", exposed)
	}
	ing := only[*networkingv1.Ingress](t, objs)
	var toSidecar []string
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		if p.Backend.Service.Port.Name == "trustly" {
			toSidecar = append(toSidecar, p.Path)
		}
	}
	if !sameSet(toSidecar, []string{"/trustly/notifications/", "/pay/"}) {
		t.Errorf("Ingress paths to the sidecar: %v, want the notification route and pay-link pages", toSidecar)
	}
}

// shopChart copies the example shop chart with its dependency into a temporary
// directory and returns the shop chart's path there.
func shopChart(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	// The example's dependency is ../../trustly-sidecar: keep that layout in the copy,
	// so helm dependency update writes nothing into the source tree.
	copyDir(t, chartDir, filepath.Join(tmp, "trustly-sidecar"))
	shop := filepath.Join(tmp, "examples", "shop")
	copyDir(t, "../../examples/shop", shop)
	if out, err := helm(t, "dependency", "update", "--skip-refresh", shop); err != nil {
		t.Fatalf("helm dependency update: %v\n%s", err, out)
	}
	return shop
}

func TestImageTagFollowsAppVersion(t *testing.T) {
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	var values struct {
		Image struct {
			Tag string `json:"tag"`
		} `json:"image"`
	}
	readYAML(t, filepath.Join(chartDir, "Chart.yaml"), &chart)
	readYAML(t, filepath.Join(chartDir, "values.yaml"), &values)
	if chart.AppVersion != values.Image.Tag {
		t.Errorf("values.yaml image.tag %q, Chart.yaml appVersion %q: keep them equal", values.Image.Tag, chart.AppVersion)
	}
}

// checkObjects asserts what every rendering must hold, whatever the values.
func checkObjects(t *testing.T, objs []any) {
	t.Helper()
	secrets := map[string]*corev1.Secret{}
	for _, o := range objs {
		if s, ok := o.(*corev1.Secret); ok {
			secrets[s.Name] = s
		}
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			checkPod(t, o.Name, o.Spec.Template.Spec, secrets)
		case *networkingv1.NetworkPolicy:
			checkNetworkPolicy(t, o)
		case *corev1.Service:
			if o.Spec.Type == "" || o.Spec.Type == corev1.ServiceTypeClusterIP {
				continue
			}
			for _, p := range o.Spec.Ports {
				if p.TargetPort.String() != publicPort {
					t.Errorf("%s Service %s publishes port %s (to %s): only the public listener may leave the cluster", o.Spec.Type, o.Name, p.Name, p.TargetPort.String())
				}
			}
		case *corev1.ServiceAccount:
			if o.AutomountServiceAccountToken == nil || *o.AutomountServiceAccountToken {
				t.Errorf("ServiceAccount %s mounts an API token the sidecar never uses", o.Name)
			}
		}
	}
}

// secretVariable matches a variable that would carry a secret as a plain value.
var secretVariable = regexp.MustCompile(`(PASSWORD|PRIVATE_KEY|TOKEN|SECRET)$`)

func checkPod(t *testing.T, owner string, spec corev1.PodSpec, secrets map[string]*corev1.Secret) {
	t.Helper()
	c := findSidecar(spec)
	if c == nil {
		t.Errorf("%s: no %s container", owner, sidecar)
		return
	}
	if spec.SecurityContext == nil || spec.SecurityContext.FSGroup == nil {
		t.Errorf("%s: the pod has no fsGroup, so the sidecar cannot read its 0400 secret files", owner)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: no securityContext", owner)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot,
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem,
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation,
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL",
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("%s: securityContext is not restricted: %+v", owner, *sc)
	}

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	checkUniquePorts(t, owner, spec)
	probe := func(kind string, p *corev1.Probe, path, port string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no %s probe", owner, kind)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != port || ports[port] == 0 {
			t.Errorf("%s: %s probe %s on port %s, want %s on %s", owner, kind, p.HTTPGet.Path, p.HTTPGet.Port.String(), path, port)
		}
	}
	probe("startup", c.StartupProbe, "/healthz", publicPort)
	probe("liveness", c.LivenessProbe, "/healthz", publicPort)
	if besideShop(spec) {
		// The sidecar's readiness is the shop pod's: it must not follow Redis or the
		// adapter, and the private listener is for the pod's own containers.
		probe("readiness", c.ReadinessProbe, "/healthz", publicPort)
		if addr := envValue(c, "TRUSTLY_SIDECAR_PRIVATE_ADDR"); addr != fmt.Sprintf("127.0.0.1:%d", ports["trustly-private"]) {
			t.Errorf("%s: PRIVATE_ADDR %q, want 127.0.0.1 on port trustly-private beside the shop", owner, addr)
		}
	} else {
		probe("readiness", c.ReadinessProbe, "/readyz", "trustly-private")
		if addr := envValue(c, "TRUSTLY_SIDECAR_PRIVATE_ADDR"); addr != fmt.Sprintf(":%d", ports["trustly-private"]) {
			t.Errorf("%s: PRIVATE_ADDR %q does not listen on the readiness probe's port", owner, addr)
		}
	}

	// Every secret is a file on a read-only 0400 Secret volume, named by a _FILE variable.
	var vol *corev1.Volume
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == "trustly-sidecar-secrets" {
			vol = &spec.Volumes[i]
		}
	}
	if vol == nil || vol.Secret == nil {
		t.Fatalf("%s: no Secret volume trustly-sidecar-secrets", owner)
	}
	if m := vol.Secret.DefaultMode; m == nil || *m != 0o400 {
		t.Errorf("%s: secret volume defaultMode %v, want 0400", owner, m)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.Name == vol.Name {
			mounted = m.ReadOnly && m.MountPath == secretDir
		}
	}
	if !mounted {
		t.Errorf("%s: the secret volume is not mounted read-only at %s", owner, secretDir)
	}
	items := map[string]bool{}
	for _, it := range vol.Secret.Items {
		items[it.Path] = true
		if s := secrets[vol.Secret.SecretName]; s != nil {
			if _, ok := s.Data[it.Key]; !ok {
				t.Errorf("%s: secret volume item %s is not in Secret %s", owner, it.Key, s.Name)
			}
		}
	}
	files := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("%s: %s comes from valueFrom; secrets must be files", owner, e.Name)
		}
		if secretVariable.MatchString(e.Name) {
			t.Errorf("%s: secret %s is a plain environment value; want %s_FILE", owner, e.Name, e.Name)
		}
		for _, s := range secrets {
			for k, v := range s.Data {
				if len(v) > 0 && strings.Contains(e.Value, string(v)) {
					t.Errorf("%s: %s carries the value of secret key %s", owner, e.Name, k)
				}
			}
		}
		if strings.HasSuffix(e.Name, "_FILE") && strings.HasPrefix(e.Value, secretDir+"/") {
			f := strings.TrimPrefix(e.Value, secretDir+"/")
			files[f] = true
			if !items[f] {
				t.Errorf("%s: %s names %s, which the secret volume does not hold", owner, e.Name, f)
			}
		}
	}
	for _, f := range []string{"trustly-password", "merchant-private-key", "notification-secret", "shop-api-token"} {
		if !files[f] {
			t.Errorf("%s: secret file %s is not passed to the sidecar", owner, f)
		}
	}
}

func checkNetworkPolicy(t *testing.T, np *networkingv1.NetworkPolicy) {
	t.Helper()
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port != nil && p.Port.String() != publicPort && len(rule.From) == 0 {
				t.Errorf("NetworkPolicy lets anyone reach port %s; only %s is public", p.Port.String(), publicPort)
			}
		}
		if len(rule.Ports) == 0 {
			t.Error("NetworkPolicy has an ingress rule for every port")
		}
	}
	egress := map[int32]bool{}
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			egress[p.Port.IntVal] = true
		}
	}
	if !egress[53] {
		t.Error("NetworkPolicy blocks DNS")
	}
}

// egressPorts are the TCP ports a NetworkPolicy lets the pod connect to, with the
// peers of their rule (nil: any destination).
func egressPorts(np *networkingv1.NetworkPolicy) map[int32][]networkingv1.NetworkPolicyPeer {
	out := map[int32][]networkingv1.NetworkPolicyPeer{}
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			if p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP {
				out[p.Port.IntVal] = rule.To
			}
		}
	}
	return out
}

// TestNetworkPolicyFollowsValues: the egress ports come from the peers the values name
// (trustly.url, redis.addrs, smtp, sms, adapter URLs), and no derived rule sends
// in-cluster peers to an ipBlock; the public port is open only to publicFrom.
func TestNetworkPolicyFollowsValues(t *testing.T) {
	const base = "ci/standalone-values.yaml"
	for _, c := range []struct {
		name   string
		values string
		want   []int32 // TCP egress ports besides DNS
	}{
		{"defaults: Trustly over https and Redis", "", []int32{443, 6379}},
		{"the simulator in the cluster", "trustly: {environment: SIM, url: 'http://trustly-sim:8090/api/1', publicKey: '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----'}\npublicBaseURL: http://trustly-sidecar:8080", []int32{8090, 6379}},
		{"Redis on another port", "redis: {addrs: ['redis:6380']}", []int32{443, 6380, 6379}},
		{"Sentinel", "redis: {mode: sentinel, masterName: m, addrs: ['s-0:26379', 's-1:26379']}", []int32{443, 26379, 6379}},
		{"SMTP and a json SMS gateway", "smtp: {addr: 'smtp.example.com:587', from: 'pay@shop.example'}\nsms: {gateway: json, url: 'http://sms-gw.shop:9000/send', from: Shop}", []int32{443, 6379, 587, 9000}},
		{"an adapter calling back into the cluster", "adapter: generic\nadapterEnv: {TRUSTLY_GENERIC_CALLBACK_URL: 'http://shop.shop.svc:8000/trustly'}", []int32{443, 6379, 8000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "v.yaml")
			if err := os.WriteFile(f, []byte(c.values+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := helm(t, "template", "shop", chartDir, "-f", filepath.Join(chartDir, base), "-f", f)
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, out)
			}
			np := only[*networkingv1.NetworkPolicy](t, decodeAll(t, out))
			got := egressPorts(np)
			delete(got, 53)
			var ports []string
			for p, to := range got {
				ports = append(ports, fmt.Sprint(p))
				for _, peer := range to {
					if peer.IPBlock != nil {
						t.Errorf("egress to port %d only to ipBlock %s: pods in the cluster do not match it on every CNI", p, peer.IPBlock.CIDR)
					}
				}
			}
			var want []string
			for _, p := range c.want {
				want = append(want, fmt.Sprint(p))
			}
			if !sameSet(ports, want) {
				t.Errorf("egress ports %v, want %v", ports, want)
			}
			for _, rule := range np.Spec.Ingress {
				for _, p := range rule.Ports {
					if p.Port.String() == publicPort && len(rule.From) == 0 {
						t.Error("the public port is open to anyone though networkPolicy.publicFrom names the ingress controller")
					}
				}
			}
		})
	}
}

// checkUniquePorts: the containers of a pod share one network namespace, so no two may
// listen on the same port (the second would fail to bind), and port names must differ.
func checkUniquePorts(t *testing.T, owner string, spec corev1.PodSpec) {
	t.Helper()
	byPort, byName := map[string]string{}, map[string]string{}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				key := fmt.Sprintf("%d/%s", p.ContainerPort, proto)
				if other, ok := byPort[key]; ok {
					t.Errorf("%s: containers %s and %s both listen on %s", owner, other, c.Name, key)
				}
				byPort[key] = c.Name
				if p.Name == "" {
					continue
				}
				if other, ok := byName[p.Name]; ok {
					t.Errorf("%s: containers %s and %s both name a port %s", owner, other, c.Name, p.Name)
				}
				byName[p.Name] = c.Name
			}
		}
	}
}

// besideShop: the sidecar runs in a shop's pod (mode sidecar), not in its own.
func besideShop(spec corev1.PodSpec) bool {
	for _, c := range spec.InitContainers {
		if c.Name == sidecar {
			return true
		}
	}
	return len(spec.Containers) > 1
}

func findSidecar(spec corev1.PodSpec) *corev1.Container {
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			if cs[i].Name == sidecar {
				return &cs[i]
			}
		}
	}
	return nil
}

func envValue(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// decodeAll splits helm's output into documents and decodes each strictly into its
// Kubernetes API type: an unknown field, a wrong type or an unknown kind fails.
func decodeAll(t *testing.T, out string) []any {
	t.Helper()
	var objs []any
	for doc := range strings.SplitSeq(out, "\n---\n") {
		doc = strings.TrimPrefix(strings.TrimSpace(doc), "---")
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		obj := newObject(meta.APIVersion, meta.Kind)
		if obj == nil {
			t.Fatalf("%s %s is not a kind the chart may render (Kubernetes %s API versions only)", meta.APIVersion, meta.Kind, kubeVersion)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s does not decode strictly: %v\n%s", meta.Kind, err, doc)
		}
		if sm, ok := obj.(*serviceMonitor); ok {
			sm.check(t)
		}
		objs = append(objs, obj)
	}
	return objs
}

func newObject(apiVersion, kind string) any {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}
	case "v1 Service":
		return &corev1.Service{}
	case "v1 Secret":
		return &corev1.Secret{}
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &serviceMonitor{}
	}
	return nil
}

func kinds(objs []any) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, strings.TrimPrefix(fmt.Sprintf("%T", o), "*"))
	}
	for i, k := range ks {
		ks[i] = k[strings.LastIndex(k, ".")+1:]
	}
	for i, k := range ks {
		if k == "serviceMonitor" {
			ks[i] = "ServiceMonitor"
		}
	}
	return ks
}

func only[T any](t *testing.T, objs []any) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

func names(cs []corev1.Container) []string {
	var ns []string
	for _, c := range cs {
		ns = append(ns, c.Name)
	}
	return ns
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	for _, w := range want {
		count[w]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("rendered output differs from %s (go test -update rewrites it after a deliberate change):\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return ""
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
}

// TestTermination: SHUTDOWN_TIMEOUT is rendered from shutdown.timeoutSeconds, the pod
// drains (preStop sleep) before SIGTERM where Kubernetes has the sleep action (1.30), and
// the grace period covers both; the shop's chart gets the sidecar's share from a helper.
func TestTermination(t *testing.T) {
	values := filepath.Join(chartDir, "ci/standalone-values.yaml")
	for _, c := range []struct {
		kube  string
		sleep int64 // 0: no preStop
	}{{"1.29.0", 0}, {"1.30.0", 5}, {"1.33.0", 5}} {
		t.Run(c.kube, func(t *testing.T) {
			out, err := helm(t, "template", "shop", chartDir, "-f", values, "--kube-version", c.kube)
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, out)
			}
			spec := only[*appsv1.Deployment](t, decodeAll(t, out)).Spec.Template.Spec
			sc := findSidecar(spec)
			if v := envValue(sc, "TRUSTLY_SIDECAR_SHUTDOWN_TIMEOUT"); v != "20s" {
				t.Errorf("SHUTDOWN_TIMEOUT %q, want 20s (shutdown.timeoutSeconds)", v)
			}
			var sleep int64
			if l := sc.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
				sleep = l.PreStop.Sleep.Seconds
			}
			if sleep != c.sleep {
				t.Errorf("preStop sleep %ds on Kubernetes %s, want %ds", sleep, c.kube, c.sleep)
			}
			if g := spec.TerminationGracePeriodSeconds; g == nil || *g < sleep+20+2 {
				t.Errorf("terminationGracePeriodSeconds %v does not cover the preStop sleep and SHUTDOWN_TIMEOUT", g)
			}
		})
	}
}

// TestExternalServicePublishesOnlyThePublicPort: a NodePort or LoadBalancer Service never
// carries the private listener (the shop API, /metrics); a ClusterIP Service of its own does.
func TestExternalServicePublishesOnlyThePublicPort(t *testing.T) {
	for _, typ := range []string{"LoadBalancer", "NodePort"} {
		t.Run(typ, func(t *testing.T) {
			out, err := helm(t, "template", "shop", chartDir, "-f", filepath.Join(chartDir, "ci/standalone-values.yaml"), "--set", "service.type="+typ)
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, out)
			}
			objs := decodeAll(t, out)
			checkObjects(t, objs)
			var api bool
			for _, o := range objs {
				if s, ok := o.(*corev1.Service); ok && s.Spec.Type == corev1.ServiceTypeClusterIP {
					for _, p := range s.Spec.Ports {
						api = api || p.TargetPort.String() == "trustly-private"
					}
				}
			}
			if !api {
				t.Error("no ClusterIP Service reaches the private listener (the shop API for a platform in the cluster)")
			}
		})
	}
}

// TestHADefaults: one replica can still be drained (the default PDB is maxUnavailable 1),
// and replicas spread over nodes and zones unless the values place them otherwise.
func TestHADefaults(t *testing.T) {
	render := func(t *testing.T, set ...string) []any {
		args := []string{"template", "shop", chartDir, "-f", filepath.Join(chartDir, "ci/standalone-values.yaml")}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		out, err := helm(t, args...)
		if err != nil {
			t.Fatalf("helm template: %v\n%s", err, out)
		}
		return decodeAll(t, out)
	}
	t.Run("one replica", func(t *testing.T) {
		objs := render(t, "replicaCount=1")
		pdb := only[*policyv1.PodDisruptionBudget](t, objs)
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() < 1 || pdb.Spec.MinAvailable != nil {
			t.Errorf("PDB %+v with one replica: want maxUnavailable 1, so a node drain can evict it", pdb.Spec)
		}
	})
	t.Run("spread by default", func(t *testing.T) {
		spec := only[*appsv1.Deployment](t, render(t)).Spec.Template.Spec
		keys := map[string]bool{}
		for _, c := range spec.TopologySpreadConstraints {
			if c.LabelSelector == nil || c.LabelSelector.MatchLabels["app.kubernetes.io/instance"] != "shop" {
				t.Errorf("spread over %s selects %v, not this release's pods", c.TopologyKey, c.LabelSelector)
			}
			if c.WhenUnsatisfiable != corev1.ScheduleAnyway {
				t.Errorf("spread over %s is %s: a small cluster could not schedule the replicas", c.TopologyKey, c.WhenUnsatisfiable)
			}
			keys[c.TopologyKey] = true
		}
		if !keys["kubernetes.io/hostname"] || !keys["topology.kubernetes.io/zone"] {
			t.Errorf("replicas are not spread over nodes and zones: %v", spec.TopologySpreadConstraints)
		}
	})
	t.Run("affinity replaces it", func(t *testing.T) {
		spec := only[*appsv1.Deployment](t, render(t, "affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey=kubernetes.io/hostname",
			"affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels.app=x")).Spec.Template.Spec
		if len(spec.TopologySpreadConstraints) != 0 || spec.Affinity == nil {
			t.Errorf("with affinity set the default spread stays: %v", spec.TopologySpreadConstraints)
		}
	})
}

// TestAdapterFromItsImage: an external adapter's image gives its executable to the pod
// through an init container that copies it into a shared emptyDir before the sidecar
// starts, and TRUSTLY_SIDECAR_ADAPTER names the copy.
func TestAdapterFromItsImage(t *testing.T) {
	set := []string{"adapterImage.repository=registry.example.com/trustly-adapter-woocommerce", "adapterImage.tag=1.0.0",
		"adapterImage.path=/usr/local/bin/trustly-adapter-woocommerce", "adapterEnv.WOOCOMMERCE_URL=https://shop.example",
		"extraVolumes[0].name=ca", "extraVolumes[0].configMap.name=shop-ca",
		"extraVolumeMounts[0].name=ca", "extraVolumeMounts[0].mountPath=/etc/shop-ca", "extraVolumeMounts[0].readOnly=true"}
	check := func(t *testing.T, spec corev1.PodSpec) {
		t.Helper()
		sc := findSidecar(spec)
		install, sidecarAt := -1, len(spec.InitContainers)
		for i, c := range spec.InitContainers {
			switch {
			case c.Name == sidecar:
				sidecarAt = i
			case strings.HasSuffix(c.Name, "-adapter"):
				install = i
			}
		}
		if install < 0 || install > sidecarAt {
			t.Fatalf("no adapter init container before the sidecar: %v", names(spec.InitContainers))
		}
		ic := spec.InitContainers[install]
		if ic.RestartPolicy != nil || len(ic.Ports) > 0 || ic.SecurityContext == nil || ic.SecurityContext.ReadOnlyRootFilesystem == nil || !*ic.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("adapter init container is not a restricted run-once container: %+v", ic)
		}
		adapter := envValue(sc, "TRUSTLY_SIDECAR_ADAPTER")
		if len(ic.Command) != 3 || ic.Command[0] != "cp" || ic.Command[1] != "/usr/local/bin/trustly-adapter-woocommerce" || ic.Command[2] != adapter {
			t.Errorf("init container runs %v, want cp of the image's adapter to %s (TRUSTLY_SIDECAR_ADAPTER)", ic.Command, adapter)
		}
		mountOf := func(c corev1.Container, path string) *corev1.VolumeMount {
			for i, m := range c.VolumeMounts {
				if strings.HasPrefix(path, m.MountPath+"/") {
					return &c.VolumeMounts[i]
				}
			}
			return nil
		}
		wm, rm := mountOf(ic, adapter), mountOf(*sc, adapter)
		if wm == nil || rm == nil || wm.Name != rm.Name || wm.ReadOnly || !rm.ReadOnly {
			t.Fatalf("the copy is not on one volume, writable by the init container and read-only in the sidecar: %+v %+v", wm, rm)
		}
		if v := volume(t, spec, wm.Name); v.EmptyDir == nil {
			t.Errorf("volume %s is not an emptyDir", v.Name)
		}
		if strings.Contains(envValue(sc, "TRUSTLY_SIDECAR_ADAPTER_ENV"), "WOOCOMMERCE_URL") == false {
			t.Error("the adapter's settings are not passed to it")
		}
		if mountOf(*sc, "/etc/shop-ca/x") == nil {
			t.Error("extraVolumeMounts are not on the sidecar")
		}
		volume(t, spec, "ca")
	}
	t.Run("standalone", func(t *testing.T) {
		args := []string{"template", "shop", chartDir, "-f", filepath.Join(chartDir, "ci/standalone-values.yaml")}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		out, err := helm(t, args...)
		if err != nil {
			t.Fatalf("helm template: %v\n%s", err, out)
		}
		objs := decodeAll(t, out)
		checkObjects(t, objs)
		check(t, only[*appsv1.Deployment](t, objs).Spec.Template.Spec)
	})
	t.Run("beside the shop", func(t *testing.T) {
		args := []string{"template", "shop", shopChart(t)}
		for _, s := range set {
			args = append(args, "--set", "trustly."+s)
		}
		out, err := helm(t, args...)
		if err != nil {
			t.Fatalf("helm template: %v\n%s", err, out)
		}
		objs := decodeAll(t, out)
		checkObjects(t, objs)
		check(t, only[*appsv1.Deployment](t, objs).Spec.Template.Spec)
	})
}
