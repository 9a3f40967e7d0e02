import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// What an XML parser saw in a document: the root, how many of each element, and the text of each element.
/// Parsing at all is the well-formedness check: `parse` throws on the first error, with its line.
struct XMLSummary {
    var root = ""
    var counts: [String: Int] = [:]
    var texts: [String] = []

    func count(_ element: String) -> Int { counts[element, default: 0] }

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ text: String) throws -> XMLSummary {
        let parser = XMLParser(data: Data(text.utf8))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else {
            throw ParseError(description: "line \(parser.lineNumber), column \(parser.columnNumber): \(parser.parserError.map { "\($0)" } ?? "?")")
        }
        return collector.summary
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var summary = XMLSummary()
        private var open: [String] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if summary.root.isEmpty { summary.root = name }
            summary.counts[name, default: 0] += 1
            open.append("")
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !open.isEmpty { open[open.count - 1] += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let text = open.removeLast().trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { summary.texts.append(text) }
        }
    }
}
