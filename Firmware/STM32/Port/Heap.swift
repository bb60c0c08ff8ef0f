// The firmware's memory allocator: Embedded Swift allocates class instances and array storage
// through posix_memalign and free (Startup/runtime.c forwards them here), and nothing else of a
// C library is linked.
//
// A first-fit allocator over the SRAM between .bss and the stack (linker symbols __heap_start and
// __heap_end). Every block starts with an 8-byte header:
//
//   +0  u32  size of the block in bytes, header included, a multiple of 8
//   +4  u32  tag: Heap.allocatedTag or Heap.freeTag
//   +8  …    payload; a free block keeps the address of the next free block here
//
// Free blocks form one list in address order, so a freed block merges with free neighbours on
// both sides and the heap does not crumble under the engine's pattern of frame-sized buffers.
// Allocation and release run in the main loop only: interrupt handlers never allocate.

@_extern(c, "landauer_heap_start") func linkerHeapStart() -> UInt
@_extern(c, "landauer_heap_end") func linkerHeapEnd() -> UInt

enum Heap {
    static let headerSize: UInt = 8
    /// Smallest block: a header and room for the free-list link.
    static let minimumBlock: UInt = 16
    static let allocatedTag: UInt32 = 0xA110_C8ED
    static let freeTag: UInt32 = 0xF7EE_B10C

    /// First free block (lowest address), 0 when none.
    nonisolated(unsafe) static var firstFree: UInt = 0
    /// Payload bytes handed out and not yet freed (headers and padding included).
    nonisolated(unsafe) static var bytesInUse: UInt = 0
    /// The most `bytesInUse` has been.
    nonisolated(unsafe) static var peakBytesInUse: UInt = 0
    /// Requests that could not be met.
    nonisolated(unsafe) static var failures: UInt32 = 0

    /// Makes the whole region one free block. Call once, before the first allocation.
    static func initialize(start: UInt = linkerHeapStart(), end: UInt = linkerHeapEnd()) {
        let first = roundUp(start, 8)
        let size = (end &- first) & ~7
        setSize(first, size)
        setTag(first, freeTag)
        setNext(first, 0)
        firstFree = first
    }

    @inline(__always) static func roundUp(_ value: UInt, _ alignment: UInt) -> UInt {
        (value &+ alignment &- 1) & ~(alignment &- 1)
    }

    @inline(__always) private static func word(_ address: UInt) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutablePointer<UInt32>(bitPattern: address)!
    }
    @inline(__always) static func size(_ block: UInt) -> UInt { UInt(word(block).pointee) }
    @inline(__always) static func setSize(_ block: UInt, _ size: UInt) { word(block).pointee = UInt32(truncatingIfNeeded: size) }
    @inline(__always) static func tag(_ block: UInt) -> UInt32 { word(block &+ 4).pointee }
    @inline(__always) static func setTag(_ block: UInt, _ tag: UInt32) { word(block &+ 4).pointee = tag }
    @inline(__always) static func next(_ block: UInt) -> UInt { UInt(word(block &+ 8).pointee) }
    @inline(__always) static func setNext(_ block: UInt, _ next: UInt) { word(block &+ 8).pointee = UInt32(truncatingIfNeeded: next) }

    /// A payload of `count` bytes aligned to `alignment` (a power of two), or nil.
    static func allocate(count: UInt, alignment: UInt) -> UInt? {
        let align = alignment < 8 ? 8 : alignment
        guard count <= 0x0100_0000 else {
            failures &+= 1
            return nil
        }
        var need = roundUp(count == 0 ? 1 : count, 8) &+ headerSize
        if need < minimumBlock { need = minimumBlock }
        var previous: UInt = 0
        var block = firstFree
        while block != 0 {
            let blockSize = size(block)
            let following = next(block)
            var payload = roundUp(block &+ headerSize, align)
            var pad = payload &- headerSize &- block
            if pad != 0 && pad < minimumBlock {
                payload &+= align  // align ≥ 16 here, so the gap becomes a block of its own
                pad &+= align
            }
            if pad &+ need <= blockSize {
                // A gap in front stays a free block at the same place in the list.
                let start = block &+ pad
                var linkFrom = previous
                if pad != 0 {
                    setSize(block, pad)
                    linkFrom = block
                }
                var taken = need
                var successor = following
                let rest = blockSize &- pad &- need
                if rest >= minimumBlock {
                    let remainder = start &+ need
                    setSize(remainder, rest)
                    setTag(remainder, freeTag)
                    setNext(remainder, following)
                    successor = remainder
                } else {
                    taken = blockSize &- pad
                }
                if linkFrom == 0 { firstFree = successor } else { setNext(linkFrom, successor) }
                setSize(start, taken)
                setTag(start, allocatedTag)
                bytesInUse &+= taken
                if bytesInUse > peakBytesInUse { peakBytesInUse = bytesInUse }
                return start &+ headerSize
            }
            previous = block
            block = following
        }
        failures &+= 1
        return nil
    }

    /// Returns a payload from `allocate` to the free list, merging it with free neighbours.
    static func release(_ payload: UInt) {
        let block = payload &- headerSize
        // A pointer this allocator did not hand out, or a second free: stop here rather than
        // corrupt the list (a trap ends in the HardFault handler).
        guard tag(block) == allocatedTag else { fatalError() }
        setTag(block, freeTag)
        bytesInUse &-= size(block)
        var previous: UInt = 0
        var following = firstFree
        while following != 0 && following < block {
            previous = following
            following = next(following)
        }
        setNext(block, following)
        if previous == 0 { firstFree = block } else { setNext(previous, block) }
        if following != 0 && block &+ size(block) == following {
            setSize(block, size(block) &+ size(following))
            setNext(block, next(following))
        }
        if previous != 0 && previous &+ size(previous) == block {
            setSize(previous, size(previous) &+ size(block))
            setNext(previous, next(block))
        }
    }
}

/// Allocation entry for the C library names in Startup/runtime.c (posix_memalign, malloc): a
/// payload of `count` bytes aligned to `alignment` (a power of two), or nil.
@_cdecl("landauer_heap_allocate")
func heapAllocate(_ count: UInt, _ alignment: UInt) -> UnsafeMutableRawPointer? {
    Heap.allocate(count: count, alignment: alignment).flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
}

/// Release entry for `free` in Startup/runtime.c.
@_cdecl("landauer_heap_release")
func heapRelease(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    Heap.release(UInt(bitPattern: pointer))
}
