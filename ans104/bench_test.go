package ans104

import (
	"bytes"
	"testing"
)

// A typical AO message: ~1 KiB of data and the usual tags. Each benchmark runs on one goroutine,
// so items/s = 1e9 / (ns/op) is the rate of one core.
func benchItem(b *testing.B, s Signer) *DataItem {
	d := NewItem(bytes.Repeat([]byte("x"), 1024), bytes.Repeat([]byte{7}, 32), []byte("00000000000000000000000000000042"),
		[]Tag{{"Data-Protocol", "ao"}, {"Type", "Message"}, {"Variant", "ao.TN.1"}, {"Action", "Eval"}, {"SDK", "aoconnect"}})
	if err := d.Sign(s); err != nil {
		b.Fatal(err)
	}
	return d
}

func benchVerify(b *testing.B, s Signer) {
	raw := benchItem(b, s).Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ParseAndVerify(raw, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

func benchSign(b *testing.B, s Signer) {
	d := benchItem(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Sign(s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

func BenchmarkVerifyRSA4096(b *testing.B) { benchVerify(b, testRSASigner(b)) }
func BenchmarkVerifyEd25519(b *testing.B) {
	s, _ := GenerateEd25519Signer()
	benchVerify(b, s)
}
func BenchmarkSignEd25519(b *testing.B) {
	s, _ := GenerateEd25519Signer()
	benchSign(b, s)
}
func BenchmarkSignRSA4096(b *testing.B) { benchSign(b, testRSASigner(b)) }

func BenchmarkParse(b *testing.B) {
	s, _ := GenerateEd25519Signer()
	raw := benchItem(b, s).Bytes()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(raw, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
