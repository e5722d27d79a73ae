package types

// String returns the bech32 text form of a, e.g. "cairn1…": the BIP-173
// encoding of the 20 bytes under AddressHRP, with no allocation beyond
// the result. The generic encoder of btcutil/bech32 (which ParseAddress
// still uses to decode) allocated at every step and took a quarter of
// the RPC's chain_getBlock time with full txs (three addresses per tx);
// TestAddressString checks this one against it.
func (a Address) String() string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	const hrp = AddressHRP
	const dataLen = (AddressSize*8 + 4) / 5 // 32 five-bit groups
	var data [dataLen + 6]byte

	// 8-bit to 5-bit groups, padded with zero bits.
	acc, bits, n := uint32(0), uint(0), 0
	for _, v := range a {
		acc = acc<<8 | uint32(v)
		bits += 8
		for bits >= 5 {
			bits -= 5
			data[n] = byte(acc>>bits) & 31
			n++
		}
	}
	if bits > 0 {
		data[n] = byte(acc<<(5-bits)) & 31
		n++
	}

	// The checksum: polymod over the expanded hrp, the data and six zeros.
	chk := uint32(1)
	step := func(v byte) {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i, g := range [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3} {
			if (top>>i)&1 == 1 {
				chk ^= g
			}
		}
	}
	for i := 0; i < len(hrp); i++ {
		step(hrp[i] >> 5)
	}
	step(0)
	for i := 0; i < len(hrp); i++ {
		step(hrp[i] & 31)
	}
	for _, v := range data[:n] {
		step(v)
	}
	for range 6 {
		step(0)
	}
	chk ^= 1 // bech32 (BIP-173) constant
	for i := range 6 {
		data[n+i] = byte(chk>>(5*(5-i))) & 31
	}

	var out [len(hrp) + 1 + dataLen + 6]byte
	copy(out[:], hrp)
	out[len(hrp)] = '1'
	for i, v := range data[:n+6] {
		out[len(hrp)+1+i] = charset[v]
	}
	return string(out[:len(hrp)+1+n+6])
}
