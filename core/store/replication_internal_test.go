package store

import "testing"

func TestInfoFieldAndVersion(t *testing.T) {
	info := "# Replication\r\nrole:master\r\nconnected_slaves:3\r\n" +
		"slave0:ip=127.0.0.1,port=1,state=online,offset=10,lag=0\r\n" +
		"slave1:ip=127.0.0.1,port=2,state=wait_bgsave,offset=0,lag=0\r\n" +
		"slave2:ip=127.0.0.1,port=3,state=online,offset=9,lag=1\r\n" +
		"master_failover_state:no-failover\r\n"
	if n := onlineReplicas(info); n != 2 {
		t.Errorf("onlineReplicas = %d, want 2 (one is still copying)", n)
	}
	if v, ok := infoField(info, "connected_slaves"); !ok || v != "3" {
		t.Errorf("connected_slaves = %q %t", v, ok)
	}
	if _, ok := infoField(info, "slave"); ok {
		t.Error("a field matched a prefix of another")
	}
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"7.0.15", false}, {"7.2.0", true}, {"7.4.1", true}, {"8.0.0", true}, {"6.2.14", false}, {"", false}, {"x.y", false},
	} {
		if got := versionAtLeast(tc.v, 7, 2); got != tc.want {
			t.Errorf("versionAtLeast(%q, 7, 2) = %t", tc.v, got)
		}
	}
}
