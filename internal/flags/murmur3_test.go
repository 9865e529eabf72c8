package flags

import "testing"

// Known MurmurHash3_x86_32 vectors for seed 0 (from the reference implementation's
// published test values).
func TestMurmur3KnownVectors(t *testing.T) {
	cases := []struct {
		in   string
		want uint32
	}{
		{"", 0x00000000},
		{"\x00", 0x514e28b7},
		{"\x00\x00", 0x30f4c306},
		{"\x00\x00\x00", 0x85f0b427},
		{"\x00\x00\x00\x00", 0x2362f9de},
		{"a", 0x3c2569b2},
		{"ab", 0x9bbfd75f},
		{"abc", 0xb3dd93fa},
		{"abcd", 0x43ed676a},
		{"Hello, world!", 0xc0363e43},
		{"The quick brown fox jumps over the lazy dog", 0x2e4ff723},
	}
	for _, c := range cases {
		if got := murmur3String(c.in); got != c.want {
			t.Errorf("murmur3(%q) = %#08x, want %#08x", c.in, got, c.want)
		}
	}
}

// Streaming the parts must equal hashing the concatenation, for every split point.
func TestMurmur3StreamingEqualsConcatenation(t *testing.T) {
	s := "model-selectionpatient-000123-abcdefg"
	want := murmur3String(s)
	for i := 0; i <= len(s); i++ {
		for j := i; j <= len(s); j++ {
			var m murmur3
			m.writeString(s[:i])
			m.writeString(s[i:j])
			m.writeString(s[j:])
			if got := m.sum32(); got != want {
				t.Fatalf("split %d/%d: got %#08x want %#08x", i, j, got, want)
			}
		}
	}
}
