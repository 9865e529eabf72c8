package flags

import "math/bits"

// murmur3 is a streaming MurmurHash3 x86 32-bit hasher with seed 0, the hash flagd's
// fractional operator uses. It is streaming so that "flagKey + targetingKey" can be hashed
// without concatenating (and allocating) the two strings: feeding the parts one after
// another gives the same result as hashing their concatenation.
type murmur3 struct {
	h1    uint32
	tail  uint32 // up to 3 pending bytes, little-endian
	ntail uint32 // number of pending bytes in tail
	total uint32 // total length in bytes
}

const (
	murmurC1 = 0xcc9e2d51
	murmurC2 = 0x1b873593
)

func murmurMixK(k uint32) uint32 {
	k *= murmurC1
	k = bits.RotateLeft32(k, 15)
	return k * murmurC2
}

func (m *murmur3) block(k uint32) {
	m.h1 ^= murmurMixK(k)
	m.h1 = bits.RotateLeft32(m.h1, 13)
	m.h1 = m.h1*5 + 0xe6546b64
}

// writeString feeds s into the hash.
func (m *murmur3) writeString(s string) {
	m.total += uint32(len(s))
	i := 0
	// Complete a pending partial block first.
	for m.ntail > 0 && m.ntail < 4 && i < len(s) {
		m.tail |= uint32(s[i]) << (8 * m.ntail)
		m.ntail++
		i++
	}
	if m.ntail == 4 {
		m.block(m.tail)
		m.tail, m.ntail = 0, 0
	}
	for ; i+4 <= len(s); i += 4 {
		m.block(uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24)
	}
	for ; i < len(s); i++ {
		m.tail |= uint32(s[i]) << (8 * m.ntail)
		m.ntail++
	}
}

// sum32 returns the hash of everything written so far; the hasher is not modified.
func (m murmur3) sum32() uint32 {
	h := m.h1
	if m.ntail > 0 {
		h ^= murmurMixK(m.tail)
	}
	h ^= m.total
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// murmur3String hashes one string with seed 0.
func murmur3String(s string) uint32 {
	var m murmur3
	m.writeString(s)
	return m.sum32()
}
