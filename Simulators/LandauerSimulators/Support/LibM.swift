// The few libm functions the physics needs, behind one import so no other file depends on the
// platform's C library name.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

/// Elementary functions used by the simulator (thin wrappers over the platform's libm).
@usableFromInline enum LibM {
    /// Natural logarithm.
    @inlinable @inline(__always) static func ln(_ x: Double) -> Double { log(x) }
    /// Base-10 logarithm.
    @inlinable @inline(__always) static func decimalLog(_ x: Double) -> Double { log(x) * 0.434_294_481_903_251_827_651 }
    /// e raised to `x`.
    @inlinable @inline(__always) static func exponential(_ x: Double) -> Double { exp(x) }
    /// `x` raised to `y`.
    @inlinable @inline(__always) static func power(_ x: Double, _ y: Double) -> Double { pow(x, y) }
}
