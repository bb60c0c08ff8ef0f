import _Volatile

/// One 32-bit memory-mapped peripheral register. Every access is a volatile load or store of the
/// full word, in program order, so polling loops see the hardware's changes.
struct Register: Sendable {
    /// The register's bus address.
    let address: UInt

    @inline(__always) init(_ address: UInt) { self.address = address }

    @inline(__always) private var cell: VolatileMappedRegister<UInt32> {
        VolatileMappedRegister<UInt32>(unsafeBitPattern: address)
    }

    /// Reads the register.
    @inline(__always) func read() -> UInt32 { cell.load() }

    /// Writes the register.
    @inline(__always) func write(_ value: UInt32) { cell.store(value) }

    /// Read-modify-write: clears the bits of `clear`, then sets those of `set`.
    @inline(__always) func modify(clear: UInt32 = 0, set: UInt32 = 0) {
        cell.store((cell.load() & ~clear) | set)
    }

    /// Sets the bits of `mask` (read-modify-write).
    @inline(__always) func setBits(_ mask: UInt32) { modify(set: mask) }

    /// Clears the bits of `mask` (read-modify-write).
    @inline(__always) func clearBits(_ mask: UInt32) { modify(clear: mask) }

    /// True when every bit of `mask` is set.
    @inline(__always) func isSet(_ mask: UInt32) -> Bool { read() & mask == mask }

    /// Writes a field of `width` bits at bit `shift`.
    @inline(__always) func setField(shift: UInt32, width: UInt32, to value: UInt32) {
        let mask: UInt32 = ((1 << width) &- 1) << shift
        modify(clear: mask, set: (value << shift) & mask)
    }

    /// Polls until every bit of `mask` reads as `set` (true) or clear (false), at most `attempts`
    /// reads. Returns whether the condition was met, so a peripheral that never answers (absent
    /// silicon, an emulator without the block) cannot hang the firmware.
    @inline(__always) func wait(for mask: UInt32, set: Bool = true, attempts: UInt32) -> Bool {
        var left = attempts
        while left > 0 {
            if (read() & mask == mask) == set { return true }
            left &-= 1
        }
        return false
    }
}

/// A peripheral block: registers at offsets from its base address.
struct Peripheral: Sendable {
    /// Base address of the block.
    let base: UInt

    @inline(__always) init(_ base: UInt) { self.base = base }

    /// The register at `offset` bytes from the base.
    @inline(__always) subscript(_ offset: UInt) -> Register { Register(base &+ offset) }
}
