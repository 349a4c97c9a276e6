package trustly

import "testing"

func benchTree(b *testing.B) any {
	m, err := ParseMessage(readTestdata(b, "trustly-test-credit-notification.json"))
	if err != nil {
		b.Fatal(err)
	}
	return m.Data()
}

func BenchmarkSerialize(b *testing.B) {
	data := benchTree(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Serialize(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	key := testMerchantKey(b)
	data := benchTree(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(key, "credit", "f1b77aac-516d-4b89-a125-c005f4c020f0", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v, _ := NewVerifier(Test)
	m, err := ParseMessage(readTestdata(b, "trustly-test-credit-notification.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Verify(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMessage(b *testing.B) {
	raw := readTestdata(b, "trustly-test-credit-notification.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := ParseMessage(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseVerifyNotification(b *testing.B) {
	v, _ := NewVerifier(Test)
	raw := readTestdata(b, "trustly-test-credit-notification.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseNotification(raw, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignedReply(b *testing.B) {
	key := testMerchantKey(b)
	v, _ := NewVerifier(Test)
	n, err := ParseNotification(readTestdata(b, "trustly-test-credit-notification.json"), v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewReply(key, n, ReplyOK); err != nil {
			b.Fatal(err)
		}
	}
}
