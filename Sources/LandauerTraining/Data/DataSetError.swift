/// Why a data set could not be read. Every case names the file, and the message says what is wrong
/// in words a person can act on.
public enum DataSetError: Error, Equatable, CustomStringConvertible {
    /// The file is missing or could not be read.
    case unreadableFile(path: String, reason: String)
    /// The file is not a valid gzip (or zlib) stream: a wrong header, corrupt or truncated data.
    case badGzip(path: String, reason: String)
    /// A line of a CSV file is malformed; `line` counts from 1.
    case badCSVLine(path: String, line: Int, reason: String)
    /// An IDX file (the MNIST format) has a wrong magic number, wrong dimensions, too few or too many
    /// bytes, an out-of-range label, or a count that disagrees with its companion file.
    case badIDX(path: String, reason: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .unreadableFile(let path, _), .badGzip(let path, _), .badCSVLine(let path, _, _), .badIDX(let path, _):
            path
        }
    }

    /// What is wrong, without the file name.
    public var reason: String {
        switch self {
        case .unreadableFile(_, let reason), .badGzip(_, let reason), .badCSVLine(_, _, let reason),
            .badIDX(_, let reason):
            reason
        }
    }

    /// The whole message: the file, then what is wrong.
    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason): "cannot read \(path): \(reason)"
        case .badGzip(let path, let reason): "\(path) is not valid gzip data: \(reason)"
        case .badCSVLine(let path, let line, let reason): "\(path), line \(line): \(reason)"
        case .badIDX(let path, let reason): "\(path) is not a valid IDX file: \(reason)"
        }
    }
}
