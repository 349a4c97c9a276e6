package store

import "testing"

func TestInfoFieldAndVersion(t *testing.T) {
	info := "# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=1,state=online\r\n"
	if v, ok := infoField(info, "connected_slaves"); !ok || v != "2" {
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
