import CInflate
import Foundation

/// The bytes of a data file, decompressed when it is gzip (recognized by its magic bytes `1f 8b`, not by its
/// name), so that every text and IDX loader reads `.gz` files as they are distributed.
public enum FileContents {
    /// The file's bytes; a gzip file's decompressed content (all members, CRC and length checked by zlib).
    public static func read(_ url: URL) throws -> Data {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DataError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return isGzip(data) ? try gunzip(data, path: url.path) : data
    }

    /// The file as UTF-8 text (decompressed first when it is gzip).
    public static func text(_ url: URL) throws -> String {
        let data = try read(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.malformed(path: url.path, line: 0, column: nil, reason: "not UTF-8 text")
        }
        return text
    }

    static func isGzip(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b }

    /// Inflates gzip data; a truncated or corrupt stream is an error naming `path`.
    static func gunzip(_ data: Data, path: String) throws -> Data {
        func fail(_ reason: String) -> DataError { .malformed(path: path, line: 0, column: nil, reason: "gzip: \(reason)") }
        var stream = z_stream()
        // 15 + 16: a gzip wrapper (header and CRC-32 trailer) around a 32 KiB-window deflate stream.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < input.count {
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset)
                stream.avail_in = UInt32(input.count - offset)
                var status: Int32 = Z_OK
                repeat {
                    let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                        stream.next_out = out.baseAddress
                        stream.avail_out = UInt32(out.count)
                        status = inflate(&stream, Z_NO_FLUSH)
                        return out.count - Int(stream.avail_out)
                    }
                    output.append(contentsOf: chunk[..<produced])
                    if status == Z_BUF_ERROR && stream.avail_in == 0 { throw fail("the file is truncated") }
                    guard status == Z_OK || status == Z_STREAM_END else {
                        throw fail(stream.msg.map { String(cString: $0) } ?? "corrupt data (zlib status \(status))")
                    }
                } while status != Z_STREAM_END
                offset = input.count - Int(stream.avail_in)
                // Concatenated members (as `cat a.gz b.gz` makes) are one file; trailing zeros are padding.
                if offset < input.count {
                    if input[offset...].allSatisfy({ $0 == 0 }) { break }
                    guard inflateReset(&stream) == Z_OK else { throw fail("zlib could not restart") }
                }
            }
        }
        return output
    }
}
