#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A new pseudo-terminal: the master descriptor, which a virtual device serves, and the path of
/// the slave, which a driver opens as if it were a serial port (`TermiosTransport(path:)`).
///
/// Made with `posix_openpt`, `grantpt`, `unlockpt` and `ptsname`; the master is non-blocking,
/// close-on-exec, and in raw mode, so bytes pass unchanged in both directions. The pair owns
/// nothing after creation: hand the master to `masterTransport()` (which then owns and closes it)
/// or close it with `closeMaster()`. Closing the master ends the pseudo-terminal: the slave's
/// reads then throw `.disconnected`. While no slave descriptor is open, the master reports a
/// hang-up, so open the slave before serving the master.
public struct PseudoTerminalPair: Sendable {
    /// The master side's file descriptor.
    public let masterFD: Int32
    /// The slave's device path, such as `/dev/pts/3`.
    public let slavePath: String

    /// Creates a pseudo-terminal pair.
    ///
    /// - Throws: `.openFailed` with errno and the failing call (for example when `/dev/ptmx` is
    ///   missing or the system is out of ptys).
    public static func open() throws(TransportError) -> PseudoTerminalPair {
        let context = TransportErrorContext(endpoint: "pty:new", operation: .open)
        let fd = PTYCalls.openpt(O_RDWR | O_NOCTTY)
        if fd < 0 {
            let e = POSIX.errno
            throw .openFailed(context, errno: e, reason: "posix_openpt: \(POSIX.message(e))")
        }
        func fail(_ call: String, _ e: Int32) -> TransportError {
            _ = closeDescriptor(fd)
            return .openFailed(context, errno: e, reason: "\(call): \(POSIX.message(e))")
        }
        if PTYCalls.grantpt(fd) != 0 { throw fail("grantpt", POSIX.errno) }
        if PTYCalls.unlockpt(fd) != 0 { throw fail("unlockpt", POSIX.errno) }
        var name = [CChar](repeating: 0, count: 128)
        #if os(Linux)
            if PTYCalls.ptsname_r(fd, &name, name.count) != 0 { throw fail("ptsname_r", POSIX.errno) }
        #else
            guard let p = ptsname(fd) else { throw fail("ptsname", POSIX.errno) }
            name = Array(UnsafeBufferPointer(start: p, count: strlen(p) + 1))
        #endif
        if let e = POSIX.makeNonBlocking(fd) { throw fail("fcntl", e) }
        if let failure = TermiosTransport.configureRaw(fd, speed: nil) { throw fail(failure.what, failure.errno) }
        let path = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return PseudoTerminalPair(masterFD: fd, slavePath: path)
    }

    /// A transport on the master side, which takes ownership of `masterFD`; its endpoint is
    /// `pty-master:` and the slave path.
    public func masterTransport() -> TermiosTransport {
        TermiosTransport(adopting: masterFD, endpoint: "pty-master:\(slavePath)")
    }

    /// Closes the master descriptor (only when no `masterTransport()` owns it).
    public func closeMaster() {
        _ = closeDescriptor(masterFD)
    }
}

/// The pseudo-terminal calls of the C library.
///
/// Glibc declares `posix_openpt`, `grantpt`, `unlockpt` and `ptsname_r` only under `_XOPEN_SOURCE`
/// or `_GNU_SOURCE`, which Swift's Glibc module does not define, so on Linux they are looked up by
/// name in the already loaded C library and called through C function pointers of their exact C
/// types. Darwin declares them and they are called directly.
enum PTYCalls {
    #if os(Linux)
        private typealias IntCall = @convention(c) (Int32) -> Int32
        private typealias NameCall = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32

        private static func symbol<F>(_ name: String, as type: F.Type) -> F? {
            guard let p = dlsym(nil, name) else { return nil }
            return unsafeBitCast(p, to: type)
        }

        static func openpt(_ flags: Int32) -> Int32 {
            guard let f = symbol("posix_openpt", as: IntCall.self) else { return missing() }
            return f(flags)
        }
        static func grantpt(_ fd: Int32) -> Int32 {
            guard let f = symbol("grantpt", as: IntCall.self) else { return missing() }
            return f(fd)
        }
        static func unlockpt(_ fd: Int32) -> Int32 {
            guard let f = symbol("unlockpt", as: IntCall.self) else { return missing() }
            return f(fd)
        }
        static func ptsname_r(_ fd: Int32, _ buffer: UnsafeMutablePointer<CChar>, _ count: Int) -> Int32 {
            guard let f = symbol("ptsname_r", as: NameCall.self) else { return missing() }
            let r = f(fd, buffer, count)
            if r != 0 { errno = r }
            return r
        }
        private static func missing() -> Int32 {
            errno = ENOSYS
            return -1
        }
    #else
        static func openpt(_ flags: Int32) -> Int32 { posix_openpt(flags) }
        static func grantpt(_ fd: Int32) -> Int32 { Darwin.grantpt(fd) }
        static func unlockpt(_ fd: Int32) -> Int32 { Darwin.unlockpt(fd) }
    #endif
}
