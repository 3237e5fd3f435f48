package anomaly

import "math"

// ranks answers what share of the last n distances were below a new one. It keeps a histogram
// of the distances on a log scale, eight bins an octave from 2^-12 to 2^20 (anything smaller is
// one bin), with a count per block of blockBins bins: a rank is exact to within a bin, and
// costs a sum over a few blocks and bins, where a sorted window would cost a search and a shift.
type ranks struct {
	bins   [rankBins]uint32
	blocks [(rankBins + blockBins - 1) / blockBins]uint32
	ring   []uint16 // the bins of the last n distances; once full, next is the oldest
	next   int
	count  int
}

const rankBins = 1 + 32*8

// blockBins is how many bins a block counts together, so that a count of the distances below a
// bin adds up blocks and then at most blockBins-1 bins.
const blockBins = 16

func newRanks(n int) *ranks { return &ranks{ring: make([]uint16, 0, n)} }

// rankBin is z's bin: from the float's exponent and the top three bits of its mantissa.
func rankBin(z float64) int {
	if !(z >= 0x1p-12) {
		return 0
	}
	bits := math.Float64bits(min(z, 0x1p20-1))
	octave := int(bits>>52) - 1023 + 12
	return 1 + octave*8 + int(bits>>49)&7
}

// rank is the share of remembered distances below z: those in lower bins, and half of those in
// z's own bin.
func (r *ranks) rank(z float64) float64 {
	if r.count == 0 {
		return 1
	}
	b := rankBin(z)
	var lower uint32
	for _, c := range r.blocks[:b/blockBins] {
		lower += c
	}
	for _, c := range r.bins[b/blockBins*blockBins : b] {
		lower += c
	}
	return (float64(lower) + float64(r.bins[b])/2) / float64(r.count)
}

// remember adds z, forgetting the oldest distance once n are held.
func (r *ranks) remember(z float64) {
	b := uint16(rankBin(z))
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, b)
		r.count++
	} else {
		r.add(int(r.ring[r.next]), ^uint32(0)) // minus one
		r.ring[r.next] = b
		if r.next++; r.next == len(r.ring) {
			r.next = 0
		}
	}
	r.add(int(b), 1)
}

func (r *ranks) add(bin int, delta uint32) {
	r.bins[bin] += delta
	r.blocks[bin/blockBins] += delta
}
